"""The key is checked before the body or the query is: a request without a valid key gets 401
whatever else is wrong with it (docs/security.md), never a 400, 413, 415 or 422 that would tell
an anonymous caller how the API reads its input. The same requests with a key get those."""

import gzip
import uuid
from typing import Any

import httpx
import pytest

from tests.helpers import BATCH, EVENT, START

HEATMAP = "/api/v1/properties/prop_villa_001/heatmap"
JSON_TYPE = {"content-type": "application/json"}

# Each request and the status the app gives it when a valid key comes with it.
BAD_REQUESTS: dict[str, tuple[dict[str, Any], int]] = {
    "invalid UTF-8": (
        {
            "method": "POST",
            "url": BATCH,
            "content": b'{"events": "\xff\xfe"}',
            "headers": JSON_TYPE,
        },
        400,
    ),
    "corrupt gzip": (
        {
            "method": "POST",
            "url": BATCH,
            "content": b"not gzip",
            "headers": {"content-encoding": "gzip"},
        },
        400,
    ),
    "unknown content encoding": (
        {"method": "POST", "url": EVENT, "content": b"{}", "headers": {"content-encoding": "br"}},
        415,
    ),
    "body too large": ({"method": "POST", "url": BATCH, "content": b" " * 1_048_577}, 413),
    "gzip bomb": (
        {
            "method": "POST",
            "url": BATCH,
            "content": gzip.compress(b" " * 2_000_000),
            "headers": {"content-encoding": "gzip"},
        },
        413,
    ),
    "invalid JSON": (
        {"method": "POST", "url": START, "content": b'{"session_start": ', "headers": JSON_TYPE},
        422,
    ),
    "wrong body shape": ({"method": "POST", "url": BATCH, "json": {"events": "many"}}, 422),
    "heatmap to before from": (
        {"method": "GET", "url": HEATMAP, "params": {"from": "2025-03-02", "to": "2025-03-01"}},
        422,
    ),
    "heatmap PNG to equal to from": (
        {
            "method": "GET",
            "url": HEATMAP + ".png",
            "params": {"from": "2025-03-01", "to": "2025-03-01"},
        },
        422,
    ),
    "overview period not a date": (
        {"method": "GET", "url": "/api/v1/overview", "params": {"from": "soon", "to": "later"}},
        422,
    ),
    "unknown API path": ({"method": "GET", "url": "/api/v1/no-such-thing"}, 404),
    "unsupported method": ({"method": "DELETE", "url": START}, 405),
}


def assert_unauthorized(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json() == {
        "detail": "A valid API key is required (X-API-Key header or Authorization: Bearer)"
    }


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
async def test_request_without_a_key_is_401_whatever_its_body_or_query_holds(
    anonymous: httpx.AsyncClient, case: str
) -> None:
    arguments, _ = BAD_REQUESTS[case]

    response = await anonymous.request(**arguments)

    assert_unauthorized(response)


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
async def test_request_with_an_unknown_key_is_401_whatever_its_body_or_query_holds(
    anonymous: httpx.AsyncClient, case: str
) -> None:
    arguments, _ = BAD_REQUESTS[case]
    headers = {**arguments.get("headers", {}), "X-API-Key": f"nxr_{uuid.uuid4().hex}"}

    response = await anonymous.request(**{**arguments, "headers": headers})

    assert response.status_code == 401, response.text
    assert response.json() == {"detail": "API key not recognised or revoked"}


@pytest.mark.parametrize("case", BAD_REQUESTS, ids=list(BAD_REQUESTS))
async def test_the_same_request_with_a_valid_key_gets_its_own_answer(
    client: httpx.AsyncClient, case: str
) -> None:
    arguments, status = BAD_REQUESTS[case]

    response = await client.request(**arguments)

    assert response.status_code == status, response.text
