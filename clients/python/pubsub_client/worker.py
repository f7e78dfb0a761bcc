"""The worker side of pubsubd's persistent handlers (SPEC 7.3), standard library only.

A subscriber with ``run_mode`` ``persistent`` keeps its program running and hands it one
delivery per line on stdin; the program answers one line per delivery on stdout. ``serve`` does
all of that: write a handler and call it.

Example (``/srv/pubsub/scripts/load_sales.py``, in a ``--scripts-dir``)::

    #!/usr/bin/env python3
    import pubsub_client

    def handle(event, delivery):
        # event: the JSON object a process handler reads on stdin (event_id, event_type,
        # event_source, event_data, priority, attempt, subscriber); delivery: id, event_id,
        # subscriber, attempt, config_id. Return for success; raise for failure.
        print("loading", event["event_data"]["path"])   # goes to stderr, hence the log
        if event["event_data"].get("size", 0) == 0:
            raise ValueError("empty file")

    pubsub_client.serve(handle, concurrency=4)

and the subscriber that runs it on two processes::

    pubsubctl subscribers add --name load-sales --event-type file_received \\
        --job-type custom --script load_sales.py --mode persistent --workers 2

The handler runs on ``concurrency`` threads, so pubsubd keeps up to that many deliveries in
flight on this process. Returning is success; raising is failure, with the exception's text as
the error (the delivery is retried by the subscriber's policy, with a higher attempt). The
protocol keeps the real stdout to itself: ``sys.stdout`` and file descriptor 1 are pointed at
stderr before the handler first runs, so ``print()`` and child processes cannot corrupt it.
``serve`` returns when pubsubd closes stdin (it is stopping), after the deliveries in flight
are answered.
"""

from __future__ import annotations

import json
import os
import queue
import sys
import threading
from typing import Any, Callable

__all__ = ["serve", "PROTOCOL"]

PROTOCOL = "ndjson-1"

Handler = Callable[[dict, dict], Any]


class _Answers:
    """The private protocol pipe: one whole line per write, under a lock."""

    def __init__(self, fd: int) -> None:
        self._out = os.fdopen(fd, "wb", buffering=0)
        self._lock = threading.Lock()

    def send(self, obj: dict) -> None:
        data = (json.dumps(obj, separators=(",", ":"), ensure_ascii=False) + "\n").encode()
        with self._lock:
            view = memoryview(data)
            while view:
                view = view[self._out.write(view):]


def _private_stdout() -> _Answers:
    """Keeps the real stdout for the protocol and points fd 1 and sys.stdout at stderr."""
    sys.stdout.flush()
    real = os.dup(1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return _Answers(real)


def _error_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _run_one(handler: Handler, answers: _Answers, line: bytes) -> None:
    try:
        msg = json.loads(line)
        delivery = msg["delivery"]
        ident = delivery["id"]
    except (ValueError, KeyError, TypeError) as exc:
        print(f"pubsub_client.serve: ignoring a line that is not a delivery: {exc}",
              file=sys.stderr)
        return
    try:
        handler(msg.get("event", {}), delivery)
    except Exception as exc:  # noqa: BLE001 - any failure of the handler fails the delivery
        answers.send({"id": ident, "ok": False, "error": _error_text(exc)})
        return
    answers.send({"id": ident, "ok": True})


def serve(handler: Handler, concurrency: int = 1) -> None:
    """Serves deliveries from pubsubd until stdin closes (see the module's docstring)."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    answers = _private_stdout()
    answers.send({"hello": PROTOCOL, "concurrency": concurrency})
    if concurrency == 1:
        # One at a time: run it on this thread, sparing a thread switch per delivery.
        for line in sys.stdin.buffer:
            if line.strip():
                _run_one(handler, answers, line)
        return
    work: queue.Queue[bytes | None] = queue.Queue()

    def worker() -> None:
        while (line := work.get()) is not None:
            _run_one(handler, answers, line)

    threads = [threading.Thread(target=worker, name=f"pubsub-worker-{i}", daemon=True)
               for i in range(concurrency)]
    for t in threads:
        t.start()
    for line in sys.stdin.buffer:
        if line.strip():
            work.put(line)
    for _ in threads:
        work.put(None)
    for t in threads:
        t.join()
