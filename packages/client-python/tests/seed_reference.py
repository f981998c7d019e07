"""The seed's own logic (shared/seeds/000), run in Python to say what ShelfWise answered before
it moved to Strata. Tests compare Strata's answers with these, so this file copies the seed's
functions as closely as a synchronous, database-free version allows: ``_coerce``,
``_hash_into_bucket``, ``is_enabled`` with its override and rollout lookups, ``get_tenant_config``
with its tenant → settings fallback, and Fernet secrets through ``cryptography``. The settings
layer emulates pydantic-settings (defaults, a ``.env`` file, ``__`` nesting, case-insensitive)
with the standard library, because the machines have no PyPI.

Also a command line for the Node specs, JSON on stdin and stdout:
  python3 seed_reference.py dataset   {"tenants": n, "seed": s}  → a legacy table, Fernet tokens
  python3 seed_reference.py answers   {"fernet_key", "rows", "env_file", "tenants"} → expected answers
  python3 seed_reference.py coerce    [{"value", "type"}]  → what _coerce answers (or the error)
  python3 seed_reference.py fernet    {"key", "plaintexts"}  → tokens made by cryptography
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
import uuid
from typing import Any, TypeVar

from cryptography.fernet import Fernet

T = TypeVar("T", str, int, float, bool)

GLOBAL_TENANT = uuid.UUID(int=0)

# The seed's pydantic models, as (field path → default); the types come from the defaults.
DEFAULTS: dict[str, Any] = {
    "app_name": "ShelfWise",
    "debug": False,
    "database.pool_size": 20,
    "database.max_overflow": 30,
    "database.pool_timeout": 30,
    "database.echo": False,
    "rate_limit.requests_per_minute": 100,
    "rate_limit.burst_size": 20,
    "ai.model_name": "gpt-4o-mini",
    "ai.max_tokens": 2048,
    "ai.temperature": 0.7,
    "ai.enabled": False,
}
TYPES = {key: type(value) for key, value in DEFAULTS.items()}
FLAGS = ["ai_recommendations", "bulk_import_v2", "advanced_analytics", "publisher_portal"]


# --- src/core/config_resolver.py -------------------------------------------------------------


def _coerce(value: str, target_type: type[T]) -> T:
    """Coerce a string value to the target type."""
    if target_type is bool:
        return target_type(value.lower() in ("true", "1", "yes"))
    return target_type(value)


class Settings:
    """Dot-path view of the settings: `getattr` walks like the seed's `_resolve_default`."""

    def __init__(self, values: dict[str, Any], prefix: str = "") -> None:
        self._values = values
        self._prefix = prefix

    def __getattr__(self, part: str) -> Any:
        path = f"{self._prefix}{part}"
        if path in self._values:
            return self._values[path]
        if any(k.startswith(f"{path}.") for k in self._values):
            return Settings(self._values, f"{path}.")
        raise AttributeError(part)


_PYDANTIC_TRUE = {"1", "on", "t", "true", "y", "yes"}
_PYDANTIC_FALSE = {"0", "off", "f", "false", "n", "no"}


def parse_env_file(text: str) -> dict[str, str]:
    """The subset of python-dotenv a ShelfWise .env uses: KEY=value, comments, optional quotes."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        name, value = line.split("=", 1)
        name = name.strip().removeprefix("export ").strip()
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
            value = value[1:-1]
        elif " #" in value:
            value = value.split(" #", 1)[0].rstrip()
        out[name] = value
    return out


def load_settings(env_file: str | None) -> Settings:
    """AppSettings(): defaults, then the .env file (`__` nests, case-insensitive)."""
    values = dict(DEFAULTS)
    for name, raw in parse_env_file(env_file or "").items():
        path = name.lower().replace("__", ".")
        if path not in TYPES:
            continue  # pydantic-settings ignores variables no field asks for
        kind = TYPES[path]
        if kind is bool:
            word = raw.strip().lower()
            if word not in _PYDANTIC_TRUE | _PYDANTIC_FALSE:
                raise ValueError(f"{name}: not a boolean")
            values[path] = word in _PYDANTIC_TRUE
        else:
            values[path] = kind(raw)
    return Settings(values)


class LegacyStore:
    """The tenant_configs table, looked up the way get_tenant_config's layer 2 does."""

    def __init__(self, rows: list[dict[str, str]], settings: Settings, fernet_key: str) -> None:
        self.rows = {(uuid.UUID(r["tenant_id"]), r["key"]): r["value"] for r in rows}
        self.settings = settings
        self.fernet = Fernet(fernet_key.encode())

    def get_tenant_config(self, tenant_id: uuid.UUID, key: str, target_type: type[T]) -> T:
        row = self.rows.get((tenant_id, key))
        if row is not None:
            return _coerce(row, target_type)
        return self._resolve_default(key, target_type)

    def _resolve_default(self, key: str, target_type: type[T]) -> T:
        obj: Any = self.settings
        for part in key.split("."):
            obj = getattr(obj, part)
        return target_type(obj)

    # --- src/core/feature_flags.py ---------------------------------------------------------

    def is_enabled(self, flag: str, tenant_id: uuid.UUID) -> bool:
        override = self._get_flag_override(flag, tenant_id)
        if override is not None:
            return override
        rollout_pct = self._get_rollout_percentage(flag)
        if rollout_pct <= 0:
            return False
        if rollout_pct >= 100:
            return True
        return _hash_into_bucket(tenant_id, flag) < rollout_pct

    def _get_flag_override(self, flag: str, tenant_id: uuid.UUID) -> bool | None:
        try:
            value = self.get_tenant_config(tenant_id, f"feature.{flag}.override", str)
            if value == "enabled":
                return True
            if value == "disabled":
                return False
        except (AttributeError, KeyError):
            pass
        return None

    def _get_rollout_percentage(self, flag: str) -> int:
        try:
            return self.get_tenant_config(GLOBAL_TENANT, f"feature.{flag}.rollout_pct", int)
        except (AttributeError, KeyError):
            return 0

    # --- src/services/integration_service.py -----------------------------------------------

    def get_tenant_api_key(self, tenant_id: uuid.UUID, service_name: str) -> str:
        encrypted = self.rows.get((tenant_id, f"secret.{service_name}.api_key"))
        if encrypted is None:
            raise ValueError(f"No API key configured for {service_name}")
        return self.fernet.decrypt(encrypted.encode()).decode()


def _hash_into_bucket(tenant_id: uuid.UUID, flag: str) -> int:
    raw = f"{tenant_id}:{flag}".encode()
    digest = hashlib.sha256(raw).hexdigest()
    return int(digest[:8], 16) % 100


# --- test data, built the way the seed's admin services write it ------------------------------

ENV_FILE = "# ShelfWise prod\nRATE_LIMIT__BURST_SIZE=40\nAI__MODEL_NAME='gpt-4o'\nDEBUG=true\nAI__MAX_TOKENS=4096\n"


def dataset(tenants: int, seed: int) -> dict[str, Any]:
    """A legacy table: string values, Fernet tokens from cryptography, rollouts on tenant 0."""
    rng = random.Random(seed)
    key = Fernet.generate_key().decode()
    fernet = Fernet(key.encode())
    ids = [uuid.UUID(int=rng.getrandbits(128), version=4) for _ in range(tenants)]
    rows: list[dict[str, str]] = []

    def row(tenant: uuid.UUID, k: str, v: str) -> None:
        rows.append({"tenant_id": str(tenant), "key": k, "value": v})

    row(GLOBAL_TENANT, "feature.ai_recommendations.rollout_pct", "25")
    row(GLOBAL_TENANT, "feature.bulk_import_v2.rollout_pct", "-5")
    row(GLOBAL_TENANT, "feature.advanced_analytics.rollout_pct", "150")
    # publisher_portal: no row, so 0 (the seed's AttributeError fallback)
    bools = ["true", "True", "1", "yes", "YES", "no", "false", "0", "on", "enabled"]
    for i, t in enumerate(ids):
        if rng.random() < 0.6:
            row(t, "rate_limit.requests_per_minute", rng.choice([str(rng.randint(1, 10_000)), " 1_000 ", "+250"]))
        if rng.random() < 0.3:
            row(t, "rate_limit.burst_size", str(rng.randint(1, 500)))
        if rng.random() < 0.4:
            row(t, "ai.enabled", rng.choice(bools))
        if rng.random() < 0.3:
            row(t, "ai.temperature", rng.choice(["0.5", "1", "1e-1", " 2.0", ".25"]))
        if rng.random() < 0.2:
            row(t, "ai.model_name", rng.choice(["gpt-4o", "claude", " spaced "]))
        if rng.random() < 0.15:
            row(t, "feature.ai_recommendations.override", rng.choice(["enabled", "disabled"]))
        if rng.random() < 0.1:
            row(t, "feature.publisher_portal.override", "enabled")
        if rng.random() < 0.3 or i == 0:
            plaintext = f"erp-{rng.getrandbits(64):016x}-ünïcode"
            row(t, "secret.erp.api_key", fernet.encrypt(plaintext.encode()).decode())
    return {"fernet_key": key, "tenants": [str(t) for t in ids], "rows": rows, "env_file": ENV_FILE}


def answers(data: dict[str, Any]) -> dict[str, Any]:
    """For every tenant: each key as its manifest type, each flag, the ERP key (or null)."""
    store = LegacyStore(data["rows"], load_settings(data.get("env_file")), data["fernet_key"])
    out: dict[str, Any] = {"values": {}, "flags": {}, "secrets": {}}
    for text in data["tenants"]:
        t = uuid.UUID(text)
        out["values"][text] = {k: store.get_tenant_config(t, k, TYPES[k]) for k in DEFAULTS}
        out["flags"][text] = {f: store.is_enabled(f, t) for f in FLAGS}
        try:
            out["secrets"][text] = {"erp": store.get_tenant_api_key(t, "erp")}
        except ValueError:
            out["secrets"][text] = {"erp": None}
    return out


def coerce_all(items: list[dict[str, str]]) -> list[dict[str, Any]]:
    kinds = {"integer": int, "number": float, "boolean": bool, "string": str}
    out: list[dict[str, Any]] = []
    for item in items:
        try:
            value = _coerce(item["value"], kinds[item["type"]])
            if isinstance(value, float) and not math.isfinite(value):
                out.append({"ok": True, "finite": False})
            else:
                out.append({"ok": True, "value": value})
        except ValueError:
            out.append({"ok": False})
    return out


def main() -> None:
    command = sys.argv[1]
    data = json.load(sys.stdin)
    if command == "dataset":
        result: Any = dataset(int(data["tenants"]), int(data["seed"]))
    elif command == "answers":
        result = answers(data)
    elif command == "coerce":
        result = coerce_all(data)
    elif command == "fernet":
        fernet = Fernet(data["key"].encode())
        result = [fernet.encrypt(p.encode()).decode() for p in data["plaintexts"]]
    else:
        raise SystemExit(f"unknown command {command}")
    # inf/nan from float() are not JSON: say so instead of writing Infinity.
    json.dump(result, sys.stdout, allow_nan=False)


if __name__ == "__main__":
    main()
