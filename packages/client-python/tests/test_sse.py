"""The SSE parser on the change stream's wire format (CHANGE-STREAM.md); pure, no stack."""

from __future__ import annotations

import unittest

import support  # noqa: F401 — puts src/ on the path

from strata_client._sse import SseEvent, SseParser

WIRE = (
    "retry: 1000\n\n"
    "id: 41\nevent: ready\ndata: {\"position\":41}\n\n"
    ": keep-alive\n\n"
    "id: 42\r\nevent: change\r\n"
    'data: {"position":42,"type":"ConfigValueSet","kind":"config","name":"rate_limit.requests_per_minute","tenant":"t-1","recordedAt":"2026-12-01T12:00:00.000Z"}\r\n\r\n'
    "event: resync\ndata: {\"position\": 900}\n\n"
    "data: first\ndata:second\n\n"
)


class SseParserTest(unittest.TestCase):
    def test_parses_the_change_stream(self) -> None:
        parser = SseParser()
        events = list(parser.events(WIRE.splitlines(keepends=True)))
        self.assertEqual([e.event for e in events], ["ready", "change", "resync", "message"])
        self.assertEqual(events[0], SseEvent("ready", '{"position":41}', "41"))
        self.assertEqual(events[1].id, "42")
        self.assertIn('"kind":"config"', events[1].data)
        # resync carries no id: the last one seen stays.
        self.assertEqual(events[2].id, "42")
        self.assertEqual(events[3].data, "first\nsecond")
        self.assertEqual(parser.retry_ms, 1000)
        self.assertEqual(parser.last_id, "42")


if __name__ == "__main__":
    unittest.main()
