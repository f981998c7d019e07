"""The seed's functions (shared/seeds/000) over Strata, so a ShelfWise service switches by
changing one import::

    from strata_client.compat import configure, get_tenant_config, is_enabled, get_tenant_api_key

    configure(url=..., token=..., namespace="shelfwise", environment="prod")   # at startup
    limit = await get_tenant_config(tenant_id, "rate_limit.requests_per_minute", int)
    if await is_enabled(FeatureFlag.AI_RECOMMENDATIONS, tenant_id): ...
    api_key = await get_tenant_api_key(tenant_id, "erp")

Same signatures (coroutines, like the seed's) and the same answers: values coerced to
``target_type``, an unknown key raises AttributeError as the seed's ``_resolve_default`` does, a
flag nobody rolled out is off, a missing API key raises ``ValueError("No API key configured for
…")``. Reads come from the client's in-process cache; only a tenant's first read goes to the API,
in a worker thread so the event loop keeps running.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any, TypeVar

from ._http import SecretNotFound
from .client import StrataClient

T = TypeVar("T", str, int, float, bool)

_client: StrataClient | None = None
_lock = threading.Lock()


def configure(*, url: str, token: str, namespace: str, environment: str, **options: Any) -> StrataClient:
    """Creates the process-wide client (closing a previous one) and returns it."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = StrataClient(url=url, token=token, namespace=namespace, environment=environment, **options)
        return _client


def client() -> StrataClient:
    if _client is None:
        raise RuntimeError("Strata is not configured. Call strata_client.compat.configure() at startup.")
    return _client


def _coerce(value: Any, target_type: type[T]) -> T:
    """The seed's ``_coerce`` for strings; typed values convert as ``target_type(value)`` does."""
    if isinstance(value, str):
        if target_type is bool:
            return target_type(value.lower() in ("true", "1", "yes"))
        return target_type(value)
    return target_type(value)


async def _details(tenant: str, key: str) -> Any:
    c = client()
    # A tenant's first read loads it from the API: do that off the event loop.
    return await asyncio.to_thread(c.get_details, key, tenant)


async def get_tenant_config(tenant_id: Any, key: str, target_type: type[T], session: Any = None) -> T:
    """Resolve a config value through the hierarchy (tenant → environment → default)."""
    details = await _details(str(tenant_id), key)
    if details.source is None:
        raise AttributeError(key.split(".")[0])
    return _coerce(details.value, target_type)


async def is_enabled(flag: Any, tenant_id: Any) -> bool:
    """Check if a feature flag is enabled for a specific tenant (override, then rollout bucket)."""
    key = str(getattr(flag, "value", flag))
    c = client()
    return await asyncio.to_thread(c.is_enabled, key, str(tenant_id))


async def get_tenant_api_key(tenant_id: Any, service_name: str) -> str:
    """Retrieve a tenant's API key (the seed's ``secret.<service>.api_key``, now a Strata secret)."""
    c = client()
    try:
        return await asyncio.to_thread(c.secret, f"{service_name}.api_key", str(tenant_id))
    except SecretNotFound:
        raise ValueError(f"No API key configured for {service_name}") from None
