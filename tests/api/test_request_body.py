"""Request bodies through the real app: size on the wire and after gzip, content encodings,
and JSON that cannot be parsed or has the wrong shape. Each limit at its edge and one past it."""

import gzip
import json
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import AppFactory
from tests.helpers import (
    BATCH,
    EVENT,
    START,
    count_events,
    distinct_events,
    event,
    start_session,
)

JSON_CONTENT = {"content-type": "application/json"}
GZIP_JSON_CONTENT = {"content-type": "application/json", "content-encoding": "gzip"}
DEFAULT_MAX_BODY_BYTES = 1_048_576


def padded_to(document: dict[str, Any], size: int) -> bytes:
    """The document as JSON, followed by spaces (still valid JSON) up to exactly `size` bytes."""
    text = json.dumps(document, separators=(",", ":")).encode()
    assert len(text) <= size, f"document is already {len(text)} bytes"
    return text + b" " * (size - len(text))


async def in_chunks(body: bytes, chunk_size: int = 1000) -> AsyncIterator[bytes]:
    """A streamed body: httpx sends it chunked, without a Content-Length."""
    for start in range(0, len(body), chunk_size):
        yield body[start : start + chunk_size]


# --- body size on the wire and after decompression --------------------------------------------


async def post_batch_of_size(
    client: httpx.AsyncClient, size: int, *, encoding: str
) -> tuple[str, httpx.Response]:
    """A valid one-event batch padded to exactly `size` bytes of JSON, sent as `encoding`:
    "identity", "chunked" (streamed without Content-Length) or "gzip"."""
    session_id = await start_session(client)
    body = padded_to({"session_id": session_id, "events": [event()]}, size)
    if encoding == "gzip":
        response = await client.post(BATCH, content=gzip.compress(body), headers=GZIP_JSON_CONTENT)
    elif encoding == "chunked":
        request = client.build_request(
            "POST", BATCH, content=in_chunks(body, chunk_size=65_536), headers=JSON_CONTENT
        )
        assert "content-length" not in request.headers
        assert request.headers["transfer-encoding"] == "chunked"
        response = await client.send(request)
    else:
        response = await client.post(BATCH, content=body, headers=JSON_CONTENT)
    return session_id, response


WIRE_LIMIT = "Request body exceeds the limit of {limit} bytes"
DECOMPRESSED_LIMIT = "Decompressed request body exceeds the limit of {limit} bytes"
SIZE_EDGES = [
    pytest.param("MAX_BODY_BYTES", "identity", WIRE_LIMIT, id="wire"),
    pytest.param("MAX_BODY_BYTES", "chunked", WIRE_LIMIT, id="wire-chunked"),
    pytest.param("MAX_DECOMPRESSED_BODY_BYTES", "gzip", DECOMPRESSED_LIMIT, id="decompressed"),
]


@pytest.mark.parametrize(("setting", "encoding", "message"), SIZE_EDGES)
async def test_body_of_exactly_the_configured_limit_is_accepted(
    app_with: AppFactory, db: asyncpg.Connection, setting: str, encoding: str, message: str
) -> None:
    async with app_with(**{setting: 2048}) as client:
        session_id, response = await post_batch_of_size(client, 2048, encoding=encoding)

    assert response.status_code == 202, response.text
    assert await count_events(db, session_id) == 1


@pytest.mark.parametrize(("setting", "encoding", "message"), SIZE_EDGES)
async def test_body_one_byte_over_the_configured_limit_is_413_naming_the_limit(
    app_with: AppFactory, db: asyncpg.Connection, setting: str, encoding: str, message: str
) -> None:
    async with app_with(**{setting: 2048}) as client:
        session_id, response = await post_batch_of_size(client, 2049, encoding=encoding)

    assert response.status_code == 413
    assert response.json() == {"detail": message.format(limit=2048)}
    assert await count_events(db, session_id) == 0


@pytest.mark.parametrize(("setting", "encoding", "message"), SIZE_EDGES)
async def test_default_limit_is_one_mebibyte_at_the_edge_and_past_it(
    client: httpx.AsyncClient, db: asyncpg.Connection, setting: str, encoding: str, message: str
) -> None:
    at_edge, accepted = await post_batch_of_size(client, DEFAULT_MAX_BODY_BYTES, encoding=encoding)
    past_edge, refused = await post_batch_of_size(
        client, DEFAULT_MAX_BODY_BYTES + 1, encoding=encoding
    )

    assert accepted.status_code == 202, accepted.text
    assert refused.status_code == 413
    assert refused.json() == {"detail": message.format(limit=DEFAULT_MAX_BODY_BYTES)}
    assert await count_events(db, at_edge) == 1
    assert await count_events(db, past_edge) == 0


async def test_gzip_body_is_decompressed_and_its_events_stored(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    body = {"session_id": session_id, "events": distinct_events(3)}

    response = await client.post(
        BATCH, content=gzip.compress(json.dumps(body).encode()), headers=GZIP_JSON_CONTENT
    )

    assert response.status_code == 202, response.text
    assert response.json()["processed"] == 3
    assert await count_events(db, session_id) == 3


async def test_wire_limit_applies_to_the_compressed_bytes_of_a_gzip_body(
    app_with: AppFactory, db: asyncpg.Connection
) -> None:
    async with app_with(MAX_BODY_BYTES=1000) as client:
        session_id = await start_session(client)
        body = padded_to({"session_id": session_id, "events": [event()]}, 5000)
        compressed = gzip.compress(body)

        response = await client.post(BATCH, content=compressed, headers=GZIP_JSON_CONTENT)

    assert len(compressed) <= 1000 < len(body)
    assert response.status_code == 202, response.text
    assert await count_events(db, session_id) == 1


async def test_gzip_bomb_is_refused_with_413(
    client: httpx.AsyncClient, db: asyncpg.Connection
) -> None:
    session_id = await start_session(client)
    document = json.dumps({"session_id": session_id, "events": [event()]}).encode()
    bomb = gzip.compress(document + b" " * (16 * DEFAULT_MAX_BODY_BYTES))

    response = await client.post(BATCH, content=bomb, headers=GZIP_JSON_CONTENT)

    assert len(bomb) < DEFAULT_MAX_BODY_BYTES // 20
    assert response.status_code == 413
    assert "Decompressed request body" in response.json()["detail"]
    assert await count_events(db, session_id) == 0


def corrupt_gzip_bodies() -> dict[str, bytes]:
    compressed = gzip.compress(json.dumps({"events": []}).encode())
    wrong_checksum = compressed[:-8] + bytes([compressed[-8] ^ 0xFF]) + compressed[-7:]
    return {
        "not gzip at all": b'{"events": []}',
        "gzip header then garbage": compressed[:10] + b"\xff" * 40,
        "wrong checksum": wrong_checksum,
    }


@pytest.mark.parametrize("body", corrupt_gzip_bodies().values(), ids=corrupt_gzip_bodies())
async def test_corrupt_gzip_body_is_refused_with_400(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(BATCH, content=body, headers=GZIP_JSON_CONTENT)

    assert response.status_code == 400
    assert response.json() == {"detail": "Request body is not valid gzip"}


TRUNCATIONS = {
    "half of it": lambda compressed: compressed[: len(compressed) // 2],
    "without its trailer": lambda compressed: compressed[:-8],
}


@pytest.mark.parametrize("truncate", TRUNCATIONS.values(), ids=TRUNCATIONS.keys())
async def test_truncated_gzip_body_is_refused_with_400(
    client: httpx.AsyncClient, db: asyncpg.Connection, truncate: Callable[[bytes], bytes]
) -> None:
    session_id = await start_session(client)
    body = json.dumps({"session_id": session_id, "events": distinct_events(20)}).encode()
    truncated = truncate(gzip.compress(body))

    response = await client.post(BATCH, content=truncated, headers=GZIP_JSON_CONTENT)

    assert response.status_code == 400
    assert response.json() == {"detail": "Request body is truncated gzip"}
    assert await count_events(db, session_id) == 0


@pytest.mark.parametrize("encoding", ["br", "deflate", "zstd", "gzip, br"])
async def test_content_encoding_other_than_gzip_is_refused_with_415(
    client: httpx.AsyncClient, db: asyncpg.Connection, encoding: str
) -> None:
    session_id = await start_session(client)
    body = json.dumps({"session_id": session_id, "events": [event()]}).encode()

    response = await client.post(
        BATCH,
        content=body,
        headers={"content-type": "application/json", "content-encoding": encoding},
    )

    assert response.status_code == 415
    assert response.json() == {"detail": "Content-Encoding must be gzip or identity"}
    assert await count_events(db, session_id) == 0


# --- JSON that cannot be parsed or has the wrong shape --------------------------------------


@pytest.mark.parametrize(
    "text",
    ['{"session_id": "abc", "events": [', "{bad json}", '{"events": [1, 2,]}', "{'single': 1}"],
    ids=["unterminated", "unquoted key", "trailing comma", "single quotes"],
)
async def test_malformed_json_is_a_422_that_says_invalid_json_and_why(
    client: httpx.AsyncClient, text: str
) -> None:
    response = await client.post(BATCH, content=text, headers=JSON_CONTENT)

    assert response.status_code == 422
    [problem] = response.json()["detail"]
    assert problem["type"] == "json_invalid"
    with pytest.raises(json.JSONDecodeError) as parse_error:
        json.loads(text)
    assert problem["msg"] == f"Invalid JSON: {parse_error.value.msg}"


@pytest.mark.parametrize(
    ("path", "body_without_session", "field"),
    [
        (BATCH, {"events": "not a list"}, "events"),
        (BATCH, {"events": {"event_type": "room_view"}}, "events"),
        (
            EVENT,
            {"event_type": "room_view", "timestamp": 1728234590, "event_data": 42},
            "event_data",
        ),
    ],
    ids=["events a string", "events an object", "event_data a number"],
)
async def test_wrong_type_is_a_422_naming_the_field(
    client: httpx.AsyncClient,
    db: asyncpg.Connection,
    path: str,
    body_without_session: dict[str, Any],
    field: str,
) -> None:
    session_id = await start_session(client)

    response = await client.post(path, json={"session_id": session_id, **body_without_session})

    assert response.status_code == 422
    assert ["body", field] in [problem["loc"] for problem in response.json()["detail"]]
    assert await count_events(db, session_id) == 0


@pytest.mark.parametrize("path", [BATCH, EVENT])
async def test_session_id_as_a_number_is_a_422_naming_session_id(
    client: httpx.AsyncClient, path: str
) -> None:
    response = await client.post(path, json={"session_id": 12345, "events": [], **event()})

    assert response.status_code == 422
    assert ["body", "session_id"] in [problem["loc"] for problem in response.json()["detail"]]


DEPTH = 100_000


@pytest.mark.parametrize(
    ("path", "text"),
    [
        (BATCH, "[" * DEPTH + "]" * DEPTH),
        (BATCH, '{"events": [' + '{"a":' * DEPTH + "1" + "}" * DEPTH + "]}"),
        (EVENT, '{"event_type": "x", "event_data": ' + "[" * DEPTH + "]" * DEPTH + "}"),
    ],
    ids=["whole body", "inside events", "inside event_data"],
)
async def test_json_nested_a_hundred_thousand_levels_deep_is_a_client_error(
    client: httpx.AsyncClient, path: str, text: str
) -> None:
    response = await client.post(path, content=text, headers=JSON_CONTENT)

    assert 400 <= response.status_code < 500, response.text


async def test_empty_body_is_a_client_error(client: httpx.AsyncClient) -> None:
    response = await client.post(BATCH, content=b"", headers=JSON_CONTENT)

    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml", None]
)
async def test_json_body_is_read_as_json_whatever_content_type_is_named(
    client: httpx.AsyncClient, db: asyncpg.Connection, content_type: str | None
) -> None:
    """The API takes nothing but JSON; Blueprint plugins name other types or none at all, and
    a 4xx would make the client drop its events."""
    session_id = await start_session(client)
    body = json.dumps({"session_id": session_id, "events": [event()]}).encode()
    headers = {"content-type": content_type} if content_type else {}
    request = client.build_request("POST", BATCH, content=body, headers=headers)

    response = await client.send(request)

    assert request.headers.get("content-type") == content_type
    assert response.status_code == 202, response.text
    assert await count_events(db, session_id) == 1


async def test_form_encoded_body_is_422_invalid_json(client: httpx.AsyncClient) -> None:
    response = await client.post(
        BATCH,
        content=b"session_id=abc&events=1",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )

    assert response.status_code == 422
    assert response.json()["detail"][0]["msg"].startswith("Invalid JSON")


async def test_x_gzip_is_read_as_gzip(client: httpx.AsyncClient, db: asyncpg.Connection) -> None:
    session_id = await start_session(client)
    body = json.dumps({"session_id": session_id, "events": distinct_events(2)}).encode()

    response = await client.post(
        BATCH,
        content=gzip.compress(body),
        headers={"content-type": "application/json", "content-encoding": "x-gzip"},
    )

    assert response.status_code == 202, response.text
    assert await count_events(db, session_id) == 2


async def test_body_that_is_not_utf8_is_400_saying_where(client: httpx.AsyncClient) -> None:
    body = b'{"session_start": "\xff1728234567"}'

    response = await client.post(START, content=body, headers=JSON_CONTENT)

    assert response.status_code == 400
    assert response.json() == {"detail": "Request body is not valid UTF-8 (byte 19)"}
