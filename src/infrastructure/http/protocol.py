"""uvicorn's HTTP protocol with the two things it lacks for a server on a network:

- a read deadline: a request's headers and body must arrive within
  ``HTTP_READ_TIMEOUT_SECONDS`` of the connection (or of the request's first byte on a
  kept-alive one); otherwise the connection is dropped (a half-sent request line, a
  body shorter than its Content-Length, a client that connects and says nothing);
- an ``abort`` the application can call (``scope["extensions"][ABORT]``) to drop a
  connection at once (a reset), without waiting for the kernel to hand the client what
  is buffered: an SSE client that stopped reading never would take it.
"""

from __future__ import annotations

import asyncio
import socket
import struct
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

ABORT = "cml_fleet.abort"
"""The scope extension: a callable that drops the connection now."""
WRITER = "cml_fleet.body_writer"
"""The scope extension: a :class:`ConnectionWriter` for a streaming response."""


class DeadlineProtocol(HttpToolsProtocol):
    """Set :attr:`read_timeout` on a subclass (:func:`protocol_with`)."""

    read_timeout: float = 30.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._deadline: asyncio.TimerHandle | None = None
        self._writer: ConnectionWriter | None = None
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)
        if self._writer is not None:
            self._writer.end()

    def shutdown(self) -> None:
        """The server is stopping: a streaming response ends (cleanly) now."""
        super().shutdown()
        if self._writer is not None:
            self._writer.end()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._writer = ConnectionWriter(self)
        extensions: dict[str, Any] = {ABORT: self.drop, WRITER: self._writer}
        self.scope["extensions"] = extensions
        if self._deadline is None:  # the next request on a kept-alive connection
            self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _too_slow(self) -> None:
        """The request did not arrive whole in time: drop the connection (the
        application, if it was waiting for the body, hears a disconnect)."""
        self._deadline = None
        self.drop()

    def drop(self) -> None:
        """Close at once, discarding what the kernel still holds for the client: a
        reset (``SO_LINGER`` 0), not a close that keeps the connection and its buffered
        bytes alive in the kernel until a client that never reads takes them."""
        if self.transport.is_closing():
            return
        sock = self.transport.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.transport.abort()


class ConnectionWriter:
    """Writes a started streaming response's body straight to its connection: one
    ``transport.write`` of an HTTP/1.1 chunk, what uvicorn's ``send`` would write,
    without the coroutine, the ASGI message and the send wrappers around it. Only
    for the response of the request it was made for, once its headers are sent with
    chunked encoding (:meth:`usable`); the ASGI ``send`` still ends the response.
    """

    __slots__ = ("_ended", "_on_end", "_protocol", "_scope")

    def __init__(self, protocol: DeadlineProtocol) -> None:
        self._protocol = protocol
        self._scope = protocol.scope  # uvicorn's cycle for this request shares it
        self._ended = False
        self._on_end: list[Callable[[], object]] = []

    def usable(self) -> bool:
        cycle = self._protocol.cycle
        return (
            cycle is not None
            and cycle.scope is self._scope
            and cycle.response_started
            and not cycle.response_complete
            and not cycle.disconnected
            and cycle.chunked_encoding is True
        )

    def write(self, data: bytes) -> int | None:
        """Write ``data`` (never empty: an empty chunk ends the body); the bytes still
        held for the client, or ``None`` once the connection is gone."""
        transport = self._protocol.transport
        if self._ended or transport.is_closing():
            return None
        transport.write(b"%x\r\n%b\r\n" % (len(data), data))
        return int(transport.get_write_buffer_size())

    def held(self) -> int | None:
        transport = self._protocol.transport
        if self._ended or transport.is_closing():
            return None
        return int(transport.get_write_buffer_size())

    def on_end(self, callback: Callable[[], object]) -> None:
        """Call ``callback`` once the connection is lost or the server stops (at once
        if it already was)."""
        if self._ended:
            callback()
        else:
            self._on_end.append(callback)

    def end(self) -> None:
        self._ended = True
        callbacks, self._on_end = self._on_end, []
        for callback in callbacks:
            callback()


def protocol_with(read_timeout: float) -> type[Any]:
    return type("FleetHttpProtocol", (DeadlineProtocol,), {"read_timeout": read_timeout})
