"""Python client for pubsubd's Unix socket door (standard library only, Python 3.11+).

pubsubd takes newline-delimited JSON on a Unix socket: one event per line, one reply line per
request line, in order (``{"ok":true,"event_id":N}`` or ``{"ok":false,"error":"..."}``). This
module wraps that protocol with a persistent connection, client-side validation, pipelining and
clear exceptions.

Example (with ``tools/run.sh`` running, or ``PUBSUB_SOCKET`` pointing at a daemon's socket)::

    import pubsub_client

    # One call, shared connection, waits until the event's row is committed (ack="durable").
    event_id = pubsub_client.create_event(
        "import_complete", "generic_import:42",
        {"config_name": "sales_eu_daily", "records_loaded": 1200}, priority=5)

    # Many events: all lines are sent before the replies are read (pipelined).
    with pubsub_client.PubSubClient() as client:
        ids = client.emit_many(
            [{"event_type": "email_received", "event_data": {"message_id": n}}
             for n in range(1000)],
            ack="queued")

    # Errors
    try:
        pubsub_client.create_event("report_sent", event_data={"report_id": 7})
    except pubsub_client.PubSubUnavailable as e:      # no daemon at the socket path
        print(e)
    except pubsub_client.PubSubRejected as e:         # the daemon refused the event
        print(e.message)

Socket path: the ``socket_path`` argument, else ``$PUBSUB_SOCKET``, else ``./.data/pubsub.sock``
(made absolute when the client is created, so a later ``chdir`` does not move it).

Acknowledgements: ``ack="durable"`` (the default) replies after the event's row is committed to
PostgreSQL; ``ack="queued"`` replies as soon as the daemon holds the event in memory (faster; an
event acknowledged this way can be lost if the daemon is killed before it is written).

Reconnection and duplicates: a client keeps one connection open across calls. Before each call
it checks, without blocking, that the daemon has not closed the connection (say it restarted
while the client was idle) and reconnects if it has. If the connection fails *during* a call,
a line is re-sent on a new connection (once per call) only when it is certain the daemon never
parsed it: the connection broke before the line's closing ``}`` was handed to the kernel, and a
truncated JSON object is always refused. A line that was fully sent but whose reply never came
is *not* re-sent, because the daemon may have recorded it (its reply was lost): re-sending
could create a duplicate event. Such a call raises :class:`PubSubConnectionError`, whose
``unknown_indexes`` lists those lines; decide yourself whether to re-send them (handlers get the
event id, so a duplicate can also be detected downstream). The same rule holds for both ack
modes.

Thread-safety: a :class:`PubSubClient` may be shared by threads; each call holds the client's
lock for its whole exchange, so calls on one client run one at a time (use one client per
thread for parallel emitting). The module-level functions share one client per socket path.
After ``os.fork()`` a client opens a new connection in the child on its next call (the parent's
connection is left alone); module-level clients are reset in the child.
"""


from __future__ import annotations

__all__ = [
    "AsyncPubSubClient",
    "DEFAULT_SOCKET_PATH",
    "PubSubBatchRejected",
    "PubSubClient",
    "PubSubConnectionError",
    "PubSubError",
    "PubSubRejected",
    "PubSubTimeout",
    "PubSubUnavailable",
    "create_event",
    "emit_many",
    "resolve_socket_path",
    "serve",
]

from ._protocol import (DEFAULT_MAX_LINE_BYTES, DEFAULT_SOCKET_PATH, Ack, _check_ack, _encode,
                        _parse_reply, _Settings, _validated, resolve_socket_path)
from .client import PubSubClient, create_event, emit_many
from .errors import (PubSubBatchRejected, PubSubConnectionError, PubSubError, PubSubRejected,
                     PubSubTimeout, PubSubUnavailable)

# The worker side of persistent handlers (SPEC 7.3).
from .worker import serve  # noqa: E402

# The asyncio flavour (pubsub_client/aio.py), imported last: it builds on the names above.
from .aio import AsyncPubSubClient  # noqa: E402
