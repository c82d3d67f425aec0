"""The live event stream (issue 6): every event once, and no gap after a dropped connection."""

import json
import struct
import os
import sys
import time
import unittest

import websocket

sys.path.insert(0, os.path.dirname(__file__))
import harness  # noqa: E402
from harness import TwoStations, wait_for  # noqa: E402


class Stream:
    def __init__(self, station, client, after=None, origin=None):
        scheme = "wss" if station.tls else "ws"
        url = f"{scheme}://127.0.0.1:{station.api_port}/api/v1/events"
        if after:
            url += f"?after={after}"
        self.ws = websocket.create_connection(
            url, timeout=30, cookie=f"hotline_session={client.cookie}",
            origin=origin or f"{'https' if station.tls else 'http'}://127.0.0.1:{station.api_port}",
            sslopt={"ca_certs": os.path.join(station.dir, "api-cert.pem")})

    def next(self, timeout=30):
        self.ws.settimeout(timeout)
        return json.loads(self.ws.recv())

    def until(self, predicate, timeout=30):
        """Events up to and including the first one for which predicate is true."""
        seen = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            event = self.next(max(0.1, deadline - time.monotonic()))
            seen.append(event)
            if predicate(event, seen):
                return seen
        raise AssertionError(f"predicate never held; saw {seen[-5:]}")

    def close(self):
        self.ws.close()


def number(event_id):
    return int(event_id.rsplit("-", 1)[1])


def peer_entries(events):
    return [e["data"]["seq"] for e in events
            if e.get("type") == "entry" and e["data"]["chain"] == "peer"
            and e["data"]["kind"] == "message"]


class EventStreamTest(TwoStations):
    def send_from_bravo(self, count, tag):
        bravo = self.logged_in("bob", self.bravo)
        for i in range(count):
            bravo.must("POST", "/api/v1/lines/ab/messages",
                       {"precedence": "ROUTINE", "text": f"{tag} {i}"})
        return self.bravo.cli_json("status")["lines"][0]["own"]["seq"]

    def test_every_event_is_delivered_once_in_order(self):
        client = self.logged_in("ann")
        stream = Stream(self.alpha, client)
        hello = stream.next()
        self.assertEqual(hello["type"], "hello")
        last = self.send_from_bravo(20, "once")
        events = stream.until(lambda e, seen: last in peer_entries(seen))
        seqs = peer_entries(events)
        self.assertEqual(seqs, list(range(last - 19, last + 1)), "each entry once, in order")
        numbers = [number(e["id"]) for e in events]
        self.assertEqual(numbers, list(range(number(hello["id"]) + 1,
                                             number(hello["id"]) + 1 + len(events))),
                         "consecutive ids: nothing skipped, nothing repeated")
        for event in events:
            self.assertEqual(event["data"]["line"], "ab")
            self.assertIn(event["type"], ("entry", "receipt", "request", "notice", "line"))
        stream.close()

    def test_a_dropped_stream_resumes_from_the_last_id_without_a_gap(self):
        client = self.logged_in("ann")
        stream = Stream(self.alpha, client)
        stream.next()
        first = self.send_from_bravo(5, "before")
        events = stream.until(lambda e, seen: first in peer_entries(seen))
        last_id = events[-1]["id"]
        stream.ws.sock.close()  # the connection drops, without a goodbye
        stream = None
        # While the console is away, ten more arrive and are stored.
        last = self.send_from_bravo(10, "while away")
        wait_for(lambda: self.alpha.cli_json("status")["lines"][0]["peer_chain"]["seq"] >= last,
                 what="alpha to store bravo's messages")
        resumed = Stream(self.alpha, client, after=last_id)
        head = resumed.next()
        self.assertEqual(head["type"], "resumed")
        self.assertGreaterEqual(head["missed"], 10)
        events = resumed.until(lambda e, seen: last in peer_entries(seen))
        self.assertEqual(peer_entries(events), list(range(first + 1, last + 1)))
        self.assertEqual(number(events[0]["id"]), number(last_id) + 1, "no gap")
        numbers = [number(e["id"]) for e in events]
        self.assertEqual(numbers, list(range(numbers[0], numbers[0] + len(numbers))))
        resumed.close()

    def test_an_id_that_cannot_be_resumed_gets_a_reset(self):
        client = self.logged_in("ann")
        for after in ("0123456789abcdef-5", "garbage", "-1"):
            stream = Stream(self.alpha, client, after=after)
            event = stream.next()
            self.assertEqual(event["type"], "reset", after)
            self.assertIn("reload", event["reason"])
            stream.close()

    def test_the_stream_needs_a_session_and_our_own_origin(self):
        with self.assertRaises(websocket.WebSocketBadStatusException) as refused:
            websocket.create_connection(
                f"wss://127.0.0.1:{self.alpha.api_port}/api/v1/events", timeout=10,
                sslopt={"ca_certs": os.path.join(self.alpha.dir, "api-cert.pem")})
        self.assertEqual(refused.exception.status_code, 401)
        client = self.logged_in("ann")
        with self.assertRaises(websocket.WebSocketBadStatusException) as refused:
            Stream(self.alpha, client, origin="https://evil.example")
        self.assertEqual(refused.exception.status_code, 403)

    def test_an_administrator_sees_no_exchanges(self):
        admin = Stream(self.alpha, self.logged_in("adam"))
        operator = Stream(self.alpha, self.logged_in("ann"))
        admin.next()
        operator.next()
        last = self.send_from_bravo(1, "secret")
        operator.until(lambda e, seen: last in peer_entries(seen))
        admin.ws.settimeout(1.5)
        with self.assertRaises(websocket.WebSocketTimeoutException):
            while True:
                event = json.loads(admin.ws.recv())
                self.assertEqual(event["type"], "line", event)
        admin.close()
        operator.close()

    def test_the_stream_ends_with_its_session(self):
        client = self.logged_in("paul")
        stream = Stream(self.alpha, client)
        stream.next()
        self.alpha.advance_clock("16m")
        self.send_from_bravo(1, "wake")
        stream.ws.settimeout(20)
        for _ in range(100):
            opcode, data = stream.ws.recv_data(control_frame=True)
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
        else:
            self.fail("the stream stayed open after its session ended")
        self.assertEqual(struct.unpack(">H", data[:2])[0], 1008)
        self.assertIn(b"session has ended", data[2:])

if __name__ == "__main__":
    unittest.main()
