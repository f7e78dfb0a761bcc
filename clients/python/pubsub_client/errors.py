"""The exceptions of pubsub_client (re-exported by the package)."""

from __future__ import annotations

from typing import Any

# ---------------------------------------------------------------------------------------------
# Exceptions


class PubSubError(Exception):
    """Base class of every error raised by this module (argument errors are ValueError)."""


class PubSubRejected(PubSubError):
    """The daemon answered ``{"ok":false}``: the event was not created.

    ``message`` is the daemon's error text; ``index`` is the position of the refused event in
    the call (0 for ``create_event``).
    """

    def __init__(self, message: str, index: int = 0) -> None:
        super().__init__(f"pubsubd refused the event: {message}")
        self.message: str = message
        self.index: int = index


class PubSubBatchRejected(PubSubRejected):
    """``emit_many``: the daemon refused some events and accepted the others.

    ``event_ids[i]`` is the id of event ``i`` or None when it was refused; ``errors`` maps the
    index of each refused event to the daemon's message; ``failed_indexes`` lists them in order.
    The accepted events *were* created: do not re-send them.
    """

    def __init__(self, event_ids: list[int | None], errors: dict[int, str]) -> None:
        failed = sorted(errors)
        shown = "; ".join(f"#{i}: {errors[i]}" for i in failed[:5])
        more = "" if len(failed) <= 5 else f"; ... ({len(failed) - 5} more)"
        listed = ", ".join(map(str, failed[:20])) + (", ..." if len(failed) > 20 else "")
        PubSubError.__init__(self, f"pubsubd refused {len(failed)} of {len(event_ids)} events "
                                   f"(indexes {listed}): {shown}{more}")
        self.message = errors[failed[0]]
        self.index = failed[0]
        self.event_ids: list[int | None] = event_ids
        self.errors: dict[int, str] = errors
        self.failed_indexes: list[int] = failed


class PubSubConnectionError(PubSubError):
    """The connection failed, or the daemon broke the protocol, during a call.

    For a call of n lines: ``event_ids[i]`` is the id of line ``i`` when its reply arrived
    (None otherwise); ``rejected`` maps indexes the daemon refused to its message;
    ``unknown_indexes`` are lines that were fully sent but got no reply (the daemon may or may
    not have created them: they were not re-sent, see the module docstring);
    ``unsent_indexes`` are lines the daemon never parsed (safe to send again).
    """

    def __init__(self, message: str, *, event_ids: list[int | None] | None = None,
                 rejected: dict[int, str] | None = None,
                 unknown_indexes: list[int] | None = None,
                 unsent_indexes: list[int] | None = None) -> None:
        super().__init__(message)
        self.event_ids: list[int | None] = event_ids if event_ids is not None else []
        self.rejected: dict[int, str] = rejected if rejected is not None else {}
        self.unknown_indexes: list[int] = unknown_indexes if unknown_indexes is not None else []
        self.unsent_indexes: list[int] = unsent_indexes if unsent_indexes is not None else []


class PubSubTimeout(PubSubConnectionError):
    """The daemon made no progress (accepted no bytes, sent no reply) for ``timeout`` seconds.

    The connection is closed; lines awaiting a reply are in ``unknown_indexes``.
    """


class PubSubUnavailable(PubSubConnectionError):
    """No daemon accepts connections at the socket path (``socket_path``).

    Nothing in doubt: no line of the failed call reached a daemon without being answered, so
    ``unknown_indexes`` is empty and the lines in ``unsent_indexes`` may be sent again later.
    """

    def __init__(self, socket_path: str, reason: str, **kwargs: Any) -> None:
        hint = ("start it (tools/run.sh, or build/bin/pubsubd --socket PATH), or point "
                "PUBSUB_SOCKET / socket_path at the socket of a running pubsubd")
        super().__init__(f"no pubsubd at {socket_path} ({reason}): {hint}", **kwargs)
        self.socket_path: str = socket_path
