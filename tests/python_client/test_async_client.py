"""Tests of pubsub_client.AsyncPubSubClient (clients/python/pubsub_client/aio.py) against a real
pubsubd on the `pg` CTest fixture cluster (see test_client.py for the environment), and of the
package installing offline with pip.

Run: cd build && ctest -R python_client --output-on-failure
"""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

sys.dont_write_bytecode = True

from test_client import REPO, DaemonFixture, pc  # noqa: E402


class AsyncRealDaemonTest(DaemonFixture, unittest.IsolatedAsyncioTestCase):
    schema_prefix = "pyasync"

    async def asyncSetUp(self) -> None:
        self.client = pc.AsyncPubSubClient(self.sock)

    async def asyncTearDown(self) -> None:
        await self.client.close()

    async def test_create_event_durable_row_is_committed(self) -> None:
        eid = await self.client.create_event("async_import", "generic_import:7",
                                             {"records": 12}, priority=8)
        self.assertIsInstance(eid, int)
        row = self.rows([eid])[eid]  # read over a second connection
        self.assertEqual((row["type"], row["source"], row["data"], row["priority"]),
                         ("async_import", "generic_import:7", {"records": 12}, 8))

    async def test_idempotency_key_and_run_at(self) -> None:
        import datetime as dt
        at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
        key = f"async-key-{id(self)}"
        first, again = await asyncio.gather(
            self.client.create_event("async_keyed", idempotency_key=key, run_at=at),
            self.client.create_event("async_keyed", idempotency_key=key))
        self.assertEqual(first, again)
        self.assertEqual(list(self.rows([first])), [first])

    async def test_emit_many_pipelined(self) -> None:
        ids = await self.client.emit_many(
            [{"event_type": "async_many", "event_data": {"n": n}} for n in range(2000)],
            ack="queued")
        self.assertEqual(len(ids), 2000)
        self.assertEqual(ids, sorted(set(ids)))
        durable = await self.client.emit_many([{"event_type": "async_many"}] * 50)
        self.assertEqual(len(self.rows(durable)), 50)
        self.assertEqual(self.client.reconnects, 0)

    async def test_tasks_share_one_client(self) -> None:
        ids = await asyncio.gather(*(self.client.create_event("async_task", f"t:{i}")
                                     for i in range(20)))
        self.assertEqual(len(set(ids)), 20)
        self.assertEqual(len(self.rows(list(ids))), 20)

    async def test_refusal_raises_rejected_and_the_next_call_reconnects(self) -> None:
        big = {"blob": "x" * (1 << 20)}
        with self.assertRaises(ValueError):  # client-side limit, nothing sent
            await self.client.create_event("big", event_data=big)
        client = pc.AsyncPubSubClient(self.sock, max_line_bytes=4 << 20)
        try:
            self.assertIsInstance(await client.create_event("small"), int)
            with self.assertRaises(pc.PubSubRejected) as cm:
                await client.create_event("big", event_data=big)
            self.assertIn("line exceeds", cm.exception.message)
            self.assertIsInstance(await client.create_event("small"), int)
            self.assertEqual(client.reconnects, 1)
        finally:
            await client.close()

    async def test_missing_daemon_raises_unavailable(self) -> None:
        with tempfile.TemporaryDirectory() as d:
            client = pc.AsyncPubSubClient(os.path.join(d, "none.sock"))
            with self.assertRaises(pc.PubSubUnavailable) as cm:
                await client.emit_many([{"event_type": "x"}] * 3)
            self.assertIn("does not exist", str(cm.exception))
            self.assertEqual(cm.exception.unsent_indexes, [0, 1, 2])
            self.assertEqual(cm.exception.unknown_indexes, [])

    async def test_idle_connection_replaced_after_a_daemon_restart(self) -> None:
        first = await self.client.create_event("async_restart")
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        try:
            with self.assertRaises(pc.PubSubConnectionError):
                await self.client.create_event("async_restart")
        finally:
            self.daemon.start()
        reconnects = self.client.reconnects
        second = await self.client.create_event("async_restart")
        self.assertGreater(second, first)
        self.assertEqual(self.client.reconnects, reconnects + 1)
        self.assertEqual(len(self.rows([first, second])), 2)


def _builder_python() -> str | None:
    """An interpreter with pip, setuptools and wheel (setuptools before 70.1 builds wheels with
    the `wheel` package): this one, else Debian's (python3-pip, python3-setuptools,
    python3-wheel)."""
    for exe in (sys.executable, "/usr/bin/python3"):
        if exe and os.path.exists(exe) and subprocess.run(
                [exe, "-c", "import setuptools, wheel, pip"], capture_output=True).returncode == 0:
            return exe
    return None


class PipInstallTest(unittest.TestCase):
    """pip installs the package offline (setuptools from the system, no build isolation)."""

    def test_pip_install_target_then_import(self) -> None:
        python = _builder_python()
        if python is None:
            self.skipTest("SKIPPED: no python3 with pip, setuptools and wheel (Debian packages "
                          "python3-pip python3-setuptools python3-wheel)")
        with tempfile.TemporaryDirectory(prefix="pyclient-pip-") as d:
            src = os.path.join(d, "src")  # a copy: the build writes into the source folder
            shutil.copytree(REPO / "clients" / "python", src)
            target = os.path.join(d, "target")
            r = subprocess.run([python, "-m", "pip", "install", "--quiet", "--no-index",
                                "--no-build-isolation", "--disable-pip-version-check",
                                "--target", target, src],
                               capture_output=True, text=True, timeout=120)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertTrue(os.path.isfile(os.path.join(target, "pubsub_client", "py.typed")))
            code = ("import sys, pubsub_client as p; "
                    "assert p.__file__.startswith(sys.argv[1]), p.__file__; "
                    "print(p.AsyncPubSubClient.__name__, p.PubSubClient.__name__)")
            r = subprocess.run([python, "-I", "-c", f"import sys; sys.path.insert(0, "
                                f"{target!r}); exec({code!r})", target],
                               capture_output=True, text=True, timeout=60, cwd=d)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(r.stdout.strip(), "AsyncPubSubClient PubSubClient")


if __name__ == "__main__":
    unittest.main()
