"""StrataClient against the running stack: layers, typed flag details, secrets, hot reload
through the change stream, Last-Event-ID resume, staleness during an outage, threads."""

from __future__ import annotations

import statistics
import sys
import threading
import time
import unittest
import uuid

from support import Proxy, api, new_namespace, require_stack, stream_missing_banner, wait_until, URL, TOKEN

from strata_client import SecretNotFound, StrataClient


def setUpModule() -> None:
    require_stack()


class ClientTest(unittest.TestCase):
    ns: str
    scope: str

    @classmethod
    def setUpClass(cls) -> None:
        cls.ns = new_namespace()
        cls.scope = f"/v1/namespaces/{cls.ns}/envs/prod"

    def setUp(self) -> None:
        self.proxy = Proxy(URL)
        self.client = StrataClient(url=self.proxy.url, token=TOKEN, namespace=self.ns, environment="prod")
        self.stream = self.client.wait_connected(10)

    def tearDown(self) -> None:
        self.client.close()
        self.proxy.close()

    def put(self, path: str, body: object) -> int:
        return int(api("PUT", self.scope + path, body)["position"])

    def need_stream(self, what: str) -> None:
        if not self.stream:
            sys.stderr.write(stream_missing_banner(what))
            self.skipTest("the server has no change stream (404)")

    def tenant(self) -> str:
        return str(uuid.uuid4())

    def test_resolves_tenant_then_environment_then_default(self) -> None:
        t = self.tenant()
        self.put("/config/rate_limit.burst_size", {"value": 40})
        position = self.put(f"/tenants/{t}/config/rate_limit.requests_per_minute", {"value": 1000})
        api("GET", f"{self.scope}/tenants/{t}/config?minPosition={position}")
        self.assertEqual(self.client.get("rate_limit.requests_per_minute", tenant=t), 1000)
        self.assertEqual(self.client.get_details("rate_limit.burst_size", tenant=t).source, "environment")
        self.assertEqual(self.client.get("rate_limit.burst_size", tenant=t), 40)
        self.assertEqual(self.client.get_details("ai.model_name", tenant=t).source, "default")
        self.assertEqual(self.client.get("ai.temperature", tenant=t), 0.7)
        self.assertIsNone(self.client.get("no.such_key", tenant=t))
        self.assertEqual(self.client.get("no.such_key", tenant=t, default=5), 5)
        self.assertEqual(self.client.get("rate_limit.burst_size"), 40)  # the environment itself

    def test_a_write_elsewhere_does_not_hide_this_environment(self) -> None:
        # The log's head moves past prod's last change (a write to staging). A client that joins
        # now starts its stream at that head; the tenants it loads reflect it although their own
        # last change is older, so they must answer, not keep refetching and give up.
        t = self.tenant()
        self.put(f"/tenants/{t}/config/rate_limit.burst_size", {"value": 33})
        api("PUT", f"/v1/namespaces/{self.ns}/envs/staging/config/rate_limit.burst_size", {"value": 7})
        joined = StrataClient(url=URL, token=TOKEN, namespace=self.ns, environment="prod")
        try:
            joined.wait_connected(10)
            self.assertEqual(joined.get("rate_limit.burst_size", tenant=t), 33, joined.stale_reason)
            self.assertFalse(joined.stale, joined.stale_reason)
        finally:
            joined.close()

    def test_typed_flag_details_never_raise(self) -> None:
        forced, other = self.tenant(), self.tenant()
        self.put("/flags/advanced_analytics", {"rollout": 100, "enabled": True})
        position = self.put(f"/tenants/{forced}/flags/advanced_analytics", {"override": "disabled"})
        api("GET", f"{self.scope}/tenants/{forced}/config?minPosition={position}")
        on = self.client.get_boolean("advanced_analytics", False, tenant=other)
        self.assertEqual((on.value, on.reason, on.error_code, on.stale), (True, "SPLIT", None, False))
        off = self.client.get_boolean("advanced_analytics", True, tenant=forced)
        self.assertEqual((off.value, off.reason), (False, "TARGETING_MATCH"))
        self.assertTrue(self.client.is_enabled("advanced_analytics", tenant=other))
        self.assertFalse(self.client.is_enabled("publisher_portal", tenant=other))
        missing = self.client.get_boolean("no_such_flag", True, tenant=other)
        self.assertEqual((missing.value, missing.reason, missing.error_code), (True, "ERROR", "FLAG_NOT_FOUND"))
        mismatch = self.client.get_string("advanced_analytics", "dflt", tenant=other)
        self.assertEqual((mismatch.value, mismatch.error_code), ("dflt", "TYPE_MISMATCH"))
        number = self.client.get_number("advanced_analytics", 3, tenant=other)
        self.assertEqual((number.value, number.error_code), (3, "TYPE_MISMATCH"))
        obj = self.client.get_object("advanced_analytics", {"a": 1}, tenant=other)
        self.assertEqual(obj.value, {"a": 1})
        with_attributes = self.client.get_boolean("advanced_analytics", False, tenant=other, plan="gold", seats=3)
        self.assertTrue(with_attributes.value)
        # A new tenant while the API is down: the default, with the reason, not an exception.
        self.proxy.cut()
        unreachable = self.client.get_boolean("advanced_analytics", True, tenant=self.tenant())
        self.assertEqual((unreachable.value, unreachable.reason, unreachable.error_code), (True, "ERROR", "PROVIDER_NOT_READY"))

    def test_secrets(self) -> None:
        t = self.tenant()
        self.put(f"/tenants/{t}/secrets/erp.api_key", {"value": "erp-plain-1"})
        self.assertEqual(self.client.secret("erp.api_key", tenant=t), "erp-plain-1")
        with self.assertRaises(SecretNotFound):
            self.client.secret("erp.api_key", tenant=self.tenant())
        # Cached: answered while the API is unreachable.
        self.proxy.cut()
        self.assertEqual(self.client.secret("erp.api_key", tenant=t), "erp-plain-1")

    def test_a_write_is_visible_within_100_ms(self) -> None:
        self.need_stream("hot reload")
        t = self.tenant()
        self.assertEqual(self.client.get("rate_limit.requests_per_minute", tenant=t), 100)
        heard: list[object] = []
        self.client.on_change(heard.append)
        delays = []
        for value in range(201, 211):
            self.put(f"/tenants/{t}/config/rate_limit.requests_per_minute", {"value": value})
            delays.append(wait_until(lambda: self.client.get("rate_limit.requests_per_minute", tenant=t) == value, 5, f"value {value}"))
        flag_delay = None
        self.put("/flags/bulk_import_v2", {"rollout": 100, "enabled": True})
        flag_delay = wait_until(lambda: self.client.is_enabled("bulk_import_v2", tenant=t), 5, "the rollout")
        sys.stderr.write(
            f"\nwrite → visible in the Python client: median {statistics.median(delays) * 1000:.1f} ms, "
            f"max {max(delays) * 1000:.1f} ms (n={len(delays)}); flag rollout {flag_delay * 1000:.1f} ms\n"
        )
        self.assertLess(statistics.median(delays), 0.100)
        self.assertTrue(any(getattr(c, "key", None) == "rate_limit.requests_per_minute" for c in heard))

    def test_resumes_with_last_event_id_and_is_stale_while_cut_off(self) -> None:
        self.need_stream("Last-Event-ID resume")
        t = self.tenant()
        self.put(f"/tenants/{t}/config/ai.model_name", {"value": "before"})
        wait_until(lambda: self.client.get("ai.model_name", tenant=t) == "before", 5, "the first value")
        self.proxy.cut()
        wait_until(lambda: self.client.stale, 5, "the client to notice the outage")
        self.assertIn("stream", self.client.stale_reason or "")
        # Reads keep answering from the cache, and say they may be behind.
        self.assertEqual(self.client.get("ai.model_name", tenant=t), "before")
        self.assertTrue(self.client.get_details("ai.model_name", tenant=t).stale)
        self.assertEqual(self.client.get_boolean("ai_recommendations", True, tenant=t).reason, "STALE")
        self.put(f"/tenants/{t}/config/ai.model_name", {"value": "during the outage"})
        self.proxy.restore()
        wait_until(lambda: self.client.get("ai.model_name", tenant=t) == "during the outage", 10, "the missed change")
        wait_until(lambda: not self.client.stale, 10, "the client to be fresh again")

    def test_thread_safe_reads_during_writes(self) -> None:
        tenants = [self.tenant() for _ in range(8)]
        errors: list[BaseException] = []
        stop = threading.Event()

        def reader(tenant: str) -> None:
            try:
                while not stop.is_set():
                    value = self.client.get("rate_limit.burst_size", tenant=tenant)
                    assert isinstance(value, int), value
                    self.client.is_enabled("ai_recommendations", tenant=tenant)
            except BaseException as error:  # noqa: BLE001 — reported below
                errors.append(error)

        threads = [threading.Thread(target=reader, args=(t,)) for t in tenants for _ in range(2)]
        for thread in threads:
            thread.start()
        last = 0
        for value in range(21, 31):
            last = value
            self.put(f"/tenants/{tenants[value % 8]}/config/rate_limit.burst_size", {"value": value})
        target = tenants[last % 8]
        wait_until(lambda: self.client.get("rate_limit.burst_size", tenant=target) == last, 10, "the last write")
        stop.set()
        for thread in threads:
            thread.join()
        self.assertEqual(errors, [])

    def test_polls_when_the_server_has_no_stream(self) -> None:
        polling = StrataClient(url=URL, token=TOKEN, namespace=self.ns, environment="prod", stream=False, poll_interval=0.2)
        try:
            t = self.tenant()
            self.assertEqual(polling.get("database.pool_size", tenant=t), 20, polling.stale_reason)
            self.put(f"/tenants/{t}/config/database.pool_size", {"value": 42})
            wait_until(lambda: polling.get("database.pool_size", tenant=t) == 42, 5, "the polled change")
        finally:
            polling.close()


if __name__ == "__main__":
    unittest.main()
