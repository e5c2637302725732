"""Reading Server-Sent Events as a browser does: fields gathered until a blank line."""

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class Message:
    event: str
    data: Any
    id: str | None


async def messages(response: httpx.Response) -> AsyncIterator[Message]:
    """The response's messages (comments and retry lines skipped)."""
    event, data, event_id = "message", [], None
    async for line in response.aiter_lines():
        if line == "":
            if data:
                yield Message(event, json.loads("\n".join(data)), event_id)
            event, data, event_id = "message", [], None
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
        elif name == "id":
            event_id = value


async def until(stream: AsyncIterator[Message], wanted: Any, *, count: int = 1) -> list[Message]:
    """The stream's messages up to the `count`th for which `wanted(message)` holds."""
    seen: list[Message] = []
    matched = 0
    async for message in stream:
        seen.append(message)
        if wanted(message):
            matched += 1
            if matched == count:
                return seen
    raise AssertionError(f"the stream ended after {len(seen)} messages")
