"""What the client tests share: the stack they run against (STRATA_URL, STRATA_TOKEN: an admin
token), a namespace of their own with the seed's manifest, and a TCP proxy that can cut the
client off from the API without touching the API itself."""

from __future__ import annotations

import json
import os
import pathlib
import secrets
import socket
import sys
import threading
import time
import urllib.error
import urllib.request
from typing import Any

HERE = pathlib.Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "src"))
sys.path.insert(0, str(HERE))

URL = os.environ.get("STRATA_URL", "")
TOKEN = os.environ.get("STRATA_TOKEN", "")
MANIFEST = json.loads((HERE / "seed_manifest.json").read_text())


def require_stack() -> None:
    if not URL or not TOKEN:
        raise RuntimeError(
            "these tests run against a running Strata stack: set STRATA_URL and STRATA_TOKEN (an admin "
            "token), e.g. STRATA_URL=http://127.0.0.1:8080 STRATA_TOKEN=dev-admin-token after `npm start`"
        )


def api(method: str, path: str, body: Any = None, token: str | None = None, headers: dict[str, str] | None = None) -> Any:
    data = None if body is None else json.dumps(body).encode()
    h = {"authorization": f"Bearer {token or TOKEN}", **(headers or {})}
    if data is not None:
        h["content-type"] = "application/json"
    req = urllib.request.Request(URL + path, data=data, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            text = response.read().decode()
            return json.loads(text) if text else None
    except urllib.error.HTTPError as error:
        raise AssertionError(f"{method} {path} → {error.code}: {error.read().decode()[:500]}") from None


def new_namespace() -> str:
    ns = f"py-{secrets.token_hex(5)}"
    position = api("PUT", f"/v1/namespaces/{ns}/manifest", MANIFEST)["position"]
    # The views carry the manifest from then on: a client's first read sees its defaults.
    for env in ("prod", "staging"):
        api("GET", f"/v1/namespaces/{ns}/envs/{env}/config?minPosition={position}")
    return ns


def stream_missing_banner(what: str) -> str:
    line = "!" * 100
    return (
        f"\n{line}\n!!! SKIPPED {what}: GET …/changes answered 404 — this server has no change stream yet.\n"
        f"!!! The client fell back to polling; run again once the change stream has landed.\n{line}\n"
    )


def wait_until(predicate: Any, timeout: float, what: str) -> float:
    start = time.monotonic()
    while True:
        if predicate():
            return time.monotonic() - start
        if time.monotonic() - start > timeout:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.002)


class Proxy:
    """Forwards 127.0.0.1:<port> to the API; ``cut()`` drops every connection and refuses new
    ones until ``restore()`` — an API outage as a client sees it."""

    def __init__(self, target: str) -> None:
        host_port = target.split("://", 1)[1].split("/", 1)[0]
        host, _, port = host_port.partition(":")
        self.target = (host, int(port or 80))
        self._listener = socket.socket()
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._up = True
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._listener.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            if not self._up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets.update((client, upstream))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def cut(self) -> None:
        self._up = False
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for s in sockets:
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def restore(self) -> None:
        self._up = True

    def close(self) -> None:
        self.cut()
        self._listener.close()
