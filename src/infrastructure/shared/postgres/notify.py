"""LISTEN/NOTIFY: a thread that hears what other processes write, the moment they commit.

eventsourcing's PostgreSQL recorder sends ``NOTIFY <events table>`` in the transaction
that inserts events, so PostgreSQL delivers it once they are committed. The listener
passes each notification's payload to the handler of its channel: for the event log,
``FleetEventStore.wake``, which wakes every follower (read model, reactor) waiting for
an append; they then read the log from their own position, so coalesced, duplicate or
lost notifications never lose an event (followers still poll slowly as a safety net).
A dropped connection is replaced with back-off, and every handler is called once
after each (re)connection, because notifications sent meanwhile were lost.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

import psycopg
from psycopg import sql

log = logging.getLogger(__name__)

Handler = Callable[[str], object]
POLL_SECONDS = 0.5  # how often the thread looks at its stop flag while idle
MIN_BACKOFF_SECONDS = 0.2
MAX_BACKOFF_SECONDS = 5.0
RECONNECTED = ""  # the payload handlers get after a (re)connection


class Listener:
    """Calls ``handlers[channel](payload)`` for each notification, from its own thread."""

    def __init__(self, dsn: str, kwargs: Mapping[str, Any], handlers: Mapping[str, Handler]):
        self._dsn = dsn
        self._kwargs = {**kwargs, "autocommit": True}
        self._handlers = dict(handlers)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.connected = threading.Event()
        self.received = 0

    def start(self) -> None:
        """Start listening in a thread (connecting there: never on the caller's loop).

        Until LISTEN is in place, followers still poll; once it is, every handler is
        called, so nothing sent in between is missed.
        """
        if self._thread is not None:
            return
        self._stopping = threading.Event()
        self._thread = threading.Thread(
            target=self._run, args=(self._stopping,), name="pg-listener", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; the thread ends within ``POLL_SECONDS`` (it owns no shared state)."""
        self._stopping.set()
        self._thread = None

    def _run(self, stopping: threading.Event) -> None:
        backoff = MIN_BACKOFF_SECONDS
        while not stopping.is_set():
            try:
                self._listen(stopping)
                return
            except psycopg.Error as error:
                self.connected.clear()
                log.warning(
                    "LISTEN connection lost (%s); reconnecting in %.1f s",
                    type(error).__name__,
                    backoff,
                )
            stopping.wait(backoff)
            backoff = min(backoff * 2, MAX_BACKOFF_SECONDS)

    def _listen(self, stopping: threading.Event) -> None:
        with psycopg.connect(self._dsn, **self._kwargs) as conn:
            for channel in self._handlers:
                conn.execute(sql.SQL("LISTEN {}").format(sql.Identifier(channel)))
            self.connected.set()
            for channel in self._handlers:
                self._dispatch(channel, RECONNECTED)  # whatever was sent before LISTEN
            while not stopping.is_set():
                for note in conn.notifies(timeout=POLL_SECONDS):
                    self.received += 1
                    self._dispatch(note.channel, note.payload)

    def _dispatch(self, channel: str, payload: str) -> None:
        handler = self._handlers.get(channel)
        if handler is None:
            return
        try:
            handler(payload)
        except Exception:  # a broken handler must not end the listening
            log.exception("handler of channel %s failed", channel)
