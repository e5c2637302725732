"""Where the live feed LISTENs: never through a transaction pooler, which would lose it."""

from pydantic import SecretStr

from app.services.live.hub import listen_dsn_for
from tests.conftest import make_settings

DIRECT = "postgresql://nexero@db.example.supabase.co:5432/postgres"
POOLER = "postgresql://nexero@aws-0-eu.pooler.supabase.com:6543/postgres"


def test_a_direct_database_url_is_listened_on() -> None:
    assert listen_dsn_for(make_settings(DIRECT), DIRECT) == DIRECT


def test_behind_a_transaction_pooler_the_feed_polls_unless_given_a_listen_url() -> None:
    assert listen_dsn_for(make_settings(POOLER), POOLER) is None
    manual = make_settings(DIRECT, DATABASE_STATEMENT_CACHE_SIZE=0)
    assert listen_dsn_for(manual, DIRECT) is None
    given = make_settings(POOLER, LIVE_DATABASE_URL=SecretStr(DIRECT))
    assert listen_dsn_for(given, POOLER) == DIRECT
