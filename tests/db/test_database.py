"""The database layer's decisions that need no outage to show: pooler detection and which
driver errors count as transient (503) rather than refused data."""

import asyncpg
import pytest

from app.db.database import is_rejected_data, is_transient, redacted, statement_cache_size_for
from app.errors import DatabaseUnavailableError
from app.main import create_app
from tests.conftest import make_settings, serve


@pytest.mark.parametrize(
    ("dsn", "expected"),
    [
        ("postgresql://postgres.abc:pw@aws-0-eu-west-1.pooler.supabase.com:6543/postgres", 0),
        ("postgresql://postgres.abc:pw@aws-0-eu-west-1.pooler.supabase.com:5432/postgres", 0),
        ("postgresql://app:pw@pgbouncer.internal:6543/app", 0),
        ("postgresql://postgres:pw@db.abc.supabase.co:5432/postgres", 100),
        ("postgresql://postgres:@/postgres?host=/tmp/nexero", 100),
    ],
)
def test_prepared_statement_cache_is_off_behind_transaction_poolers(
    dsn: str, expected: int
) -> None:
    assert statement_cache_size_for(dsn, None) == expected


def test_configured_statement_cache_size_wins() -> None:
    assert statement_cache_size_for("postgresql://h:6543/db", 50) == 50
    assert statement_cache_size_for("postgresql://h:5432/db", 0) == 0


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        asyncpg.exceptions.CannotConnectNowError("the database system is starting up"),
        asyncpg.exceptions.TooManyConnectionsError("too many clients"),
        asyncpg.exceptions.SerializationError("could not serialize access"),
        asyncpg.exceptions.DeadlockDetectedError("deadlock detected"),
        asyncpg.exceptions.AdminShutdownError("terminating connection"),
        asyncpg.exceptions.QueryCanceledError("canceling statement due to statement timeout"),
        asyncpg.exceptions.ReadOnlySQLTransactionError("cannot execute INSERT in read-only"),
        asyncpg.exceptions.LockNotAvailableError("canceling statement due to lock timeout"),
        ConnectionRefusedError(111, "Connection refused"),
        TimeoutError(),
    ],
)
def test_connection_and_capacity_errors_are_transient(error: BaseException) -> None:
    assert is_transient(error)
    assert not is_rejected_data(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UntranslatableCharacterError("unsupported Unicode escape sequence"),
        asyncpg.exceptions.UniqueViolationError("duplicate key"),
        asyncpg.exceptions.CheckViolationError("violates check constraint"),
        asyncpg.exceptions.RaiseError("poison event refused"),
        asyncpg.exceptions.ProgramLimitExceededError("index row size exceeds maximum"),
    ],
)
def test_data_errors_are_refusals_not_outages(error: BaseException) -> None:
    assert is_rejected_data(error)
    assert not is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        asyncpg.exceptions.UndefinedTableError('relation "tracking_events" does not exist'),
        asyncpg.exceptions.InsufficientPrivilegeError("permission denied"),
        ValueError("a bug"),
    ],
)
def test_other_errors_are_neither_refusals_nor_outages(error: BaseException) -> None:
    """A missing table or privilege is a bug or a misconfiguration: it must fail loudly (500),
    not reject the client's events or ask for endless retries."""
    assert not is_rejected_data(error)
    assert not is_transient(error)


def test_redacted_url_hides_only_the_password() -> None:
    assert (
        redacted("postgresql://postgres.abc:s3cret@pooler.supabase.com:6543/postgres")
        == "postgresql://postgres.abc:***@pooler.supabase.com:6543/postgres"
    )
    assert (
        redacted("postgresql://postgres@127.0.0.1/test") == "postgresql://postgres@127.0.0.1/test"
    )


async def test_start_up_against_an_unreachable_database_fails_naming_it_without_secrets() -> None:
    app = create_app(make_settings("postgresql://app:s3cret@127.0.0.1:1/nexero"))

    with pytest.raises(DatabaseUnavailableError) as failure:
        async with serve(app):
            pass

    assert "127.0.0.1:1/nexero" in str(failure.value)
    assert "s3cret" not in str(failure.value)
