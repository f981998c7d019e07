"""strata_client.compat answers what the seed's functions answer: the same legacy rows, once in
the seed's own logic (seed_reference.py) and once moved into Strata, asked the same questions
through the seed's signatures."""

from __future__ import annotations

import asyncio
import enum
import unittest
import uuid

from cryptography.fernet import Fernet
from support import TOKEN, URL, api, new_namespace, require_stack

import seed_reference as seed
from strata_client import compat


def setUpModule() -> None:
    require_stack()


class FeatureFlag(enum.StrEnum):
    """The seed's enum: compat takes it as the seed's is_enabled does."""

    AI_RECOMMENDATIONS = "ai_recommendations"
    BULK_IMPORT_V2 = "bulk_import_v2"
    ADVANCED_ANALYTICS = "advanced_analytics"
    PUBLISHER_PORTAL = "publisher_portal"


def changes_of(data: dict) -> list[dict]:
    """The rows as Strata changes, the way an operator who moved them by hand would write them."""
    fernet = Fernet(data["fernet_key"].encode())
    out: list[dict] = []
    settings = seed.parse_env_file(data["env_file"])
    for name, raw in settings.items():
        key = name.lower().replace("__", ".")
        value = seed.load_settings(f"{name}={raw}\n")
        obj = value
        for part in key.split("."):
            obj = getattr(obj, part)
        out.append({"kind": "value", "tenant": None, "key": key, "value": obj})
    for row in data["rows"]:
        tenant, key, value = row["tenant_id"], row["key"], row["value"]
        if key.endswith(".rollout_pct"):
            flag = key.split(".")[1]
            out.append({"kind": "rollout", "flag": flag, "rollout": min(100, max(0, int(value))), "enabled": True})
        elif key.endswith(".override"):
            out.append({"kind": "override", "tenant": tenant, "flag": key.split(".")[1], "override": value})
        elif key.startswith("secret."):
            plaintext = fernet.decrypt(value.encode()).decode()
            out.append({"kind": "secret", "tenant": tenant, "name": key.removeprefix("secret."), "value": plaintext})
        else:
            out.append({"kind": "value", "tenant": tenant, "key": key, "value": seed._coerce(value, seed.TYPES[key])})
    return out


class CompatTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        cls.data = seed.dataset(tenants=25, seed=99)
        cls.expected = seed.answers(cls.data)
        cls.ns = new_namespace()
        written = api(
            "POST",
            f"/v1/namespaces/{cls.ns}/envs/prod/import",
            {"changes": changes_of(cls.data), "reason": "test: legacy rows"},
        )
        # Read-your-writes for the first reads of every tenant.
        api("GET", f"/v1/namespaces/{cls.ns}/envs/prod/config?minPosition={written['position']}")
        cls.client = compat.configure(url=URL, token=TOKEN, namespace=cls.ns, environment="prod")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.client.close()

    def test_get_tenant_config_answers_like_the_seed(self) -> None:
        async def ask() -> dict:
            out: dict = {}
            for text in self.data["tenants"]:
                tenant = uuid.UUID(text)
                out[text] = {k: await compat.get_tenant_config(tenant, k, seed.TYPES[k]) for k in seed.DEFAULTS}
            return out

        got = asyncio.run(ask())
        self.assertEqual(got, self.expected["values"])
        for tenant, values in got.items():
            for key, value in values.items():
                self.assertIs(type(value), seed.TYPES[key], (tenant, key))

    def test_is_enabled_answers_like_the_seed(self) -> None:
        async def ask() -> dict:
            return {
                text: {flag.value: await compat.is_enabled(flag, uuid.UUID(text)) for flag in FeatureFlag}
                for text in self.data["tenants"]
            }

        self.assertEqual(asyncio.run(ask()), self.expected["flags"])

    def test_get_tenant_api_key_answers_like_the_seed(self) -> None:
        async def ask() -> dict:
            out: dict = {}
            for text in self.data["tenants"]:
                try:
                    out[text] = {"erp": await compat.get_tenant_api_key(uuid.UUID(text), "erp")}
                except ValueError as error:
                    self.assertEqual(str(error), "No API key configured for erp")
                    out[text] = {"erp": None}
            return out

        self.assertEqual(asyncio.run(ask()), self.expected["secrets"])

    def test_unknown_keys_raise_like_the_seed(self) -> None:
        tenant = uuid.UUID(self.data["tenants"][0])
        with self.assertRaises(AttributeError):
            asyncio.run(compat.get_tenant_config(tenant, "no_such.key", int))
        self.assertFalse(asyncio.run(compat.is_enabled("not_declared", tenant)))


if __name__ == "__main__":
    unittest.main()
