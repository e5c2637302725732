"""API keys and projects: who is calling, what they may do, and the records of what admins did.

Keys are random 256-bit secrets, so one SHA-256 is enough to store them (a slow password hash
would cost every request and protect nothing a 256-bit secret does not). A presented key is
matched by its non-secret prefix and then by hash, compared in constant time.
"""

import asyncio
import hashlib
import hmac
import logging
import secrets
import time
import uuid
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum

from app.db.database import Database
from app.domain.access import DEFAULT_PROJECT_ID, ApiKeyRecord, ProjectRecord
from app.errors import ConflictError, InvalidInputError, NotFoundError, UnauthorizedError
from app.stores.access import AccessStore

logger = logging.getLogger(__name__)

KEY_PREFIX_LENGTH = 12
GENERATED_KEY_MARK = "nxr_"
MIN_KEY_LENGTH = 24
MAX_KEY_LENGTH = 256
MAX_CACHED_KEYS = 10_000
KEYLESS_KEY_ID = uuid.UUID("00000000-0000-0000-0000-00000000beef")
"""How request logs and metrics name keyless writes (no key has this id)."""


class Scope(StrEnum):
    INGEST = "ingest"
    READ = "read"
    ADMIN = "admin"
    # /metrics: every project's figures together, so only the operator grants it (the CLI,
    # NEXERO_BOOTSTRAP_KEY, the quick start's key), never a project's admin key.
    METRICS = "metrics"


ALL_SCOPES = frozenset(Scope)


@dataclass(frozen=True)
class Caller:
    """An authenticated API key: the project it acts for and what it may do there."""

    project_id: uuid.UUID
    key_id: uuid.UUID
    key_name: str
    scopes: frozenset[Scope]
    default_labels: dict[str, str] = field(default_factory=dict)
    """Labels written onto the sessions this key creates without them."""
    keyless_address: str | None = None
    """For a keyless writer (docs/security.md): its address, which rate limits it."""

    @property
    def keyless(self) -> bool:
        return self.keyless_address is not None

    @property
    def rate_limit_bucket(self) -> str:
        """What its rate limits are counted against: the key, or a keyless writer's address."""
        if self.keyless_address is not None:
            return f"keyless:{self.project_id}:{self.keyless_address}"
        return str(self.key_id)

    @property
    def actor(self) -> str:
        """How the audit log names this caller."""
        return f"key {self.key_id} ({self.key_name})"


@dataclass(frozen=True)
class CreatedKey:
    """A new key: the secret itself is shown this once and never stored."""

    record: ApiKeyRecord
    secret: str


def generate_key() -> str:
    return GENERATED_KEY_MARK + secrets.token_urlsafe(32)


def hash_key(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def key_prefix(secret: str) -> str:
    """What may be shown of a key. A generated key's first characters are random and reveal
    nothing of the rest; a value chosen by an operator (NEXERO_BOOTSTRAP_KEY) shows only a
    digest of itself, never its own characters."""
    if secret.startswith(GENERATED_KEY_MARK):
        return secret[:KEY_PREFIX_LENGTH]
    return "sha256:" + hashlib.sha256(secret.encode()).hexdigest()[:8]


def parse_scopes(names: Iterable[str]) -> frozenset[Scope]:
    scopes = set()
    for name in names:
        try:
            scopes.add(Scope(name.strip()))
        except ValueError:
            allowed = ", ".join(scope.value for scope in Scope)
            raise InvalidInputError.single(
                "body", "scopes", msg=f"unknown scope {name!r} (allowed: {allowed})"
            ) from None
    if not scopes:
        raise InvalidInputError.single("body", "scopes", msg="at least one scope is required")
    return frozenset(scopes)


def check_name(name: str, field: str = "name") -> str:
    cleaned = name.strip()
    if not 1 <= len(cleaned) <= 200:
        raise InvalidInputError.single("body", field, msg="must be 1 to 200 characters")
    return cleaned


class KeyVerifier:
    """Turns a presented key into a Caller. Verified keys (and unknown ones) are remembered for
    `cache_seconds`, so a busy client costs no database round trip per request; a revocation
    reaches every worker within that time. Uses are gathered in memory and written as
    last_used_at by `flush_usage`, not once per request."""

    def __init__(self, database: Database, *, cache_seconds: float) -> None:
        self._database = database
        self._cache_seconds = cache_seconds
        self._cache: OrderedDict[bytes, tuple[Caller | None, float]] = OrderedDict()
        self._used_at: dict[uuid.UUID, datetime] = {}
        # Bumped by every revocation here, so a lookup that started before it is not cached.
        self._revocations = 0
        # The project that takes keyless records (or None), and until when that is trusted.
        self._keyless: tuple[uuid.UUID | None, float] | None = None

    async def authenticate(self, presented: str | None) -> Caller:
        if not presented:
            raise UnauthorizedError()
        if len(presented) > MAX_KEY_LENGTH:
            raise UnauthorizedError("API key not recognised")
        digest = hash_key(presented)
        caller = await self._caller_for(presented, digest)
        if caller is None:
            raise UnauthorizedError("API key not recognised or revoked")
        self._used_at[caller.key_id] = datetime.now(UTC)
        return caller

    async def _caller_for(self, presented: str, digest: bytes) -> Caller | None:
        now = time.monotonic()
        cached = self._cache.get(digest)
        if cached is not None and cached[1] > now:
            self._cache.move_to_end(digest)  # least recently used goes first
            return cached[0]
        revocations_before = self._revocations
        async with self._database.connection() as connection:
            candidates = await AccessStore(connection).keys_with_prefix(key_prefix(presented))
        caller = None
        for candidate in candidates:
            if hmac.compare_digest(candidate.key_hash, digest):
                caller = caller_of(candidate)
        if self._revocations != revocations_before:
            return caller  # may predate the revocation: answer once, never remember it
        self._cache[digest] = (caller, now + self._cache_seconds)
        self._cache.move_to_end(digest)
        while len(self._cache) > MAX_CACHED_KEYS:
            self._cache.popitem(last=False)
        return caller

    async def keyless_caller(self, client_address: str) -> Caller:
        """The caller of a keyless write from `client_address`: the project that takes keyless
        records (remembered for `cache_seconds`, like a key), with the ingest scope only. 401
        when no project does."""
        now = time.monotonic()
        if self._keyless is None or self._keyless[1] <= now:
            async with self._database.connection() as connection:
                project = await AccessStore(connection).keyless_project()
            self._keyless = (project.id if project else None, now + self._cache_seconds)
        project_id = self._keyless[0]
        if project_id is None:
            raise UnauthorizedError()
        return Caller(
            project_id=project_id,
            key_id=KEYLESS_KEY_ID,
            key_name="keyless",
            scopes=frozenset({Scope.INGEST}),
            keyless_address=client_address,
        )

    def forget_keyless(self) -> None:
        """Look up which project takes keyless records again (after a change here)."""
        self._keyless = None

    def forget(self, key_hash: bytes) -> None:
        """Drop a key from this worker's cache at once (after a revocation here)."""
        self._revocations += 1
        self._cache.pop(key_hash, None)

    async def flush_usage(self) -> None:
        used_at, self._used_at = self._used_at, {}
        if not used_at:
            return
        async with self._database.connection() as connection:
            await AccessStore(connection).record_key_use(used_at)

    async def flush_usage_every(self, interval_seconds: float) -> None:
        """Run until cancelled, writing last_used_at once per interval."""
        while True:
            await asyncio.sleep(interval_seconds)
            await self._flush_usage_logging_failure()

    async def close(self) -> None:
        """Write the uses not yet recorded (at shutdown)."""
        await self._flush_usage_logging_failure()

    async def _flush_usage_logging_failure(self) -> None:
        # last_used_at is informational: a failed write loses a timestamp, never data.
        try:
            await self.flush_usage()
        except Exception:
            logger.exception("could not record API key use")


def caller_of(key: ApiKeyRecord) -> Caller:
    return Caller(
        project_id=key.project_id,
        key_id=key.id,
        key_name=key.name,
        scopes=frozenset(Scope(scope) for scope in key.scopes),
        default_labels=key.default_labels,
    )


class AccessService:
    """Projects, keys and the audit log, for the admin API and the CLI. `project_id` None
    means every project (only the CLI, which has the database's own credentials, uses it)."""

    def __init__(self, database: Database) -> None:
        self._database = database

    async def create_project(self, name: str, *, actor: str) -> ProjectRecord:
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            project = await store.create_project(check_name(name))
            await store.audit(
                project_id=project.id,
                actor=actor,
                action="project.created",
                target=str(project.id),
                details={"name": project.name},
            )
        return project

    async def list_projects(self) -> list[ProjectRecord]:
        async with self._database.connection() as connection:
            return await AccessStore(connection).list_projects()

    async def get_project(self, project_id: uuid.UUID) -> ProjectRecord:
        async with self._database.connection() as connection:
            project = await AccessStore(connection).get_project(project_id)
        if project is None:
            raise NotFoundError("Project not found")
        return project

    async def rename_project(
        self, project_id: uuid.UUID, name: str, *, actor: str
    ) -> ProjectRecord:
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            project = await store.rename_project(project_id, check_name(name))
            if project is None:
                raise NotFoundError("Project not found")
            await store.audit(
                project_id=project.id,
                actor=actor,
                action="project.renamed",
                target=str(project.id),
                details={"name": project.name},
            )
        return project

    async def set_project_settings(
        self,
        project_id: uuid.UUID,
        *,
        time_zone: str | None,
        accepts_keyless_records: bool | None,
        actor: str,
    ) -> ProjectRecord:
        """Change a project's time zone and whether it takes keyless records (None: unchanged);
        each change is audited. At most one project takes keyless records: turning it on for a
        second is a 409."""
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            if accepts_keyless_records:
                other = await store.keyless_project(for_update=True)
                if other is not None and other.id != project_id:
                    raise ConflictError(
                        f"project {other.id} ({other.name}) already takes keyless records: at "
                        "most one project may, since nothing else tells their senders apart"
                    )
            before = await store.get_project(project_id)
            project = await store.set_project_settings(
                project_id, time_zone=time_zone, accepts_keyless_records=accepts_keyless_records
            )
            if before is None or project is None:
                raise NotFoundError("Project not found")
            if project.time_zone != before.time_zone:
                await store.audit(
                    project_id=project_id,
                    actor=actor,
                    action="project.time_zone_set",
                    target=str(project_id),
                    details={"from": before.time_zone, "to": project.time_zone},
                )
            if project.accepts_keyless_records != before.accepts_keyless_records:
                state = "on" if project.accepts_keyless_records else "off"
                await store.audit(
                    project_id=project_id,
                    actor=actor,
                    action=f"project.keyless_records_{state}",
                    target=str(project_id),
                    details={},
                )
        return project

    async def create_key(
        self,
        *,
        project_id: uuid.UUID,
        name: str,
        scopes: frozenset[Scope],
        actor: str,
        secret: str | None = None,
        default_labels: dict[str, str] | None = None,
    ) -> CreatedKey:
        """A new key for the project; `secret` only for a value chosen by the operator
        (NEXERO_BOOTSTRAP_KEY), which must exist nowhere yet. `default_labels` (property_id,
        device_type) go onto the sessions the key creates without them."""
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            if await store.get_project(project_id) is None:
                raise NotFoundError("Project not found")
            return await _insert_audited_key(
                store,
                project_id=project_id,
                name=check_name(name),
                scopes=scopes,
                actor=actor,
                secret=secret or generate_key(),
                default_labels=default_labels or {},
            )

    async def list_keys(self, project_id: uuid.UUID | None) -> list[ApiKeyRecord]:
        async with self._database.connection() as connection:
            return await AccessStore(connection).list_keys(project_id)

    async def revoke_key(
        self,
        key_id: uuid.UUID,
        *,
        project_id: uuid.UUID | None,
        actor: str,
        revoked_by: Caller | None = None,
    ) -> ApiKeyRecord:
        """Revoke a key; revoking twice keeps the first revocation. `revoked_by` is the key
        acting through the admin API, which may revoke neither itself nor its project's last
        admin key (409): either would lock the project's operators out. The CLI (None) may."""
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            if revoked_by is not None:
                await _keep_admin_access(store, key_id, revoked_by)
            record = await store.revoke_key(key_id, project_id=project_id)
            if record is None:
                raise NotFoundError("API key not found")
            await store.audit(
                project_id=record.project_id,
                actor=actor,
                action="key.revoked",
                target=str(record.id),
                details={"name": record.name},
            )
        return record

    async def ensure_bootstrap_key(self, secret: str) -> None:
        """Make sure a key with this value exists (in the default project, all scopes). A key
        with this value that was revoked stays revoked."""
        async with self._database.connection() as connection:
            existing = await AccessStore(connection).get_key_by_hash(hash_key(secret))
        if existing is not None:
            if existing.revoked_at is not None:
                logger.warning("NEXERO_BOOTSTRAP_KEY names a revoked key; it stays revoked")
            return
        try:
            await self.create_key(
                project_id=DEFAULT_PROJECT_ID,
                name="bootstrap (NEXERO_BOOTSTRAP_KEY)",
                scopes=ALL_SCOPES,
                actor="bootstrap",
                secret=secret,
            )
        except ConflictError:
            pass  # another worker created it at the same moment
        logger.info("bootstrap API key ensured", extra={"project_id": str(DEFAULT_PROJECT_ID)})

    async def create_first_key(self) -> CreatedKey | None:
        """The quick start's key: created only if no key exists at all (several workers
        starting together create one between them)."""
        async with self._database.transaction() as connection:
            store = AccessStore(connection)
            await store.lock_first_key()
            if await store.count_keys():
                return None
            return await _insert_audited_key(
                store,
                project_id=DEFAULT_PROJECT_ID,
                name="quick start",
                scopes=ALL_SCOPES,
                actor="quick start",
                secret=generate_key(),
            )

    async def has_keys(self) -> bool:
        async with self._database.connection() as connection:
            return bool(await AccessStore(connection).count_keys())

    async def audit_entries(self, project_id: uuid.UUID, *, limit: int) -> list[dict]:
        async with self._database.connection() as connection:
            rows = await AccessStore(connection).audit_entries(project_id, limit=limit)
        return [dict(row) for row in rows]


async def _keep_admin_access(store: AccessStore, key_id: uuid.UUID, caller: Caller) -> None:
    """Refuse (409) a revocation through the API that would leave the project without a
    working admin key: the caller's own key, or the last admin key not revoked."""
    if key_id == caller.key_id:
        raise ConflictError(
            "An API key cannot revoke itself: revoke it with another admin key of the project, "
            "or with the CLI (python -m app keys revoke)"
        )
    await store.lock_project_keys(caller.project_id)
    target = await store.get_key(key_id, project_id=caller.project_id)
    if target is None or target.revoked_at is not None or Scope.ADMIN not in target.scopes:
        return
    if not await store.count_active_admin_keys(caller.project_id, excluding=key_id):
        raise ConflictError(
            "This is the project's last admin key: create another admin key first, or revoke "
            "it with the CLI (python -m app keys revoke)"
        )


async def _insert_audited_key(
    store: AccessStore,
    *,
    project_id: uuid.UUID,
    name: str,
    scopes: frozenset[Scope],
    actor: str,
    secret: str,
    default_labels: dict[str, str] | None = None,
) -> CreatedKey:
    """Store a key and its audit entry (in the caller's transaction)."""
    record = await store.insert_key(
        project_id=project_id,
        name=name,
        key_prefix=key_prefix(secret),
        key_hash=hash_key(secret),
        scopes=sorted(scopes),
        default_labels=default_labels,
    )
    if record is None:
        raise ConflictError("A key with this value exists already")
    await store.audit(
        project_id=project_id,
        actor=actor,
        action="key.created",
        target=str(record.id),
        details={
            "name": record.name,
            "scopes": record.scopes,
            "default_labels": record.default_labels,
        },
    )
    return CreatedKey(record=record, secret=secret)
