"""The change stream (``GET …/changes``, text/event-stream): a parser for the SSE wire format
(https://html.spec.whatwg.org/multipage/server-sent-events.html#event-stream-interpretation) and a
connection that can be shut down from another thread (close() must end a blocking read)."""

from __future__ import annotations

import http.client
import socket
import threading
import urllib.parse
from collections.abc import Iterable, Iterator
from dataclasses import dataclass


@dataclass(frozen=True)
class SseEvent:
    event: str
    data: str
    id: str | None


class SseParser:
    """Feeds lines, yields events; keeps the last id and the server's retry hint."""

    def __init__(self) -> None:
        self.last_id: str | None = None
        self.retry_ms: int | None = None
        self._event = ""
        self._data: list[str] = []

    def feed(self, line: str) -> SseEvent | None:
        line = line.rstrip("\r\n")
        if line == "":
            if not self._data and not self._event:
                return None
            event = SseEvent(self._event or "message", "\n".join(self._data), self.last_id)
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None  # a comment: the keep-alive
        name, _, value = line.partition(":")
        if value.startswith(" "):
            value = value[1:]
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self.last_id = value
        elif name == "retry" and value.isdigit():
            self.retry_ms = int(value)
        return None

    def events(self, lines: Iterable[str]) -> Iterator[SseEvent]:
        for line in lines:
            event = self.feed(line)
            if event is not None:
                yield event


class StreamNotFound(Exception):
    """The server has no change stream (404): the client falls back to polling."""


class StreamConnection:
    """One GET of the stream; ``shutdown()`` from any thread ends ``lines()``."""

    def __init__(self, url: str, headers: dict[str, str], timeout: float) -> None:
        parts = urllib.parse.urlsplit(url)
        cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        self._conn = cls(parts.hostname or "127.0.0.1", parts.port, timeout=timeout)
        self._path = parts.path + (f"?{parts.query}" if parts.query else "")
        self._headers = headers
        self._lock = threading.Lock()
        self._closed = False

    def open(self) -> http.client.HTTPResponse:
        self._conn.request("GET", self._path, headers=self._headers)
        response = self._conn.getresponse()
        if response.status == 404:
            response.read()
            raise StreamNotFound()
        if response.status != 200:
            body = response.read(500).decode(errors="replace")
            raise OSError(f"change stream answered {response.status}: {body.strip()[:200]}")
        return response

    def lines(self, response: http.client.HTTPResponse) -> Iterator[str]:
        while True:
            try:
                raw = response.readline()
            except (AttributeError, ValueError):
                # http.client trips over its own closed file when shutdown() races a read.
                if self._closed:
                    return
                raise
            if not raw:
                return
            yield raw.decode("utf-8", errors="replace")

    def shutdown(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._closed = True
            sock = self._conn.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self._conn.close()
