"""Stream tokens: a browser's EventSource cannot send headers, so a page asks for a token with
its key (in a header) and opens the stream with the token in the URL. A token is good for
LIVE_TOKEN_TTL_SECONDS, for the live routes only, with the read scope only, and (if asked) for
one session only; it is signed with a secret every replica shares (live_token_secrets)."""

import base64
import hashlib
import hmac
import json
import secrets
import time
import uuid
from dataclasses import dataclass

from app.db.database import Database
from app.errors import UnauthorizedError
from app.services.access.keys import Caller, Scope
from app.stores.live import LiveStreamStore

TOKEN_MARK = "nxl_"
MAX_TOKEN_LENGTH = 400
INVALID_TOKEN = "Stream token not valid or expired: ask POST /api/v1/live/token for a new one"


@dataclass(frozen=True)
class StreamToken:
    token: str
    expires_at: float
    """Seconds since the epoch."""


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class StreamTokens:
    """Issues and checks stream tokens with the shared secret."""

    def __init__(self, secret: bytes, *, ttl_seconds: float) -> None:
        self._secret = secret
        self._ttl_seconds = ttl_seconds

    @classmethod
    async def load(cls, database: Database, *, ttl_seconds: float) -> "StreamTokens":
        """With the secret stored in the database (made now if this is the first start)."""
        candidate = secrets.token_bytes(32)
        secret = None
        while secret is None:  # None only if another replica made it during our statement
            async with database.connection() as connection:
                secret = await LiveStreamStore(connection).token_secret(candidate)
        return cls(secret, ttl_seconds=ttl_seconds)

    def issue(self, caller: Caller, *, session_id: uuid.UUID | None) -> StreamToken:
        expires_at = time.time() + self._ttl_seconds
        claims = {
            "k": str(caller.key_id),
            "n": caller.key_name,
            "p": str(caller.project_id),
            "s": str(session_id) if session_id else None,
            "e": round(expires_at, 3),
        }
        body = _encode(json.dumps(claims, separators=(",", ":")).encode())
        return StreamToken(token=f"{TOKEN_MARK}{body}.{self._sign(body)}", expires_at=expires_at)

    def verify(self, token: str, *, session_id: uuid.UUID | None) -> Caller:
        """The caller a token stands for, on the stream of `session_id` (None: the project
        feed); 401 if it is forged, expired, or for another session."""
        if len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_MARK):
            raise UnauthorizedError(INVALID_TOKEN)
        body, _, signature = token[len(TOKEN_MARK) :].partition(".")
        if not hmac.compare_digest(signature.encode(), self._sign(body).encode()):
            raise UnauthorizedError(INVALID_TOKEN)
        try:
            claims = json.loads(_decode(body))
            expires_at = float(claims["e"])
            token_session = uuid.UUID(claims["s"]) if claims["s"] else None
            caller = Caller(
                project_id=uuid.UUID(claims["p"]),
                key_id=uuid.UUID(claims["k"]),
                key_name=str(claims["n"]),
                scopes=frozenset({Scope.READ}),
            )
        except (ValueError, KeyError, TypeError):
            raise UnauthorizedError(INVALID_TOKEN) from None
        if expires_at < time.time():
            raise UnauthorizedError(INVALID_TOKEN)
        if token_session is not None and token_session != session_id:
            raise UnauthorizedError("This stream token is for another session's stream")
        return caller

    def _sign(self, body: str) -> str:
        return _encode(hmac.new(self._secret, body.encode(), hashlib.sha256).digest())
