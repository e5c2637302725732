-- The live feed (docs/dashboard.md, "Live"): what a viewer connected to any worker needs to hear
-- of events stored through any other.
--
-- live_position: the order in which a session's events were committed. The insert paths touch
-- the session's row (a row lock) before inserting, so one session's inserts are serialized and
-- a sequence without a cache (CACHE 1) numbers them in commit order: a viewer resuming after
-- position N misses nothing and sees nothing twice. Added without a default first, then the
-- default set: existing rows stay NULL (no table rewrite), new rows get a position.
CREATE SEQUENCE IF NOT EXISTS public.tracking_events_live_position_seq AS BIGINT CACHE 1;
ALTER TABLE public.tracking_events ADD COLUMN IF NOT EXISTS live_position BIGINT;
ALTER TABLE public.tracking_events
    ALTER COLUMN live_position SET DEFAULT nextval('public.tracking_events_live_position_seq');
ALTER SEQUENCE public.tracking_events_live_position_seq
    OWNED BY public.tracking_events.live_position;
-- A viewer's (and a worker's) read of a session's events after a position. Partial: the rows
-- stored before this migration have no position, so on a live database the index starts empty
-- (building it still reads the table once; on a large one, build it by hand first with CREATE
-- INDEX CONCURRENTLY, same name and definition, and this statement finds it).
CREATE INDEX IF NOT EXISTS idx_events_session_live_position
    ON public.tracking_events (session_id, live_position) WHERE live_position IS NOT NULL;

-- THE hook of the live feed into ingestion: one notification per session per statement that
-- stored events, sent by PostgreSQL when the statement's transaction commits (duplicates within
-- a transaction are merged). The payload names the project and session only; listeners read
-- the events themselves, once per worker, from their position.
CREATE OR REPLACE FUNCTION public.nexero_live_notify_events() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nexero_live', stored.project_id::text || ':' || stored.session_id::text)
    FROM (SELECT DISTINCT project_id, session_id FROM stored_rows) AS stored;
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS tracking_events_live_notify ON public.tracking_events;
CREATE TRIGGER tracking_events_live_notify
    AFTER INSERT ON public.tracking_events
    REFERENCING NEW TABLE AS stored_rows
    FOR EACH STATEMENT EXECUTE FUNCTION public.nexero_live_notify_events();

-- A tour that starts or changes status (ends, times out, resumes) is news for the project feed.
CREATE OR REPLACE FUNCTION public.nexero_live_notify_session() RETURNS TRIGGER
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('nexero_live', NEW.project_id::text || ':' || NEW.id::text);
    RETURN NULL;
END
$$;

DROP TRIGGER IF EXISTS vr_sessions_live_notify_insert ON public.vr_sessions;
CREATE TRIGGER vr_sessions_live_notify_insert
    AFTER INSERT ON public.vr_sessions
    FOR EACH ROW EXECUTE FUNCTION public.nexero_live_notify_session();

DROP TRIGGER IF EXISTS vr_sessions_live_notify_status ON public.vr_sessions;
CREATE TRIGGER vr_sessions_live_notify_status
    AFTER UPDATE OF status ON public.vr_sessions
    FOR EACH ROW WHEN (OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION public.nexero_live_notify_session();

-- Open streams, counted against LIVE_STREAMS_PER_KEY across every worker and replica. Each
-- worker refreshes seen_at of its own streams; a row not refreshed for a while belongs to a
-- worker that died and no longer counts.
CREATE TABLE IF NOT EXISTS public.live_streams (
    id UUID PRIMARY KEY,
    key_id UUID NOT NULL,
    project_id UUID NOT NULL,
    opened_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    seen_at TIMESTAMPTZ NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS idx_live_streams_key ON public.live_streams (key_id, seen_at);

-- The secret that signs short-lived stream tokens, one for every replica (made at start-up).
CREATE TABLE IF NOT EXISTS public.live_token_secrets (
    id SMALLINT PRIMARY KEY CONSTRAINT live_token_secrets_one_row CHECK (id = 1),
    secret BYTEA NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT now()
);

ALTER TABLE public.live_streams ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.live_token_secrets ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    table_name TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        FOREACH table_name IN ARRAY ARRAY['live_streams', 'live_token_secrets']
        LOOP
            IF NOT EXISTS (
                SELECT 1 FROM pg_policies
                WHERE schemaname = 'public' AND tablename = table_name
                  AND policyname = 'Allow all for service role'
            ) THEN
                EXECUTE format(
                    'CREATE POLICY "Allow all for service role" ON public.%I '
                    'FOR ALL TO service_role USING (true) WITH CHECK (true)',
                    table_name
                );
            END IF;
        END LOOP;
    END IF;
END
$$;
