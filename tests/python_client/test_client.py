"""Tests of clients/python/pubsub_client.py.

RealDaemonTest runs a real pubsubd against the `pg` CTest fixture cluster:
  PUBSUB_BIN_DIR      folder with pubsubd and pubsub-pg (default: <repo>/build/bin)
  PUBSUB_TEST_PG_DIR  data dir of the running fixture cluster (`pubsub-pg dsn --data-dir` gives
                      the DSN), or PUBSUB_TEST_DSN to give a DSN directly.
The daemon applies the migrations to a fresh schema pyclient_<pid>, dropped at the end (kept
when PUBSUB_KEEP_SCHEMAS is set). ProtocolPolicyTest uses a scripted fake daemon to check the
reconnect/no-duplicate policy deterministically.

Run: cd build && ctest -R python_client_test --output-on-failure
 or: PUBSUB_TEST_PG_DIR=... python3 -m unittest -v tests/python_client/test_client.py
"""

from __future__ import annotations

import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from pathlib import Path
from typing import Any, Callable

sys.dont_write_bytecode = True
REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO / "clients" / "python"))

import pubsub_client as pc  # noqa: E402

BIN_DIR = Path(os.environ.get("PUBSUB_BIN_DIR") or REPO / "build" / "bin")
WAIT_S = 60.0  # generous bound for the daemon to start or a row to appear (not a timing test)


def _psql_path() -> str:
    found = shutil.which("psql") or next(iter(sorted(glob.glob(
        "/usr/lib/postgresql/*/bin/psql"), reverse=True)), None)
    if not found:
        raise RuntimeError("psql not found (Debian package postgresql-client)")
    return found


def fixture_dsn() -> str:
    dsn = os.environ.get("PUBSUB_TEST_DSN")
    if dsn:
        return dsn
    pg_dir = os.environ.get("PUBSUB_TEST_PG_DIR")
    if not pg_dir:
        raise RuntimeError(
            "PUBSUB_TEST_PG_DIR is not set: run through ctest (the pg_start fixture starts the "
            "cluster), or run `pubsub-pg start --data-dir DIR` and set PUBSUB_TEST_PG_DIR=DIR, "
            "or set PUBSUB_TEST_DSN")
    tool = BIN_DIR / "pubsub-pg"
    r = subprocess.run([str(tool), "dsn", "--data-dir", pg_dir], capture_output=True,
                       text=True, timeout=60)
    if r.returncode != 0 or not r.stdout.strip():
        raise RuntimeError(f"no cluster running for PUBSUB_TEST_PG_DIR={pg_dir} ({tool} dsn: "
                           f"{r.stderr.strip()}): run `pubsub-pg start --data-dir {pg_dir}`")
    return r.stdout.strip()


def psql(dsn: str, sql: str) -> str:
    r = subprocess.run([_psql_path(), "-XAtq", "-v", "ON_ERROR_STOP=1", "-d", dsn, "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        raise RuntimeError(f"psql failed: {r.stderr.strip()}\nSQL: {sql}")
    return r.stdout.strip()


def wait_until(what: str, check: Callable[[], bool], timeout: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


class Daemon:
    """A pubsubd child process on a given schema and socket."""

    def __init__(self, dsn: str, schema: str, socket_path: str, log_path: str) -> None:
        self.dsn, self.schema, self.socket_path, self.log_path = (dsn, schema, socket_path,
                                                                  log_path)
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        exe = BIN_DIR / "pubsubd"
        deadline = time.monotonic() + WAIT_S
        while not exe.exists():  # being rebuilt by someone else: wait a little
            if time.monotonic() > deadline:
                raise RuntimeError(f"{exe} does not exist: build the pubsubd target first")
            time.sleep(1)
        with open(self.log_path, "ab") as log:
            self.proc = subprocess.Popen(
                [str(exe), "--dsn", self.dsn, "--schema", self.schema, "--socket",
                 self.socket_path, "--log-level", "info", "--drain-timeout", "5"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log)

        def up() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"pubsubd exited with {self.proc.returncode}:\n{self.log()}")
            s = socket.socket(socket.AF_UNIX)
            try:
                s.connect(self.socket_path)
                return True
            except OSError:
                return False
            finally:
                s.close()

        wait_until("pubsubd to listen on " + self.socket_path, up)

    def stop(self) -> int | None:
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        code, self.proc = self.proc.returncode, None
        return code

    def log(self) -> str:
        try:
            return Path(self.log_path).read_text(errors="replace")[-4000:]
        except OSError:
            return ""


class DaemonFixture:
    """One pubsubd on a fresh schema of the fixture cluster for a test class (setUpClass)."""

    schema_prefix = "pyclient"
    dsn: str
    schema: str
    tmp: tempfile.TemporaryDirectory[str]
    sock: str
    daemon: Daemon

    @classmethod
    def setUpClass(cls) -> None:
        cls.dsn = fixture_dsn()
        cls.schema = f"{cls.schema_prefix}_{os.getpid()}"
        psql(cls.dsn, f"DROP SCHEMA IF EXISTS {cls.schema} CASCADE")  # left by an earlier pid
        cls.tmp = tempfile.TemporaryDirectory(prefix="pyclient-")
        cls.sock = os.path.join(cls.tmp.name, "pubsub.sock")
        cls.daemon = Daemon(cls.dsn, cls.schema, cls.sock, os.path.join(cls.tmp.name, "d.log"))
        try:
            cls.daemon.start()
        except BaseException:
            cls.tearDownClass()
            raise

    @classmethod
    def tearDownClass(cls) -> None:
        try:
            code = cls.daemon.stop()
            if code not in (0, None):
                print(f"pubsubd exited with {code}:\n{cls.daemon.log()}", file=sys.stderr)
        finally:
            if not os.environ.get("PUBSUB_KEEP_SCHEMAS"):
                psql(cls.dsn, f"DROP SCHEMA IF EXISTS {cls.schema} CASCADE")
            cls.tmp.cleanup()

    def rows(self, ids: list[int]) -> dict[int, dict[str, Any]]:
        """The events table rows of these ids (type, source, data, priority)."""
        if not ids:
            return {}
        out = psql(self.dsn,
                   "SELECT coalesce(json_agg(json_build_object('id', event_id, 'type', "
                   "event_type, 'source', event_source, 'data', event_data, 'priority', "
                   f"priority)), '[]') FROM {self.schema}.tpubsub_events WHERE event_id IN "
                   f"({','.join(map(str, ids))})")
        return {r["id"]: r for r in json.loads(out)}


class RealDaemonTest(DaemonFixture, unittest.TestCase):
    def setUp(self) -> None:
        self.client = pc.PubSubClient(self.sock)

    def tearDown(self) -> None:
        self.client.close()
        if self.daemon.proc is None or self.daemon.proc.poll() is not None:
            print(f"---- pubsubd log ----\n{self.daemon.log()}", file=sys.stderr)

    # -- ids, acks --------------------------------------------------------------------------

    def test_create_event_returns_increasing_ids(self) -> None:
        ids = [self.client.create_event("py_test", f"src:{i}", {"i": i}) for i in range(5)]
        for i in ids:
            self.assertIsInstance(i, int)
        self.assertEqual(ids, sorted(set(ids)), f"ids not strictly increasing: {ids}")

    def test_durable_ack_means_the_row_is_committed(self) -> None:
        eid = self.client.create_event("import_complete", "generic_import:42",
                                       {"config_name": "sales_eu_daily", "rows": 1200,
                                        "note": "caf\u00e9 \u2603"}, priority=10,
                                       ack="durable")
        row = self.rows([eid]).get(eid)  # read at once: the ack came after the commit
        self.assertIsNotNone(row, f"event {eid} acknowledged durable but not in the table")
        assert row is not None
        self.assertEqual(row["type"], "import_complete")
        self.assertEqual(row["source"], "generic_import:42")
        self.assertEqual(row["data"], {"config_name": "sales_eu_daily", "rows": 1200,
                                       "note": "caf\u00e9 \u2603"})
        self.assertEqual(row["priority"], 10)

    def test_queued_ack_returns_an_id_and_the_row_follows(self) -> None:
        eid = self.client.create_event("report_sent", event_data={"report_id": 7}, ack="queued")
        self.assertIsInstance(eid, int)
        wait_until(f"queued event {eid} to be written", lambda: eid in self.rows([eid]))
        self.assertEqual(self.rows([eid])[eid]["data"], {"report_id": 7})

    # -- idempotency keys and run_at (SPEC 7.2) ----------------------------------------------

    def test_idempotency_key_returns_the_first_id(self) -> None:
        key = f"py-key-{os.getpid()}-{time.monotonic_ns()}"
        first = self.client.create_event("py_keyed", event_data={"n": 1}, idempotency_key=key)
        again = self.client.create_event("py_keyed", event_data={"n": 2}, idempotency_key=key,
                                         ack="queued")
        self.assertEqual(again, first)
        count = psql(self.dsn, f"SELECT count(*) FROM {self.schema}.tpubsub_idempotency_keys "
                               f"WHERE idempotency_key = '{key}' AND event_id = {first}")
        self.assertEqual(count, "1")
        with self.assertRaises(ValueError):
            self.client.create_event("py_keyed", idempotency_key="")
        with self.assertRaises(ValueError):
            self.client.create_event("py_keyed", idempotency_key="k" * 257)

    def test_run_at_is_stored_with_the_row(self) -> None:
        import datetime as dt
        at = dt.datetime.now(dt.timezone.utc) + dt.timedelta(minutes=5)
        eid = self.client.create_event("py_later", run_at=at)
        stored = psql(self.dsn, f"SELECT (extract(epoch FROM run_at) * 1000000)::bigint, status "
                                f"FROM {self.schema}.tpubsub_events WHERE event_id = {eid}")
        us, status = stored.split("|")
        self.assertAlmostEqual(int(us) / 1e6, at.timestamp(), delta=0.001)
        self.assertEqual(status, "pending")
        with self.assertRaises(ValueError):
            self.client.create_event("py_later", run_at=dt.datetime.now())  # naive
        with self.assertRaises(pc.PubSubRejected):
            self.client.create_event("py_later", run_at=at + dt.timedelta(days=31))

    def test_module_level_create_event_with_argument_and_environment(self) -> None:
        a = pc.create_event("py_module", socket_path=self.sock)
        old = os.environ.get("PUBSUB_SOCKET")
        os.environ["PUBSUB_SOCKET"] = self.sock
        try:
            b = pc.create_event("py_module", "env", {"k": 1}, 3, "queued")
            ids = pc.emit_many([{"event_type": "py_module"}] * 3)
        finally:
            if old is None:
                del os.environ["PUBSUB_SOCKET"]
            else:
                os.environ["PUBSUB_SOCKET"] = old
        self.assertLess(a, b)
        self.assertEqual(len(ids), 3)
        self.assertLess(b, ids[0])

    # -- emit_many ----------------------------------------------------------------------------

    def test_emit_many_1000_durable(self) -> None:
        events = [{"event_type": "bulk", "event_source": f"job:{i % 7}", "event_data": {"i": i},
                   "priority": 1 + i % 10} for i in range(1000)]
        ids = self.client.emit_many(events, ack="durable")
        self.assertEqual(len(ids), 1000)
        self.assertEqual(ids, sorted(set(ids)), "ids not unique and increasing")
        rows = self.rows(ids)  # all committed before the replies
        self.assertEqual(len(rows), 1000)
        for i in (0, 1, 500, 999):
            self.assertEqual(rows[ids[i]]["data"], {"i": i})
            self.assertEqual(rows[ids[i]]["priority"], 1 + i % 10)

    def test_emit_many_1000_queued(self) -> None:
        # Exposes an ingest bug (as of dd9902e): with queued acks, a pipelined batch larger than
        # what one read returns gets some lines refused as "malformed JSON" (e.g. line 1), see
        # the report of this test's author: socket_session re-arms the read inside on_read.
        events = [{"event_type": "bulk", "event_source": "x", "event_data": {"i": i}}
                  for i in range(1000)]
        try:
            ids = self.client.emit_many(events, ack="queued")
        except pc.PubSubBatchRejected as e:
            self.fail(f"daemon refused valid lines: {e}")
        self.assertEqual(len(ids), 1000)
        self.assertEqual(ids, sorted(set(ids)))
        wait_until("1000 queued events to be written", lambda: len(self.rows(ids)) == 1000)

    def test_emit_many_large_batch_does_not_deadlock(self) -> None:
        # 20,000 lines (about 1.8 MB) exceed the socket buffers both ways: the client must read
        # replies while it writes.
        events = [{"event_type": "bulk", "event_data": {"pad": "p" * 40, "i": i}}
                  for i in range(20000)]
        ids = self.client.emit_many(events, ack="durable")
        self.assertEqual(len(ids), 20000)
        self.assertEqual(ids, sorted(set(ids)))

    def test_emit_many_partial_refusal_lists_indexes_and_keeps_ids(self) -> None:
        lines = [b'{"event_type":"mixed","event_data":{"n":0}}',
                 b'{"event_type":"mixed","priority":11}',
                 b'{"event_type":"mixed","event_data":{"n":2}}',
                 b'{"event_type":"mixed","colour":"red"}',
                 b'{"event_type":"mixed","event_data":{"n":4}}']
        with self.assertRaises(pc.PubSubBatchRejected) as cm:
            self.client._emit_lines(lines)  # bypasses client-side validation
        e = cm.exception
        self.assertIsInstance(e, pc.PubSubRejected)
        self.assertEqual(e.failed_indexes, [1, 3])
        self.assertIn("priority must be an integer from 1 to 10 (got 11)", e.errors[1])
        self.assertIn('unknown field "colour"', e.errors[3])
        self.assertIn("indexes 1, 3", str(e))
        ok = [e.event_ids[i] for i in (0, 2, 4)]
        self.assertTrue(all(isinstance(i, int) for i in ok), e.event_ids)
        self.assertIsNone(e.event_ids[1])
        rows = self.rows([i for i in ok if i is not None])
        self.assertEqual(sorted(r["data"]["n"] for r in rows.values()), [0, 2, 4])
        # The connection lives on after error replies.
        self.assertIsInstance(self.client.create_event("mixed"), int)
        self.assertEqual(self.client.reconnects, 0)

    # -- errors -------------------------------------------------------------------------------

    def test_error_reply_raises_rejected_with_the_daemons_message(self) -> None:
        with self.assertRaises(pc.PubSubRejected) as cm:
            self.client._emit_lines([b'{"event_type":"x","priority":11}'])
        self.assertEqual(cm.exception.message, "priority must be an integer from 1 to 10 (got 11)")
        self.assertIn("priority must be an integer", str(cm.exception))

    def test_oversized_line_is_refused_and_the_next_call_reconnects(self) -> None:
        big = {"blob": "x" * (1 << 20)}
        with self.assertRaises(ValueError):  # default max_line_bytes matches the daemon's
            self.client.create_event("big", event_data=big)
        client = pc.PubSubClient(self.sock, max_line_bytes=4 << 20)
        try:
            self.assertIsInstance(client.create_event("small"), int)
            with self.assertRaises(pc.PubSubRejected) as cm:
                client.create_event("big", event_data=big)
            self.assertIn("line exceeds", cm.exception.message)
            # The daemon closed the connection; the next call finds out and reconnects.
            self.assertIsInstance(client.create_event("small"), int)
            self.assertEqual(client.reconnects, 1)
        finally:
            client.close()

    def test_client_side_validation_sends_nothing(self) -> None:
        # A client on a path with no daemon: ValueError (not PubSubUnavailable) proves that the
        # arguments are checked before connecting.
        nowhere = pc.PubSubClient(os.path.join(self.tmp.name, "nowhere.sock"))
        bad_calls: list[Callable[[], Any]] = [
            lambda: nowhere.create_event(""),
            lambda: nowhere.create_event(None),  # type: ignore[arg-type]
            lambda: nowhere.create_event("t", 5),  # type: ignore[arg-type]
            lambda: nowhere.create_event("t", event_data=[1, 2]),  # type: ignore[arg-type]
            lambda: nowhere.create_event("t", event_data={"x": float("nan")}),
            lambda: nowhere.create_event("t", event_data={"x": object()}),
            lambda: nowhere.create_event("t", priority=0),
            lambda: nowhere.create_event("t", priority=11),
            lambda: nowhere.create_event("t", priority=True),
            lambda: nowhere.create_event("t", priority="5"),  # type: ignore[arg-type]
            lambda: nowhere.create_event("t", priority=5.0),  # type: ignore[arg-type]
            lambda: nowhere.create_event("t", ack="fast"),  # type: ignore[arg-type]
            lambda: nowhere.emit_many([{"event_type": "t"}, {"event_type": "t", "ack": "q"}]),
            lambda: nowhere.emit_many([{"event_type": "t"}, "t"]),  # type: ignore[list-item]
            lambda: nowhere.emit_many([{"event_type": "t"}], ack="later"),  # type: ignore
        ]
        for i, call in enumerate(bad_calls):
            with self.subTest(i=i), self.assertRaises(ValueError):
                call()
        with self.assertRaises(ValueError) as cm:
            nowhere.emit_many([{"event_type": "t"}, {"event_type": "t", "priority": 12}])
        self.assertIn("events[1]", str(cm.exception))

    def test_missing_daemon_raises_unavailable_with_path_and_advice(self) -> None:
        path = os.path.join(self.tmp.name, "no-daemon-here.sock")
        with self.assertRaises(pc.PubSubUnavailable) as cm:
            pc.PubSubClient(path).create_event("t")
        msg = str(cm.exception)
        self.assertIn(path, msg)
        self.assertIn("does not exist", msg)
        self.assertIn("PUBSUB_SOCKET", msg)
        self.assertEqual(cm.exception.socket_path, path)
        self.assertEqual(cm.exception.unknown_indexes, [])
        # A socket file nobody listens on.
        stale = os.path.join(self.tmp.name, "stale.sock")
        s = socket.socket(socket.AF_UNIX)
        s.bind(stale)
        s.close()
        with self.assertRaises(pc.PubSubUnavailable) as cm:
            pc.create_event("t", socket_path=stale)
        self.assertIn("refused", str(cm.exception))

    # -- restart, threads ---------------------------------------------------------------------

    def test_reconnects_after_the_daemon_restarts(self) -> None:
        first = self.client.create_event("restart", ack="durable")
        try:
            self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
            with self.assertRaises(pc.PubSubUnavailable):
                self.client.create_event("restart")
        finally:
            self.daemon.start()
        second = self.client.create_event("restart", ack="durable")
        third = self.client.emit_many([{"event_type": "restart"}] * 3)
        self.assertGreater(second, first)
        self.assertLess(second, third[0])
        self.assertEqual(len(self.rows([first, second, *third])), 5)
        # Idle connection, daemon restarted underneath: the next call reconnects transparently.
        reconnects = self.client.reconnects
        self.assertEqual(self.daemon.stop(), 0, self.daemon.log())
        self.daemon.start()
        fourth = self.client.create_event("restart", ack="durable")
        self.assertGreater(fourth, third[-1])
        self.assertEqual(self.client.reconnects, reconnects + 1)
        self.assertIn(fourth, self.rows([fourth]))

    def test_one_client_shared_by_threads(self) -> None:
        results: list[list[int]] = [[] for _ in range(4)]
        errors: list[BaseException] = []

        def work(k: int) -> None:
            try:
                for i in range(50):
                    results[k].append(self.client.create_event("threads", f"t{k}", {"i": i},
                                                               ack="queued"))
                results[k].extend(self.client.emit_many([{"event_type": "threads"}] * 50,
                                                        ack="durable"))
            except BaseException as e:  # noqa: BLE001 - reported below
                errors.append(e)

        threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(errors, [])
        all_ids = [i for r in results for i in r]
        self.assertEqual(len(all_ids), 400)
        self.assertEqual(len(set(all_ids)), 400)


class FakeDaemon:
    """A scripted Unix socket server: script(k, conn, reader, fake) runs, in its own thread,
    for the k-th connection; fake.read_line(reader) reads and records one request line."""

    Script = Callable[[int, socket.socket, Any, "FakeDaemon"], None]

    def __init__(self, path: str, script: Script) -> None:
        self.path = path
        self.lines: list[bytes] = []
        self.connections = 0
        self.closed = threading.Event()
        self.release = threading.Event()  # set by close(): scripts waiting on it return
        self._script = script
        self._srv = socket.socket(socket.AF_UNIX)
        self._srv.bind(path)
        self._srv.listen()
        threading.Thread(target=self._serve, daemon=True).start()

    def read_line(self, reader: Any) -> bytes:
        line: bytes = reader.readline()
        if line:
            self.lines.append(line)
        return line

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._srv.accept()
            except OSError:
                return
            k = self.connections
            self.connections += 1
            threading.Thread(target=self._run, args=(k, conn), daemon=True).start()

    def _run(self, k: int, conn: socket.socket) -> None:
        with conn, conn.makefile("rb") as reader:
            try:
                self._script(k, conn, reader, self)
            except OSError:
                pass

    def close(self) -> None:
        self.release.set()
        self._srv.close()


class ProtocolPolicyTest(unittest.TestCase):
    """Reconnect policy, checked against a fake daemon (no PostgreSQL needed)."""

    def setUp(self) -> None:
        self.tmp = tempfile.TemporaryDirectory(prefix="pyclient-fake-")
        self.path = os.path.join(self.tmp.name, "fake.sock")
        self.fake: FakeDaemon | None = None

    def tearDown(self) -> None:
        if self.fake:
            self.fake.close()
        self.tmp.cleanup()

    def test_line_sent_but_reply_lost_is_not_resent(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            fake.read_line(r)  # read it, "crash" before replying

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path)
        with self.assertRaises(pc.PubSubConnectionError) as cm:
            client.create_event("t", ack="durable")
        e = cm.exception
        self.assertNotIsInstance(e, pc.PubSubUnavailable)
        self.assertEqual(e.unknown_indexes, [0])
        self.assertIn("may or may not have been created", str(e))
        self.assertEqual(len(self.fake.lines), 1)
        self.assertEqual(self.fake.connections, 1, "the client re-sent a line it had fully sent")
        client.close()

    def test_emit_many_reports_answered_unknown_and_unsent(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            fake.read_line(r)
            conn.sendall(b'{"ok":true,"event_id":41}\n')
            fake.read_line(r)
            conn.sendall(b'{"ok":false,"error":"nope"}\n')
            fake.read_line(r)  # third line read, no reply; the rest are never read
            conn.shutdown(socket.SHUT_RDWR)

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path)
        events = [{"event_type": "t", "event_data": {"pad": "x" * 100000}}] * 40
        with self.assertRaises(pc.PubSubConnectionError) as cm:
            client.emit_many(events)
        e = cm.exception
        self.assertEqual(e.event_ids[:3], [41, None, None])
        self.assertEqual(e.rejected, {1: "nope"})
        self.assertIn(2, e.unknown_indexes)
        self.assertEqual(sorted(e.unknown_indexes + e.unsent_indexes), list(range(2, 40)))
        self.assertTrue(e.unsent_indexes, "4 MB cannot all have been sent")
        self.assertEqual(self.fake.connections, 1)
        client.close()

    def test_idle_connection_closed_by_the_daemon_is_replaced(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            while fake.read_line(r):
                conn.sendall(b'{"ok":true,"event_id":%d}\n' % (len(fake.lines) + 100 * k))
                if k == 0:
                    break
            if k == 0:
                conn.shutdown(socket.SHUT_RDWR)
                fake.closed.set()

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path)
        self.assertEqual(client.create_event("t"), 1)
        self.assertTrue(self.fake.closed.wait(WAIT_S))
        self.assertEqual(client.create_event("t"), 102)
        self.assertEqual(client.reconnects, 1)
        self.assertEqual(len(self.fake.lines), 2)
        client.close()

    def test_send_refused_before_the_line_reached_the_daemon_is_retried_once(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            if k == 0:
                conn.shutdown(socket.SHUT_RD)  # like a draining daemon: writes now fail
                fake.closed.set()
                fake.release.wait(WAIT_S)  # keep the write side open: no EOF to see beforehand
                return
            while fake.read_line(r):
                conn.sendall(b'{"ok":true,"event_id":7}\n')

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path)
        client._sock = client._connect()  # connection 0, opened before the daemon stops reading
        self.assertTrue(self.fake.closed.wait(WAIT_S))
        self.assertEqual(client.create_event("t"), 7)
        self.assertEqual(self.fake.connections, 2)
        self.assertEqual(len(self.fake.lines), 1)
        client.close()

    def test_no_reply_within_timeout_raises_timeout(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            fake.read_line(r)
            fake.release.wait(WAIT_S)

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path, timeout=0.3)
        try:
            with self.assertRaises(pc.PubSubTimeout) as cm:
                client.create_event("t")
            self.assertEqual(cm.exception.unknown_indexes, [0])
            self.assertEqual(self.fake.connections, 1)
        finally:
            client.close()

    def test_garbage_reply_is_a_connection_error(self) -> None:
        def script(k: int, conn: socket.socket, r: Any, fake: FakeDaemon) -> None:
            fake.read_line(r)
            conn.sendall(b"hello\n")

        self.fake = FakeDaemon(self.path, script)
        client = pc.PubSubClient(self.path)
        with self.assertRaises(pc.PubSubConnectionError) as cm:
            client.create_event("t")
        self.assertIn("unreadable reply", str(cm.exception))
        self.assertEqual(cm.exception.unknown_indexes, [0])
        client.close()


if __name__ == "__main__":
    unittest.main()
