"""StrataClient: resolved config, flag evaluations and secrets for a service, from an
in-process cache that the change stream keeps current.

How it stays current: one background thread follows ``GET …/changes`` (SSE; every change names
its kind, key, tenant and log position, never a value). Another refetches what a change touched
— the tenant's resolved config and its OFREP bulk evaluation — with ``?minPosition=<position>``,
so the answer reflects that change, and swaps it into the cache. The stream resumes with
``Last-Event-ID`` after a disconnect (the server replays what was missed) and answers ``resync``
when it cannot, which reloads everything. A server without the stream (404) is polled instead.

While the API cannot be reached, reads keep answering from the cache and say so: ``stale`` is
true, ``stale_reason`` says why, and flag details carry reason ``STALE``.
"""

from __future__ import annotations

import http.client
import json
import queue
import random
import threading
import time
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

from ._http import Http, SecretNotFound, StrataError, StrataUnavailable
from ._sse import SseParser, StreamConnection, StreamNotFound

V = TypeVar("V")

_MISSING: Any = object()


@dataclass(frozen=True)
class FlagDetails(Generic[V]):
    """An evaluation, OpenFeature-style: never raised, always a value (the default on error)."""

    flag_key: str
    value: V
    variant: str | None = None
    #: TARGETING_MATCH (override), SPLIT (rollout), DISABLED, DEFAULT, STATIC, STALE or ERROR.
    reason: str = "UNKNOWN"
    error_code: str | None = None
    error_message: str | None = None
    #: True when the answer comes from a cache the client could not refresh.
    stale: bool = False
    flag_metadata: dict[str, Any] = field(default_factory=lambda: dict[str, Any]())


@dataclass(frozen=True)
class ValueDetails:
    key: str
    value: Any
    #: "tenant", "environment" or "default"; None when the key is unknown.
    source: str | None
    position: int
    stale: bool


@dataclass(frozen=True)
class Change:
    """What a listener hears after the cache took a change in."""

    kind: str  # "config" | "flag" | "secret"
    key: str
    tenant: str | None
    previous: Any
    value: Any
    position: int
    #: From the log recording the change to this cache holding it, when the stream said when.
    latency_ms: float | None


@dataclass
class _Scope:
    """One tenant's cache (or the environment's, tenant None)."""

    values: dict[str, dict[str, Any]] = field(default_factory=lambda: dict[str, dict[str, Any]]())
    #: attributes key ("" for none) → flag key → OFREP evaluation
    flags: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: dict[str, dict[str, dict[str, Any]]]())
    #: secret name → (plaintext, still current?)
    secrets: dict[str, tuple[str, bool]] = field(default_factory=lambda: dict[str, tuple[str, bool]]())
    position: int = 0


class StrataClient:
    """A thread-safe client for one namespace and environment of a Strata API."""

    def __init__(
        self,
        url: str,
        token: str,
        namespace: str,
        environment: str,
        *,
        timeout: float = 5.0,
        stream: bool = True,
        poll_interval: float = 1.0,
    ) -> None:
        self.namespace = namespace
        self.environment = environment
        self._http = Http(url, token, timeout)
        self._base = (
            f"/v1/namespaces/{urllib.parse.quote(namespace, safe='')}/envs/{urllib.parse.quote(environment, safe='')}"
        )
        self._lock = threading.RLock()
        self._scopes: dict[str | None, _Scope] = {}
        self._loading: dict[str | None, threading.Lock] = {}
        self._listeners: list[Callable[[Change], None]] = []
        self._closed = threading.Event()
        #: (scope, position, recorded at, refetch flags too?); None stops the refresher.
        self._work: queue.Queue[tuple[str | None, int, float | None, bool] | None] = queue.Queue()
        self._head = 0
        self._last_event_id: str | None = None
        self._stream: StreamConnection | None = None
        self._poll_interval = poll_interval
        self._stale_reason: str | None = None
        #: False once the server answered the change stream with 404 (then the client polls).
        self.stream_available: bool | None = None
        self._connected = threading.Event()
        #: True while the change stream is connected: only then is a successful refresh "fresh".
        self._live = False
        self._recorded: dict[str | None, float] = {}
        self._threads = [threading.Thread(target=self._refresh_loop, name="strata-refresh", daemon=True)]
        if stream:
            self._threads.append(threading.Thread(target=self._stream_loop, name="strata-stream", daemon=True))
        else:
            self.stream_available = False
            self._threads.append(threading.Thread(target=self._poll_loop, name="strata-poll", daemon=True))
        for thread in self._threads:
            thread.start()

    # --- public reads ------------------------------------------------------------------------

    @property
    def stale(self) -> bool:
        """True while the cache may be behind the store (stream down, refresh failing)."""
        return self._stale_reason is not None

    @property
    def stale_reason(self) -> str | None:
        return self._stale_reason

    def wait_connected(self, timeout: float = 5.0) -> bool:
        """Blocks until the change stream is live (or known to be missing); True if it is live."""
        self._connected.wait(timeout)
        return self._connected.is_set() and self.stream_available is True

    def get(self, key: str, tenant: str | None = None, default: Any = None) -> Any:
        """The resolved value of ``key`` (tenant → environment → manifest default)."""
        details = self.get_details(key, tenant=tenant)
        return default if details.source is None else details.value

    def get_details(self, key: str, tenant: str | None = None) -> ValueDetails:
        scope = self._scope(tenant)
        entry = scope.values.get(key) if scope else None
        if entry is None:
            return ValueDetails(key, None, None, scope.position if scope else 0, self.stale)
        return ValueDetails(key, entry.get("value"), entry.get("source"), int(entry.get("position", 0)), self.stale)

    def values(self, tenant: str | None = None) -> dict[str, Any]:
        """Every resolved value of the tenant, as one dict."""
        scope = self._scope(tenant)
        return {k: v.get("value") for k, v in (scope.values if scope else {}).items()}

    def is_enabled(self, flag: str, tenant: str, **attributes: Any) -> bool:
        return bool(self.get_boolean(flag, False, tenant=tenant, **attributes).value)

    def get_boolean(self, flag: str, default: bool, *, tenant: str, **attributes: Any) -> FlagDetails[bool]:
        return self._evaluate(flag, default, (bool,), tenant, attributes)

    def get_string(self, flag: str, default: str, *, tenant: str, **attributes: Any) -> FlagDetails[str]:
        return self._evaluate(flag, default, (str,), tenant, attributes)

    def get_number(
        self, flag: str, default: int | float, *, tenant: str, **attributes: Any
    ) -> FlagDetails[int | float]:
        return self._evaluate(flag, default, (int, float), tenant, attributes)

    def get_object(self, flag: str, default: Any, *, tenant: str, **attributes: Any) -> FlagDetails[Any]:
        return self._evaluate(flag, default, (dict, list), tenant, attributes)

    def secret(self, name: str, tenant: str | None = None) -> str:
        """A secret's plaintext (the tenant's own, else the environment's); needs secret-read.

        Cached after the first read; a change to it is fetched on the next read. While the API is
        unreachable the last value read is returned. Raises SecretNotFound, or StrataError."""
        scope = self._scope(tenant)
        cached = scope.secrets.get(name) if scope else None
        if cached is not None and cached[1]:
            return cached[0]
        path = self._path(tenant) + f"/secrets/{urllib.parse.quote(name, safe='')}"
        try:
            answer = self._http.request("GET", path)
        except StrataUnavailable:
            if cached is not None:
                return cached[0]
            raise
        except StrataError as error:
            if error.status == 404:
                raise SecretNotFound(f"no secret {name} for {tenant or 'the environment'}", 404, error.code) from None
            raise
        value = str(answer["value"])
        with self._lock:
            target = self._scopes.get(tenant)
            if target is not None:
                target.secrets[name] = (value, True)
        return value

    def on_change(self, listener: Callable[[Change], None]) -> Callable[[], None]:
        """Calls ``listener`` (on the refresh thread) for every value or flag the cache takes in."""
        with self._lock:
            self._listeners.append(listener)

        def remove() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return remove

    def close(self) -> None:
        """Stops the background threads; reads keep answering from the cache."""
        self._closed.set()
        self._work.put(None)
        stream = self._stream
        if stream is not None:
            stream.shutdown()
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(timeout=5)

    def __enter__(self) -> StrataClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- cache -------------------------------------------------------------------------------

    def _path(self, tenant: str | None) -> str:
        return self._base if tenant is None else f"{self._base}/tenants/{urllib.parse.quote(tenant, safe='')}"

    def _scope(self, tenant: str | None, attributes_key: str | None = None) -> _Scope | None:
        """The tenant's cache, loaded on first use; None when it never could be loaded."""
        with self._lock:
            scope = self._scopes.get(tenant)
            if scope is not None and (attributes_key is None or attributes_key in scope.flags):
                return scope
            gate = self._loading.setdefault(tenant, threading.Lock())
        with gate:
            with self._lock:
                scope = self._scopes.get(tenant)
                if scope is not None and (attributes_key is None or attributes_key in scope.flags):
                    return scope
            try:
                self._load(tenant, self._head, extra_attributes=attributes_key)
            except StrataError as error:
                self._mark_stale(f"cannot load {tenant or 'the environment'}: {error}")
                with self._lock:
                    return self._scopes.get(tenant)
            with self._lock:
                return self._scopes.get(tenant)

    def _load(
        self, tenant: str | None, min_position: int, extra_attributes: str | None = None, flags_too: bool = True
    ) -> None:
        """Fetches the scope at ``min_position`` or later and swaps it in; listeners hear the diff.

        The answer must reflect every change the stream announced so far (``_head``): a change
        that arrives while a fetch is under way would otherwise be lost, so fetch again — up to
        five times; then keep the answer (it is correct up to its position) and queue a refresh."""
        attempts = 5
        for attempt in range(attempts):
            with self._lock:
                old = self._scopes.get(tenant)
                wanted: set[str] = set(old.flags) if old else set()
                min_position = max(min_position, self._head)
            if tenant is not None:
                wanted.add("")
            if extra_attributes is not None:
                wanted.add(extra_attributes)
            query = {"minPosition": min_position} if min_position > 0 else None
            resolved = self._http.request("GET", self._path(tenant) + "/config", query=query)
            if flags_too or old is None:
                flags = {a: self._fetch_flags(str(tenant), a, min_position) for a in wanted}
            else:  # a config value changed: evaluations did not
                flags = old.flags
            # A 200 to `minPosition=n` reflects every event up to n, even when the scope's own last
            # change (the answer's position) is older: the server answers at once for a scope that
            # had nothing newer. Only a change announced while this fetch ran means fetching again.
            position = max(_int(resolved.get("position")), min_position)
            with self._lock:
                behind = min_position < self._head
                if behind and attempt < attempts - 1:
                    continue
                current = self._scopes.get(tenant)
                if current is not None and current.position > position:
                    return  # a concurrent load already stored a newer answer
                scope = _Scope(
                    values=dict(resolved.get("values", {})),
                    flags=flags,
                    secrets=dict(current.secrets) if current else {},
                    position=position,
                )
                self._scopes[tenant] = scope
            if old is not None:
                self._notify(tenant, old, scope)
            if behind:
                self._work.put((tenant, self._head, None, True))
            return

    def _fetch_flags(self, tenant: str, attributes_key: str, min_position: int) -> dict[str, dict[str, Any]]:
        context: dict[str, Any] = json.loads(attributes_key) if attributes_key else {}
        context.update({"targetingKey": tenant, "namespace": self.namespace, "environment": self.environment})
        headers = {"x-strata-min-position": str(min_position)} if min_position > 0 else None
        answer = self._http.request("POST", "/ofrep/v1/evaluate/flags", body={"context": context}, headers=headers)
        entries: list[Any] = (answer or {}).get("flags", [])
        flags: dict[str, dict[str, Any]] = {}
        for entry in entries:
            if isinstance(entry, dict) and isinstance(entry.get("key"), str):  # pyright: ignore[reportUnknownMemberType]
                typed = cast(dict[str, Any], entry)
                flags[typed["key"]] = typed
        return flags

    def _evaluate(
        self, flag: str, default: Any, types: tuple[type, ...], tenant: str, attributes: dict[str, Any]
    ) -> FlagDetails[Any]:
        try:
            attributes_key = json.dumps(attributes, sort_keys=True, default=str) if attributes else ""
            scope = self._scope(tenant, attributes_key)
        except Exception as error:  # flag reads never raise (OpenFeature)
            return FlagDetails(flag, default, reason="ERROR", error_code="GENERAL", error_message=str(error))
        stale = self.stale
        if scope is None or attributes_key not in scope.flags:
            return FlagDetails(
                flag,
                default,
                reason="ERROR",
                error_code="PROVIDER_NOT_READY",
                error_message=self._stale_reason or "the tenant could not be loaded",
                stale=stale,
            )
        entry = scope.flags[attributes_key].get(flag)
        if entry is None:
            return FlagDetails(flag, default, reason="ERROR", error_code="FLAG_NOT_FOUND",
                               error_message=f"flag {flag} is not declared", stale=stale)
        if "errorCode" in entry:
            return FlagDetails(flag, default, reason="ERROR", error_code=str(entry["errorCode"]),
                               error_message=entry.get("errorDetails"), stale=stale)
        value = entry.get("value")
        if not isinstance(value, types) or (bool not in types and isinstance(value, bool)):
            return FlagDetails(flag, default, reason="ERROR", error_code="TYPE_MISMATCH",
                               error_message=f"flag {flag} is {type(value).__name__}", stale=stale)
        metadata = dict(entry.get("metadata") or {})
        reason = str(entry.get("reason", "UNKNOWN"))
        if stale:
            metadata["reason"] = reason
            reason = "STALE"
        return FlagDetails(flag, value, variant=entry.get("variant"), reason=reason, stale=stale,
                           flag_metadata=metadata)

    def _notify(self, tenant: str | None, old: _Scope, new: _Scope) -> None:
        with self._lock:
            listeners = list(self._listeners)
        if not listeners:
            return
        changes: list[Change] = []
        latency = self._latency_of(tenant)
        for key in sorted(set(old.values) | set(new.values)):
            before = old.values.get(key, {}).get("value", _MISSING)
            after = new.values.get(key, {}).get("value", _MISSING)
            if before != after or type(before) is not type(after):
                changes.append(Change("config", key, tenant, None if before is _MISSING else before,
                                      None if after is _MISSING else after, new.position, latency))
        old_flags, new_flags = old.flags.get("", {}), new.flags.get("", {})
        for key in sorted(set(old_flags) | set(new_flags)):
            before = old_flags.get(key, {}).get("value")
            after = new_flags.get(key, {}).get("value")
            if before != after:
                changes.append(Change("flag", key, tenant, before, after, new.position, latency))
        for change in changes:
            for listener in listeners:
                try:
                    listener(change)
                except Exception:  # a listener's bug must not stop the cache
                    pass

    # --- background ------------------------------------------------------------------------

    def _mark_stale(self, reason: str) -> None:
        self._stale_reason = reason

    def _mark_fresh(self) -> None:
        self._stale_reason = None

    def _latency_of(self, tenant: str | None) -> float | None:
        recorded = self._recorded.pop(tenant, None)
        return None if recorded is None else max(0.0, (time.time() - recorded) * 1000)

    def _announce(self, tenant: str | None, position: int, recorded_at: float | None, flags_too: bool) -> None:
        """A change for ``tenant`` (None: every scope) at ``position``: queue refetches."""
        with self._lock:
            self._head = max(self._head, position)
            targets = list(self._scopes) if tenant is None else [t for t in (tenant,) if t in self._scopes]
        for t in targets:
            self._work.put((t, position, recorded_at, flags_too))

    def _refresh_loop(self) -> None:
        while not self._closed.is_set():
            item = self._work.get()
            if item is None:
                return
            batch: dict[str | None, tuple[int, float | None, bool]] = {item[0]: item[1:]}
            while True:  # coalesce what queued up meanwhile: one fetch per scope
                try:
                    more = self._work.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    return
                position, recorded, flags_too = batch.get(more[0], (0, None, False))
                batch[more[0]] = (
                    max(position, more[1]),
                    recorded if recorded is not None else more[2],
                    flags_too or more[3],
                )
            for tenant, (position, recorded, flags_too) in batch.items():
                if recorded is not None:
                    self._recorded[tenant] = recorded
                try:
                    self._load(tenant, position, flags_too=flags_too)
                    if self._live:
                        self._mark_fresh()
                except StrataError as error:
                    self._mark_stale(f"cannot refresh {tenant or 'the environment'}: {error}")
                    # Retried once the stream reconnects (which reloads everything).

    def _reload_all(self) -> None:
        with self._lock:
            scopes = list(self._scopes)
        for t in scopes:
            self._work.put((t, self._head, None, True))

    def _stream_loop(self) -> None:
        backoff = 0.2
        path = self._base + "/changes"
        while not self._closed.is_set():
            headers = self._http.headers({"accept": "text/event-stream", "cache-control": "no-cache"})
            if self._last_event_id is not None:
                headers["last-event-id"] = self._last_event_id
            # Longer than the server's 15 s keep-alive: a silent connection is a dead one.
            connection = StreamConnection(self._http.url(path), headers, timeout=45.0)
            self._stream = connection
            try:
                response = connection.open()
                self.stream_available = True
                if self._last_event_id is None:
                    # Nothing to replay from: anything before now may have been missed.
                    self._reload_all()
                self._live = True
                self._connected.set()
                self._mark_fresh()
                backoff = 0.2
                parser = SseParser()
                for event in parser.events(connection.lines(response)):
                    if event.event == "change":
                        self._on_change_event(event.data)
                        if event.id is not None:
                            self._last_event_id = event.id
                    elif event.event == "ready":
                        # Where a live stream starts: a reconnect resumes from here, replaying.
                        position = _int(_json(event.data).get("position"))
                        self._last_event_id = event.id or str(position)
                        with self._lock:
                            self._head = max(self._head, position)
                    elif event.event == "resync":
                        head = _int(_json(event.data).get("position"))
                        self._last_event_id = str(head)
                        with self._lock:
                            self._head = max(self._head, head)
                        self._reload_all()
                if not self._closed.is_set():
                    self._mark_stale("the change stream closed; reconnecting")
            except StreamNotFound:
                self.stream_available = False
                self._connected.set()
                self._poll_loop()
                return
            except (OSError, ValueError, http.client.HTTPException) as error:
                if not self._closed.is_set():
                    self._mark_stale(f"change stream: {error or type(error).__name__}; reconnecting")
            finally:
                self._live = False
                connection.shutdown()
            if self._closed.wait(backoff * (0.5 + random.random())):
                return
            backoff = min(backoff * 2, 5.0)

    def _on_change_event(self, data: str) -> None:
        change = _json(data)
        position = _int(change.get("position"))
        kind = change.get("kind")
        tenant = change.get("tenant")
        recorded = _parse_time(change.get("recordedAt"))
        if kind in ("secret", "tenant-key"):
            name = change.get("name")
            with self._lock:
                for t in list(self._scopes) if tenant is None else [tenant]:
                    scope = self._scopes.get(t)
                    if scope is None:
                        continue
                    for secret in list(scope.secrets):
                        if kind == "tenant-key" or secret == name:
                            scope.secrets[secret] = (scope.secrets[secret][0], False)
                self._head = max(self._head, position)
            return
        self._announce(tenant if kind in ("config", "flag") else None, position, recorded, kind != "config")

    def _poll_loop(self) -> None:
        """Without a change stream: reload every cached scope each ``poll_interval``."""
        while not self._closed.wait(self._poll_interval):
            with self._lock:
                scopes = list(self._scopes)
            failed = None
            for tenant in scopes:
                try:
                    self._load(tenant, 0)
                except StrataError as error:
                    failed = f"cannot poll {tenant or 'the environment'}: {error}"
            if failed:
                self._mark_stale(failed)
            else:
                self._mark_fresh()


def _json(data: str) -> dict[str, Any]:
    try:
        value: Any = json.loads(data)
    except ValueError:
        return {}
    return cast(dict[str, Any], value) if isinstance(value, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _parse_time(value: Any) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None
