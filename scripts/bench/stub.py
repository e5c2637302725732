"""A stub HTTP server answering `{}` at once: against it the load generator shows its own
ceiling (scripts/bench, scenario `generator`)."""

import asyncio
import contextlib
import multiprocessing
import socket
import time
from collections.abc import Iterator

from .load import use_fast_event_loop

STUB_RESPONSE = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n{}"


async def serve_stub(port: int) -> None:
    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lowered = head.lower()
                marker = lowered.find(b"content-length:")
                if marker >= 0:
                    length = int(lowered[marker + 15 : lowered.index(b"\r\n", marker)])
                    await reader.readexactly(length)
                writer.write(STUB_RESPONSE)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", port, backlog=1024)
    async with server:
        await server.serve_forever()


def stub_process(port: int) -> None:
    use_fast_event_loop()
    asyncio.run(serve_stub(port))


@contextlib.contextmanager
def stub_server(port: int) -> Iterator[int]:
    """A stub HTTP server in its own process for as long as the block runs."""
    process = multiprocessing.get_context("spawn").Process(
        target=stub_process, args=(port,), daemon=True
    )
    process.start()
    try:
        wait_for_port(port, timeout_seconds=10)
        yield process.pid
    finally:
        process.terminate()
        process.join(timeout=5)


def wait_for_port(port: int, *, timeout_seconds: float) -> None:
    deadline = time.monotonic() + timeout_seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)
