"""A TCP front for a PostgreSQL server that a test cuts off (listener closed, live connections
aborted), freezes (a network partition) and restores: how the tests stop "the database" for an
app without stopping the server every other test uses."""

import asyncio
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

PROXY_HOST = "127.0.0.1"
CHUNK_BYTES = 65_536
SETTLE_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class ServerAddress:
    """Where the PostgreSQL server behind a DSN listens: a Unix socket directory or a host."""

    host: str
    port: int

    @classmethod
    def of(cls, dsn: str) -> "ServerAddress":
        parts = urlsplit(dsn)
        query = dict(parse_qsl(parts.query))
        host = query.get("host") or parts.hostname or "localhost"
        port = int(query.get("port") or parts.port or 5432)
        return cls(host=host, port=port)

    async def open_connection(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.host.startswith("/"):
            return await asyncio.open_unix_connection(f"{self.host}/.s.PGSQL.{self.port}")
        return await asyncio.open_connection(self.host, self.port)


@dataclass(frozen=True)
class CutPoint:
    """Cut everything when the app sends `marker`; `forward_first` lets that chunk through."""

    marker: bytes
    forward_first: bool


class PostgresProxy:
    """A TCP front for a PostgreSQL server that a test can cut off and bring back.

    cut() closes the listener and aborts every forwarded connection, so the app sees both a
    refused connect and a connection lost mid-conversation; restore() listens on the same port.
    freeze() is the other kind of outage, a network partition: connections stay open but no
    byte gets through until thaw().
    """

    def __init__(self, upstream: ServerAddress) -> None:
        self._upstream = upstream
        self._listener: asyncio.Server | None = None
        self._port = 0
        self._links: set[asyncio.Task[Any]] = set()
        self._transports: set[asyncio.BaseTransport] = set()
        self._cut_point: CutPoint | None = None
        self._flowing = asyncio.Event()
        self._flowing.set()
        self.cut_in_flight = asyncio.Event()
        self._pause_marker: bytes | None = None
        self.paused = asyncio.Event()
        self._resumed = asyncio.Event()

    @property
    def port(self) -> int:
        return self._port

    def url_for(self, dsn: str) -> str:
        """The DSN's user and database, reached through this proxy over TCP."""
        parts = urlsplit(dsn)
        credentials = parts.username or "postgres"
        if parts.password:
            credentials += f":{parts.password}"
        query = urlencode(
            [(key, value) for key, value in parse_qsl(parts.query) if key not in ("host", "port")]
        )
        return urlunsplit(
            ("postgresql", f"{credentials}@{PROXY_HOST}:{self._port}", parts.path, query, "")
        )

    async def listen(self) -> None:
        self._listener = await asyncio.start_server(self._link, PROXY_HOST, self._port)
        self._port = self._listener.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        self._sever()
        await self._settle()

    async def restore(self) -> None:
        await self.listen()

    def freeze(self) -> None:
        self._flowing.clear()

    def thaw(self) -> None:
        self._flowing.set()

    def cut_when_sent(self, marker: bytes, *, forward_first: bool) -> None:
        """Arm a cut in the middle of the app's next conversation that sends `marker`."""
        self.cut_in_flight.clear()
        self._cut_point = CutPoint(marker=marker, forward_first=forward_first)

    def pause_when_sent(self, marker: bytes) -> None:
        """Hold back the app's next message holding `marker` (`paused` is set then) until
        resume(): the test acts in between, as another client would."""
        self._pause_marker = marker
        self.paused.clear()
        self._resumed.clear()

    def resume(self) -> None:
        self._resumed.set()

    async def close(self) -> None:
        self.thaw()
        self.resume()
        await self.cut()
        assert not self._links, "proxy links still running"

    def _sever(self) -> None:
        if self._listener is not None:
            self._listener.close()
            self._listener = None
        for transport in self._transports:
            transport.abort()
        self._transports.clear()

    async def _settle(self) -> None:
        links = list(self._links)
        for link in links:
            link.cancel()
        async with asyncio.timeout(SETTLE_TIMEOUT_SECONDS):
            await asyncio.gather(*links, return_exceptions=True)

    async def _link(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        link = asyncio.current_task()
        assert link is not None
        self._links.add(link)
        self._transports.add(client_writer.transport)
        try:
            try:
                server_reader, server_writer = await self._upstream.open_connection()
            except OSError:
                client_writer.transport.abort()
                return
            self._transports.add(server_writer.transport)
            await asyncio.gather(
                self._pipe(client_reader, server_writer, from_app=True),
                self._pipe(server_reader, client_writer, from_app=False),
            )
        finally:
            self._links.discard(link)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, from_app: bool
    ) -> None:
        try:
            while chunk := await reader.read(CHUNK_BYTES):
                if from_app and self._pause_marker is not None and self._pause_marker in chunk:
                    self._pause_marker = None
                    self.paused.set()
                    await self._resumed.wait()
                cut_point = self._cut_point if from_app else None
                if cut_point is not None and cut_point.marker in chunk:
                    self._cut_point = None
                    if cut_point.forward_first:
                        writer.write(chunk)
                    self._sever()
                    self.cut_in_flight.set()
                    return
                await self._flowing.wait()
                writer.write(chunk)
                await writer.drain()
        except ConnectionError:
            return  # one side was cut or went away; closing the other ends the link
        finally:
            writer.close()
