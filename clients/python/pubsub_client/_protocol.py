"""The wire protocol shared by both clients: settings, validation, line encoding, replies."""

from __future__ import annotations

import datetime
import json
import os
import socket
from collections.abc import Mapping
from typing import Any, Final, Literal

Ack = Literal["durable", "queued"]

DEFAULT_SOCKET_PATH: Final[str] = "./.data/pubsub.sock"
DEFAULT_MAX_LINE_BYTES: Final[int] = 1 << 20  # pubsubd's default --max-line-bytes
_ACKS: Final[frozenset[str]] = frozenset({"durable", "queued"})
_EVENT_KEYS: Final[frozenset[str]] = frozenset(
    {"event_type", "event_source", "event_data", "priority"})
_SUN_PATH_MAX: Final[int] = 107  # sizeof(sockaddr_un.sun_path) - 1 on Linux
_SEND_CHUNK: Final[int] = 256 * 1024
_RECV_CHUNK: Final[int] = 256 * 1024
_MSG_NOSIGNAL: Final[int] = getattr(socket, "MSG_NOSIGNAL", 0)


# ---------------------------------------------------------------------------------------------
# Helpers


def resolve_socket_path(socket_path: str | os.PathLike[str] | None = None) -> str:
    """The absolute socket path: the argument, else $PUBSUB_SOCKET, else ./.data/pubsub.sock."""
    if socket_path is not None:
        path = os.fspath(socket_path)
    else:
        path = os.environ.get("PUBSUB_SOCKET") or DEFAULT_SOCKET_PATH
    if not path:
        raise ValueError("socket_path must not be empty")
    return os.path.abspath(path)


class _Settings:
    """The settings both clients take (PubSubClient, AsyncPubSubClient), checked."""

    def __init__(self, socket_path: str | os.PathLike[str] | None = None,
                 timeout: float | None = 10.0, *,
                 max_line_bytes: int = DEFAULT_MAX_LINE_BYTES) -> None:
        self.socket_path: str = _checked_settings(socket_path, timeout, max_line_bytes)
        self.timeout: float | None = timeout
        self.max_line_bytes: int = max_line_bytes
        self.reconnects: int = 0  # connections opened after the first (for tests and metrics)
        self._connected_once = False


def _checked_settings(socket_path: str | os.PathLike[str] | None, timeout: float | None,
                      max_line_bytes: int) -> str:
    """A client's settings checked (ValueError); returns the resolved socket path."""
    path = resolve_socket_path(socket_path)
    if len(os.fsencode(path)) > _SUN_PATH_MAX:
        raise ValueError(f"socket path is longer than {_SUN_PATH_MAX} bytes, which Unix "
                         f"sockets do not allow: {path}")
    if timeout is not None and timeout <= 0:
        raise ValueError(f"timeout must be positive or None, got {timeout!r}")
    if max_line_bytes <= 0:
        raise ValueError(f"max_line_bytes must be positive, got {max_line_bytes!r}")
    return path


def _validated(index: int | None, event_type: Any, event_source: Any, event_data: Any,
               priority: Any) -> dict[str, Any]:
    where = "" if index is None else f"events[{index}]: "
    if not isinstance(event_type, str) or not event_type:
        raise ValueError(f"{where}event_type must be a non-empty str, got {event_type!r}")
    if not isinstance(event_source, str):
        raise ValueError(f"{where}event_source must be a str, got {type(event_source).__name__}")
    if event_data is None:
        event_data = {}
    if not isinstance(event_data, Mapping):
        raise ValueError(f"{where}event_data must be a dict (JSON object) or None, got "
                         f"{type(event_data).__name__}")
    if isinstance(priority, bool) or not isinstance(priority, int) or not 1 <= priority <= 10:
        raise ValueError(f"{where}priority must be an int from 1 to 10 (10 is the most urgent), "
                         f"got {priority!r}")
    return {"event_type": event_type, "event_source": event_source,
            "event_data": dict(event_data), "priority": priority}


def _producer_fields(idempotency_key: Any, run_at: Any) -> dict[str, Any]:
    """SPEC 7.2's optional fields, checked: a key of 1 to 256 UTF-8 bytes, and run_at as a
    timezone-aware datetime or an RFC 3339 string with an offset (checked by the daemon)."""
    out: dict[str, Any] = {}
    if idempotency_key is not None:
        if not isinstance(idempotency_key, str) or not 1 <= len(
                idempotency_key.encode("utf-8", "surrogatepass")) <= 256:
            raise ValueError(f"idempotency_key must be a str of 1 to 256 UTF-8 bytes, got "
                             f"{idempotency_key!r:.80}")
        out["idempotency_key"] = idempotency_key
    if run_at is not None:
        if isinstance(run_at, datetime.datetime):
            if run_at.tzinfo is None or run_at.utcoffset() is None:
                raise ValueError("run_at must be a timezone-aware datetime (e.g. "
                                 "datetime.now(timezone.utc) + timedelta(minutes=10))")
            out["run_at"] = run_at.isoformat()
        elif isinstance(run_at, str) and run_at:
            out["run_at"] = run_at
        else:
            raise ValueError(f"run_at must be a timezone-aware datetime or an RFC 3339 str, got "
                             f"{type(run_at).__name__}")
    return out


def _check_ack(ack: Any) -> None:
    if ack not in _ACKS:
        raise ValueError(f'ack must be "durable" or "queued", got {ack!r}')


def _encode(fields: dict[str, Any], ack: str, index: int | None, max_line_bytes: int) -> bytes:
    where = "" if index is None else f"events[{index}]: "
    try:
        text = json.dumps({**fields, "ack": ack}, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as e:
        raise ValueError(f"{where}event_data is not JSON-serializable: {e}") from e
    line = text.encode("ascii")  # ensure_ascii (the default) escapes everything else
    if len(line) > max_line_bytes:
        raise ValueError(f"{where}the event is {len(line)} bytes of JSON, over the "
                         f"{max_line_bytes}-byte line limit (pubsubd --max-line-bytes; raise "
                         f"max_line_bytes if the daemon's limit is higher)")
    return line + b"\n"


def _parse_reply(raw: bytes) -> int | str:
    """An event id (ok reply) or the daemon's error message; ValueError if not a reply."""
    reply = json.loads(raw)
    if not isinstance(reply, dict) or not isinstance(reply.get("ok"), bool):
        raise ValueError("not an object with a boolean 'ok'")
    if reply["ok"]:
        event_id = reply.get("event_id")
        if isinstance(event_id, bool) or not isinstance(event_id, int):
            raise ValueError("ok reply without an integer event_id")
        return event_id
    error = reply.get("error")
    return error if isinstance(error, str) else repr(error)
