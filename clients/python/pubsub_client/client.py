"""PubSubClient, the blocking client, and the module-level shared clients."""

from __future__ import annotations

import bisect
import datetime
import errno
import itertools
import os
import select
import socket
import threading
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._protocol import (DEFAULT_MAX_LINE_BYTES, Ack, resolve_socket_path, _ACKS, _EVENT_KEYS, _MSG_NOSIGNAL, _RECV_CHUNK, _SEND_CHUNK, _SUN_PATH_MAX,
                        _check_ack, _checked_settings, _encode, _parse_reply, _producer_fields,
                        _Settings, _validated)
from .errors import (PubSubBatchRejected, PubSubConnectionError, PubSubError, PubSubRejected,
                     PubSubTimeout, PubSubUnavailable)


class _Outcome:
    """What one exchange of n lines produced, and how far sending got."""

    def __init__(self) -> None:
        self.replies: list[int | str] = []  # one per answered line, in order
        self.bytes_sent: int = 0
        self.failure: str | None = None  # why the exchange stopped early
        self.timed_out: bool = False
        self.retryable: bool = True  # False: out of step with the daemon, never re-send


# ---------------------------------------------------------------------------------------------
# Client


class PubSubClient(_Settings):
    """A connection to one pubsubd socket, opened lazily and kept across calls.

    ``timeout`` (seconds, None for no limit) bounds connecting and every wait for the daemon to
    make progress (accept bytes or send a reply); it is not a deadline for a whole batch. A
    durable ack waits for a PostgreSQL commit, which can take long while the database is
    unreachable: raise ``timeout`` (or pass None) if you prefer waiting to an error.
    ``max_line_bytes`` is checked before sending; keep it at the daemon's ``--max-line-bytes``.

    Thread-safe: calls on one client are serialized by a lock (see the module docstring).
    """

    def __init__(self, socket_path: str | os.PathLike[str] | None = None,
                 timeout: float | None = 10.0, *,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(socket_path, timeout, max_line_bytes=max_line_bytes)
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._pid: int = os.getpid()
        self._rbuf = bytearray()
        self._closed = False

    # -- public API ---------------------------------------------------------------------------

    def create_event(self, event_type: str, event_source: str = "",
                     event_data: Mapping[str, Any] | None = None, priority: int = 5,
                     ack: Ack = "durable", *, idempotency_key: str | None = None,
                     run_at: datetime.datetime | str | None = None) -> int:
        """Create one event and return its event_id.

        ``idempotency_key`` (1 to 256 bytes): a retry with the same key creates nothing and
        returns the first event's id, for the daemon's --idempotency-window (24 h by default);
        such an event is acknowledged once its key is committed, whatever ``ack`` says.
        ``run_at`` (a timezone-aware datetime or an RFC 3339 string, at most 30 days ahead):
        the event is stored now and dispatched at that time.

        Raises ValueError (bad argument, nothing sent), PubSubRejected (the daemon refused it),
        PubSubUnavailable (no daemon), PubSubConnectionError (outcome unknown, see the module
        docstring; ``unknown_indexes == [0]``).
        """
        _check_ack(ack)
        fields = _validated(None, event_type, event_source, event_data, priority)
        fields.update(_producer_fields(idempotency_key, run_at))
        line = _encode(fields, ack, None, self.max_line_bytes)
        result = self._call([line])
        if isinstance(result[0], str):
            raise PubSubRejected(result[0], 0)
        return result[0]

    def emit_many(self, events: Iterable[Mapping[str, Any]], ack: Ack = "durable") -> list[int]:
        """Create many events with one pipelined exchange; return their ids in order.

        Each event is a mapping with ``event_type`` (required) and optionally ``event_source``,
        ``event_data`` and ``priority`` (same meaning and defaults as ``create_event``); ``ack``
        applies to all. Every event is validated before anything is sent (ValueError names the
        index). Lines are written while replies are read, so any batch size is fine.

        If the daemon refuses some events, the others are still created and
        PubSubBatchRejected is raised with ``event_ids`` (None at the refused indexes),
        ``errors`` and ``failed_indexes``. Connection failures raise PubSubConnectionError
        (or PubSubUnavailable) carrying the ids received so far.
        """
        _check_ack(ack)
        lines: list[bytes] = []
        for i, ev in enumerate(events):
            if not isinstance(ev, Mapping):
                raise ValueError(f"events[{i}] must be a dict, got {type(ev).__name__}")
            extra = set(ev) - _EVENT_KEYS
            if extra:
                raise ValueError(f"events[{i}] has unknown keys {sorted(extra)} (expected "
                                 f"event_type, event_source, event_data, priority; ack is an "
                                 f"argument of emit_many)")
            fields = _validated(i, ev.get("event_type"), ev.get("event_source", ""),
                                ev.get("event_data"), ev.get("priority", 5))
            lines.append(_encode(fields, ack, i, self.max_line_bytes))
        return self._ids_or_raise(self._call(lines))

    def close(self) -> None:
        """Close the connection. The client stays usable: the next call reconnects."""
        with self._lock:
            self._drop()

    def __enter__(self) -> PubSubClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "connected" if self._sock is not None else "not connected"
        return f"PubSubClient({self.socket_path!r}, {state})"

    # -- private ------------------------------------------------------------------------------

    def _emit_lines(self, lines: Sequence[bytes]) -> list[int]:
        """Send raw request lines (without validation; tests use it to reach daemon errors)."""
        return self._ids_or_raise(self._call([ln if ln.endswith(b"\n") else ln + b"\n"
                                              for ln in lines]))

    @staticmethod
    def _ids_or_raise(result: list[int | str]) -> list[int]:
        errors = {i: r for i, r in enumerate(result) if isinstance(r, str)}
        if errors:
            raise PubSubBatchRejected([None if isinstance(r, str) else r for r in result], errors)
        return [r for r in result if isinstance(r, int)]

    def _drop(self) -> None:
        if self._sock is not None:
            try:
                self._sock.close()
            except OSError:
                pass
        self._sock = None
        self._rbuf.clear()

    def _connect(self) -> socket.socket:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            sock.settimeout(self.timeout)
            sock.connect(self.socket_path)
        except FileNotFoundError:
            sock.close()
            raise PubSubUnavailable(self.socket_path, "the socket file does not exist") from None
        except ConnectionRefusedError:
            sock.close()
            raise PubSubUnavailable(self.socket_path,
                                    "connection refused: the socket file exists but no daemon "
                                    "is listening (stopped, or still starting)") from None
        except PermissionError:
            sock.close()
            raise PubSubUnavailable(self.socket_path,
                                    "permission denied: this user may not use the socket "
                                    "(pubsubd --socket-mode, group membership)") from None
        except TimeoutError:
            sock.close()
            raise PubSubUnavailable(self.socket_path,
                                    f"connecting timed out after {self.timeout} s: the daemon "
                                    "is not accepting connections") from None
        except OSError as e:
            sock.close()
            if e.errno in (errno.ENOTSOCK, errno.ENOTDIR, errno.ECONNREFUSED):
                raise PubSubUnavailable(self.socket_path, e.strerror or str(e)) from None
            raise PubSubConnectionError(f"cannot connect to {self.socket_path}: {e}") from e
        sock.setblocking(False)
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True
        self._pid = os.getpid()
        return sock

    def _connection_is_dead(self) -> bool:
        """Non-blocking check before sending: EOF, an error or stray bytes mean start afresh."""
        assert self._sock is not None
        if self._rbuf:
            return True  # bytes nobody asked for: out of step with the daemon
        try:
            self._sock.recv(1, socket.MSG_PEEK | socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return False
        except OSError:
            return True
        return True  # b"" is EOF; data would be an unsolicited reply

    def _call(self, lines: list[bytes]) -> list[int | str]:
        """Send lines, return one reply per line (event id or error message), in order."""
        if not lines:
            return []
        with self._lock:
            if self._sock is not None and os.getpid() != self._pid:
                self._drop()  # closes only the child's copy: the parent's connection lives on
            if self._sock is not None and self._connection_is_dead():
                self._drop()

            results: list[int | str | None] = [None] * len(lines)
            pending = list(range(len(lines)))  # indexes still without a reply
            retried = False
            while True:
                if self._sock is None:
                    try:
                        self._sock = self._connect()
                    except PubSubUnavailable as e:
                        # On a retry, part of the call may have been answered already.
                        e.event_ids = [r if isinstance(r, int) else None for r in results]
                        e.rejected = {i: r for i, r in enumerate(results) if isinstance(r, str)}
                        e.unsent_indexes = list(pending)
                        raise
                out = self._exchange([lines[i] for i in pending])
                for k, reply in enumerate(out.replies):
                    results[pending[k]] = reply
                if out.failure is None:
                    closing = any(isinstance(r, str) and r.endswith("closing the connection")
                                  for r in out.replies)
                    if closing or out.bytes_sent < sum(len(lines[i]) for i in pending):
                        # The daemon refused an oversized line and is closing the connection
                        # (whether or not the line was fully sent): start afresh next time,
                        # rather than race the close with the next request.
                        self._drop()
                    return [r for r in results if r is not None]
                self._drop()
                answered = len(out.replies)
                unanswered = pending[answered:]
                # Line k (of this exchange) may have been parsed once its closing brace was sent.
                offset = sum(len(lines[i]) for i in pending[:answered])
                unknown: list[int] = []
                unsent: list[int] = []
                for i in unanswered:
                    brace_end = offset + len(lines[i]) - 1
                    (unknown if out.bytes_sent >= brace_end else unsent).append(i)
                    offset += len(lines[i])
                if not unknown and not unsent:
                    return [r for r in results if r is not None]
                if not unknown and not retried and out.retryable and not out.timed_out:
                    retried = True
                    pending = unsent
                    continue  # reconnect once and send what the daemon never parsed
                cls = PubSubTimeout if out.timed_out else PubSubConnectionError
                raise cls(self._failure_message(out.failure, len(lines), unknown, unsent),
                          event_ids=[r if isinstance(r, int) else None for r in results],
                          rejected={i: r for i, r in enumerate(results) if isinstance(r, str)},
                          unknown_indexes=unknown, unsent_indexes=unsent)

    def _failure_message(self, failure: str, n: int, unknown: list[int],
                         unsent: list[int]) -> str:
        msg = f"pubsubd at {self.socket_path}: {failure}"
        if unknown:
            what = ("the event" if n == 1 else
                    f"{len(unknown)} of {n} events (unknown_indexes)")
            msg += (f"; {what} may or may not have been created: the reply was lost, and it "
                    f"was not re-sent to avoid a duplicate (check `pubsubctl events list`, or "
                    f"re-send if a duplicate is acceptable)")
        if unsent:
            what = "the event was" if n == 1 else f"{len(unsent)} events (unsent_indexes) were"
            msg += f"; {what} not received by the daemon and may be sent again"
        return msg

    def _exchange(self, lines: list[bytes]) -> _Outcome:
        """Write the lines while reading replies, until every line is answered or a failure.

        Writing and reading are interleaved (poll), so a batch larger than the socket buffers
        cannot deadlock against a daemon that pauses reading until its replies are read.
        """
        assert self._sock is not None
        sock = self._sock
        out = _Outcome()
        data = memoryview(b"".join(lines))
        # brace_ends[k]: bytes that must be sent before line k's closing brace has been sent.
        brace_ends = list(itertools.accumulate(len(line) for line in lines))
        brace_ends = [end - 1 for end in brace_ends]
        expect = len(lines)  # replies to wait for; fewer once sending has failed
        poller = select.poll()
        writing = True
        timeout_ms = None if self.timeout is None else max(1, int(self.timeout * 1000))
        poller.register(sock, select.POLLIN | select.POLLOUT)
        while len(out.replies) < expect:
            if writing and out.bytes_sent == len(data):
                writing = False
                poller.modify(sock, select.POLLIN)
            try:
                ready = poller.poll(timeout_ms)
            except InterruptedError:
                continue
            if not ready:
                out.timed_out = True
                out.failure = (f"no progress for {self.timeout} s "
                               f"({len(out.replies)} of {len(lines)} replies received)")
                return out
            events = ready[0][1]
            if writing and events & select.POLLOUT:
                try:
                    end = min(len(data), out.bytes_sent + _SEND_CHUNK)
                    out.bytes_sent += sock.send(data[out.bytes_sent:end], _MSG_NOSIGNAL)
                except (BlockingIOError, InterruptedError):
                    pass
                except OSError as e:
                    # The daemon stopped reading (closed, or draining for shutdown). Replies to
                    # lines it may have read can still be on their way: wait for those only.
                    writing = False
                    poller.modify(sock, select.POLLIN)
                    out.failure = f"the connection broke while sending ({e.strerror or e})"
                    expect = bisect.bisect_right(brace_ends, out.bytes_sent)
                    continue
            if events & (select.POLLIN | select.POLLHUP | select.POLLERR):
                try:
                    chunk = sock.recv(_RECV_CHUNK)
                except (BlockingIOError, InterruptedError):
                    continue
                except OSError as e:
                    out.failure = f"the connection broke while reading ({e.strerror or e})"
                    return out
                if not chunk:
                    if out.failure is None:
                        out.failure = ("the daemon closed the connection before replying "
                                       "(restarted, stopped, or refused an oversized line)")
                    return out
                self._rbuf += chunk
                while len(out.replies) < len(lines) and (nl := self._rbuf.find(b"\n")) >= 0:
                    raw = bytes(self._rbuf[:nl])
                    del self._rbuf[:nl + 1]
                    try:
                        out.replies.append(_parse_reply(raw))
                    except ValueError as e:
                        out.failure = f"unreadable reply {raw[:200]!r} ({e})"
                        out.retryable = False
                        return out
        if len(out.replies) == len(lines):
            # Every line is answered. Stray bytes left in _rbuf make the next call start on a
            # new connection.
            out.failure = None
        return out


# ---------------------------------------------------------------------------------------------
# Module-level convenience: one shared client per socket path


_default_lock = threading.Lock()
_default_clients: dict[str, PubSubClient] = {}


def _default_client(socket_path: str | os.PathLike[str] | None) -> PubSubClient:
    path = resolve_socket_path(socket_path)
    with _default_lock:
        client = _default_clients.get(path)
        if client is None:
            client = _default_clients[path] = PubSubClient(path)
        return client


def _reset_after_fork() -> None:
    global _default_lock, _default_clients
    _default_lock = threading.Lock()
    _default_clients = {}  # the parent's connections stay open for the parent


os.register_at_fork(after_in_child=_reset_after_fork)


def create_event(event_type: str, event_source: str = "",
                 event_data: Mapping[str, Any] | None = None, priority: int = 5,
                 ack: Ack = "durable", *,
                 socket_path: str | os.PathLike[str] | None = None) -> int:
    """Create one event through the shared client for the socket path; return its event_id.

    See PubSubClient.create_event. The shared client uses a 10 s timeout.
    """
    return _default_client(socket_path).create_event(event_type, event_source, event_data,
                                                     priority, ack)


def emit_many(events: Iterable[Mapping[str, Any]], ack: Ack = "durable", *,
              socket_path: str | os.PathLike[str] | None = None) -> list[int]:
    """Create many events, pipelined, through the shared client; see PubSubClient.emit_many."""
    return _default_client(socket_path).emit_many(events, ack)


# The asyncio flavour (pubsub_client/aio.py), imported last: it builds on the names above.
