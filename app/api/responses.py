"""Error responses shared by routers, for /docs and the OpenAPI schema."""

from typing import Any

ACCESS_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {
        "description": "No API key, or one unknown or revoked (send X-API-Key or "
        "Authorization: Bearer).",
        "content": {
            "application/json": {"example": {"detail": "API key not recognised or revoked"}}
        },
    },
    403: {"description": "The API key lacks the scope this endpoint needs."},
    429: {"description": "This key's rate limit for the scope is spent: retry after Retry-After."},
}
BODY_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "The body could not be read (invalid UTF-8, corrupt gzip)."},
    413: {
        "description": "The body exceeds MAX_BODY_BYTES, or MAX_DECOMPRESSED_BODY_BYTES "
        "once decompressed."
    },
    415: {"description": "Content-Encoding other than gzip."},
}
UNAVAILABLE: dict[int | str, dict[str, Any]] = {
    503: {"description": "Database unavailable: retry after Retry-After; retries never duplicate."}
}
