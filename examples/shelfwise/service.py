"""A ShelfWise app instance written in Python, the language the seed's ShelfWise runs: it reads
through strata_client (packages/client-python, standard library only) and prints each change the
moment its in-process cache takes it in — beside the Node service, which reads the same store.

    STRATA_URL=http://127.0.0.1:8080 STRATA_TOKEN=dev-admin-token python3 examples/shelfwise/service.py
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
import signal
import sys
import threading

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "packages/client-python/src"))

from strata_client import Change, StrataClient  # noqa: E402


def tenant_id(i: int) -> str:
    """The demo's tenant ids (examples/shelfwise/shelfwise.ts uuidOf), computed the same way."""
    h = hashlib.sha256(f"shelfwise-tenant-{i}".encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-8{h[17:20]}-{h[20:32]}"


NAMES = {tenant_id(0): "A", tenant_id(1): "B", tenant_id(2): "beta", tenant_id(3): "restricted"}


def say(line: str) -> None:
    print(f"python: {line}", flush=True)


def main() -> None:
    client = StrataClient(
        url=os.environ.get("STRATA_URL", "http://127.0.0.1:8080"),
        token=os.environ.get("STRATA_TOKEN", "dev-admin-token"),
        namespace="shelfwise",
        environment="prod",
    )
    stop = threading.Event()

    def heard(change: Change) -> None:
        who = f"tenant {NAMES.get(change.tenant or '', (change.tenant or '')[:8])}"
        latency = "" if change.latency_ms is None else f" — visible here {change.latency_ms:.1f} ms after commit"
        what = f"flag {change.key}" if change.kind == "flag" else change.key
        say(f"hot reload: {what} for {who}: {json.dumps(change.previous)} → {json.dumps(change.value)} "
            f"(position {change.position}){latency}")

    client.on_change(heard)
    for tenant in NAMES:
        client.get("rate_limit.requests_per_minute", tenant=tenant)
        client.is_enabled("ai_recommendations", tenant=tenant)
    live = client.wait_connected(5)
    say(
        f"ShelfWise service up (Python): tenant A may send {client.get('rate_limit.requests_per_minute', tenant=tenant_id(0))}/min, "
        f"AI recommendations for the beta tenant: {'on' if client.is_enabled('ai_recommendations', tenant=tenant_id(2)) else 'off'}"
        f" — {'following the change stream' if live else 'polling (the server has no change stream)'}"
    )

    def finish(*_: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, finish)
    signal.signal(signal.SIGINT, finish)
    was_stale = False
    while not stop.wait(1.0):
        if client.stale != was_stale:
            was_stale = client.stale
            say(f"serving the last known config: {client.stale_reason}" if was_stale else "caught up again")
    client.close()
    say("ShelfWise service (Python) stopping")


if __name__ == "__main__":
    main()
