"""asyncio flavour of the pubsubd client: :class:`AsyncPubSubClient`.

Same protocol, validation, errors and defaults as :class:`pubsub_client.PubSubClient`::

    from pubsub_client import AsyncPubSubClient, PubSubRejected

    async with AsyncPubSubClient() as client:
        event_id = await client.create_event("import_complete", "generic_import:42",
                                             {"records_loaded": 1200})
        ids = await client.emit_many([{"event_type": "email_received"}] * 100, ack="queued")

Reconnection and duplicates: the connection is kept across calls, and replaced before a call
when the daemon has closed it. A call that fails before anything was written (no daemon:
:class:`PubSubUnavailable`) is safe to repeat. Once lines were handed to the event loop, asyncio
does not say how many bytes reached the kernel, so a connection failure during a call is never
retried: the unanswered lines are in ``unknown_indexes`` of the :class:`PubSubConnectionError`
(the blocking client can re-send lines it knows were never parsed; this one is stricter).

Concurrency: calls on one client run one at a time (an ``asyncio.Lock``); use one client per
task for parallel emitting. A client belongs to the event loop it was first used on.
"""

from __future__ import annotations

import asyncio
import datetime
import os
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ._protocol import (DEFAULT_MAX_LINE_BYTES, Ack, _check_ack, _encode, _parse_reply,
                        _producer_fields, _Settings, _validated)
from .client import PubSubClient
from .errors import PubSubConnectionError, PubSubRejected, PubSubTimeout, PubSubUnavailable

__all__ = ["AsyncPubSubClient"]


class AsyncPubSubClient(_Settings):
    """A connection to one pubsubd socket for asyncio code, opened lazily, kept across calls.

    ``timeout`` (seconds, None for no limit) bounds connecting and every wait for the daemon to
    make progress (drain the written lines, send the next reply); ``max_line_bytes`` is checked
    before sending. See :class:`pubsub_client.PubSubClient` for both.
    """

    def __init__(self, socket_path: str | os.PathLike[str] | None = None,
                 timeout: float | None = 10.0, *,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        super().__init__(socket_path, timeout, max_line_bytes=max_line_bytes)
        self._lock: asyncio.Lock | None = None  # made on first use, in the caller's loop
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    # -- public API ---------------------------------------------------------------------------

    async def create_event(self, event_type: str, event_source: str = "",
                           event_data: Mapping[str, Any] | None = None, priority: int = 5,
                           ack: Ack = "durable", *, idempotency_key: str | None = None,
                           run_at: datetime.datetime | str | None = None) -> int:
        """Create one event and return its event_id (errors and the keyword arguments as
        PubSubClient.create_event)."""
        _check_ack(ack)
        fields = _validated(None, event_type, event_source, event_data, priority)
        fields.update(_producer_fields(idempotency_key, run_at))
        result = await self._call([_encode(fields, ack, None, self.max_line_bytes)])
        if isinstance(result[0], str):
            raise PubSubRejected(result[0], 0)
        return result[0]

    async def emit_many(self, events: Iterable[Mapping[str, Any]],
                        ack: Ack = "durable") -> list[int]:
        """Create many events, pipelined; return their ids (errors as PubSubClient.emit_many)."""
        _check_ack(ack)
        lines: list[bytes] = []
        for i, ev in enumerate(events):
            if not isinstance(ev, Mapping):
                raise ValueError(f"events[{i}] must be a dict, got {type(ev).__name__}")
            fields = _validated(i, ev.get("event_type"), ev.get("event_source", ""),
                                ev.get("event_data"), ev.get("priority", 5))
            if set(ev) - set(fields):
                raise ValueError(f"events[{i}] has unknown keys {sorted(set(ev) - set(fields))} "
                                 f"(expected event_type, event_source, event_data, priority)")
            lines.append(_encode(fields, ack, i, self.max_line_bytes))
        return PubSubClient._ids_or_raise(await self._call(lines))

    async def close(self) -> None:
        """Close the connection. The client stays usable: the next call reconnects."""
        await self._drop()

    async def __aenter__(self) -> AsyncPubSubClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    def __repr__(self) -> str:
        state = "connected" if self._writer is not None else "not connected"
        return f"AsyncPubSubClient({self.socket_path!r}, {state})"

    # -- private ------------------------------------------------------------------------------

    async def _drop(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def _connect(self) -> None:
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_unix_connection(self.socket_path, limit=self.max_line_bytes),
                self.timeout)
        except FileNotFoundError:
            raise PubSubUnavailable(self.socket_path, "the socket file does not exist") from None
        except ConnectionRefusedError:
            raise PubSubUnavailable(self.socket_path,
                                    "connection refused: the socket file exists but no daemon "
                                    "is listening (stopped, or still starting)") from None
        except PermissionError:
            raise PubSubUnavailable(self.socket_path,
                                    "permission denied: this user may not use the socket "
                                    "(pubsubd --socket-mode, group membership)") from None
        except TimeoutError:
            raise PubSubUnavailable(self.socket_path,
                                    f"connecting timed out after {self.timeout} s: the daemon "
                                    "is not accepting connections") from None
        except OSError as e:
            raise PubSubUnavailable(self.socket_path, e.strerror or str(e)) from None
        if self._connected_once:
            self.reconnects += 1
        self._connected_once = True

    def _stale(self) -> bool:
        """The daemon closed the connection while we were idle (EOF seen by the loop)."""
        assert self._reader is not None and self._writer is not None
        return self._reader.at_eof() or self._writer.is_closing()

    async def _call(self, lines: Sequence[bytes]) -> list[int | str]:
        if not lines:
            return []
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            if self._writer is not None and self._stale():
                await self._drop()
            if self._writer is None:
                try:
                    await self._connect()
                except PubSubUnavailable as e:
                    e.unsent_indexes = list(range(len(lines)))
                    e.event_ids = [None] * len(lines)
                    raise
            replies: list[int | str] = []
            try:
                await self._exchange(lines, replies)
            except PubSubConnectionError:
                await self._drop()
                raise
            except (OSError, EOFError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                    ValueError) as e:
                await self._drop()
                raise self._failed(f"the connection failed ({e})", lines, replies,
                                   PubSubConnectionError) from e
            if any(isinstance(r, str) and r.endswith("closing the connection") for r in replies):
                await self._drop()  # the daemon refused an oversized line and hangs up
            return replies

    async def _exchange(self, lines: Sequence[bytes], replies: list[int | str]) -> None:
        """Writes every line while reading replies, so a large batch cannot deadlock."""
        assert self._reader is not None and self._writer is not None
        reader, writer = self._reader, self._writer

        async def send() -> None:
            for line in lines:
                writer.write(line)
                await writer.drain()  # waits while the daemon reads slower than we write

        sender = asyncio.ensure_future(send())
        try:
            while len(replies) < len(lines):
                read = asyncio.ensure_future(reader.readline())
                done, _ = await asyncio.wait({read, sender} if not sender.done() else {read},
                                             timeout=self.timeout,
                                             return_when=asyncio.FIRST_COMPLETED)
                if sender in done and sender.exception() is not None and read not in done:
                    read.cancel()
                    raise self._failed(f"the connection broke while sending "
                                       f"({sender.exception()})", lines, replies,
                                       PubSubConnectionError)
                if read not in done:
                    if sender in done:
                        done, _ = await asyncio.wait({read}, timeout=self.timeout)
                    if read not in done:
                        read.cancel()
                        raise self._failed(f"no progress for {self.timeout} s "
                                           f"({len(replies)} of {len(lines)} replies received)",
                                           lines, replies, PubSubTimeout)
                raw = read.result()
                if not raw.endswith(b"\n"):
                    raise self._failed("the daemon closed the connection before replying "
                                       "(restarted, stopped, or refused an oversized line)",
                                       lines, replies, PubSubConnectionError)
                try:
                    replies.append(_parse_reply(raw[:-1]))
                except ValueError as e:
                    raise self._failed(f"unreadable reply {raw[:200]!r} ({e})", lines, replies,
                                       PubSubConnectionError) from None
        finally:
            if not sender.done():
                sender.cancel()
            try:
                await sender
            except (asyncio.CancelledError, OSError):
                pass

    def _failed(self, why: str, lines: Sequence[bytes], replies: list[int | str],
                cls: type[PubSubConnectionError]) -> PubSubConnectionError:
        n = len(lines)
        unknown = list(range(len(replies), n))
        what = "the event" if n == 1 else f"{len(unknown)} of {n} events (unknown_indexes)"
        return cls(f"pubsubd at {self.socket_path}: {why}; {what} may or may not have been "
                   f"created: not re-sent to avoid a duplicate",
                   event_ids=[r if isinstance(r, int) else None for r in replies] +
                   [None] * (n - len(replies)),
                   rejected={i: r for i, r in enumerate(replies) if isinstance(r, str)},
                   unknown_indexes=unknown, unsent_indexes=[])
