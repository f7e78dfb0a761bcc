"""pubsub_client.serve, the worker side of persistent handlers (SPEC 7.3), spoken to over real
pipes: the hello line, answers in any order, failures with the exception's text, and a
handler's print() that lands on stderr instead of the protocol."""

import json
import os
import subprocess
import sys
import unittest

CLIENT_DIR = os.path.join(os.path.dirname(__file__), "..", "..", "clients", "python")

WORKER = r"""
import sys, time
import pubsub_client

def handle(event, delivery):
    print("noise on stdout", event["event_id"])
    sys.stdout.write("more noise\n")
    if event["event_data"].get("fail"):
        raise RuntimeError("boom " + str(delivery["attempt"]))
    time.sleep(event["event_data"].get("sleep", 0))

pubsub_client.serve(handle, concurrency=int(sys.argv[1]))
"""


def delivery(ident, event_id, **data):
    return json.dumps({"delivery": {"id": ident, "event_id": event_id, "subscriber": "s",
                                    "attempt": 2, "config_id": None},
                       "event": {"event_id": event_id, "event_data": data}}) + "\n"


class ServeTest(unittest.TestCase):
    def run_worker(self, concurrency, lines):
        env = dict(os.environ, PYTHONPATH=os.path.abspath(CLIENT_DIR))
        p = subprocess.run([sys.executable, "-c", WORKER, str(concurrency)], input="".join(lines),
                           capture_output=True, text=True, env=env, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [json.loads(l) for l in p.stdout.splitlines()], p.stderr

    def test_hello_answers_and_failures(self):
        out, err = self.run_worker(1, [delivery("a", 1), delivery("b", 2, fail=True)])
        self.assertEqual(out[0], {"hello": "ndjson-1", "concurrency": 1})
        self.assertEqual(out[1], {"id": "a", "ok": True})
        self.assertEqual(out[2], {"id": "b", "ok": False, "error": "RuntimeError: boom 2"})
        self.assertIn("noise on stdout 1", err)
        self.assertIn("more noise", err)

    def test_concurrent_answers_come_in_any_order(self):
        out, _ = self.run_worker(2, [delivery("slow", 1, sleep=0.4), delivery("fast", 2)])
        self.assertEqual(out[0]["concurrency"], 2)
        self.assertEqual([a["id"] for a in out[1:]], ["fast", "slow"])

    def test_a_line_that_is_not_a_delivery_is_skipped(self):
        out, err = self.run_worker(1, ["{}\n", delivery("x", 3)])
        self.assertEqual(out[1:], [{"id": "x", "ok": True}])
        self.assertIn("not a delivery", err)


if __name__ == "__main__":
    unittest.main()
