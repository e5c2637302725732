-- What the Unreal clients in the field need (docs/unreal-client.md, docs/ingestion.md):
--
-- - projects.time_zone: where the headsets' local times (sent without a UTC offset) are read
--   when the request itself does not reveal the offset.
-- - projects.accepts_keyless_records: an unchanged original client sends no API key; at most
--   one project may take its records without one (write-only, the legacy endpoint only).
-- - api_keys.default_labels: property_id and device_type a key writes onto the sessions it
--   creates, so that one build per property is labelled without code changes.
-- - vr_sessions.client_session_id: the id as the client first wrote it (an FGuid), when that is
--   not the canonical UUID text; vr_sessions.local_time_rule: how its local times were read.
-- - legacy_records: the original client's view, POI and unit selection records, kept until
--   the session summary that covers them arrives (then they become the session's events).
-- - legacy_tours: which client sent a summary and where its records are laid out.
-- - pending_events: events for a session not known (yet), kept until it is.

ALTER TABLE public.projects
    ADD COLUMN IF NOT EXISTS time_zone TEXT NOT NULL DEFAULT 'UTC',
    ADD COLUMN IF NOT EXISTS accepts_keyless_records BOOLEAN NOT NULL DEFAULT false;

CREATE UNIQUE INDEX IF NOT EXISTS uq_projects_keyless_records
    ON public.projects ((true)) WHERE accepts_keyless_records;

ALTER TABLE public.api_keys
    ADD COLUMN IF NOT EXISTS default_labels JSONB NOT NULL DEFAULT '{}'::jsonb;

ALTER TABLE public.vr_sessions
    ADD COLUMN IF NOT EXISTS client_session_id TEXT,
    ADD COLUMN IF NOT EXISTS local_time_rule TEXT;

ALTER TABLE public.vr_sessions
    DROP CONSTRAINT IF EXISTS vr_sessions_local_time_rule_check,
    ADD CONSTRAINT vr_sessions_local_time_rule_check
        CHECK (local_time_rule IN ('sent_at', 'session_end', 'project_time_zone'));

CREATE TABLE IF NOT EXISTS public.legacy_records (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id UUID NOT NULL CONSTRAINT legacy_records_project_id_fkey
        REFERENCES public.projects (id),
    -- The sender: its key (NULL: keyless) and address. Records without a session id are linked
    -- by sender and receive time.
    key_id UUID,
    client_address TEXT NOT NULL,
    session_id UUID,
    event_type TEXT NOT NULL,
    record JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Laid out on its session's timeline (a tracking_events row); kept a while for retries.
    attached BOOLEAN NOT NULL DEFAULT false
);

CREATE INDEX IF NOT EXISTS idx_legacy_records_sender
    ON public.legacy_records (project_id, client_address, received_at);
CREATE INDEX IF NOT EXISTS idx_legacy_records_session
    ON public.legacy_records (project_id, session_id) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS idx_legacy_records_received ON public.legacy_records (received_at);

CREATE TABLE IF NOT EXISTS public.legacy_tours (
    session_id UUID PRIMARY KEY,
    project_id UUID NOT NULL,
    key_id UUID,
    client_address TEXT NOT NULL,
    -- Records received in [covers_from, covers_until] by the same sender belong to the tour.
    covers_from TIMESTAMPTZ NOT NULL,
    covers_until TIMESTAMPTZ NOT NULL,
    -- Where the next record is laid out: the session's start plus the views laid out so far.
    layout_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT legacy_tours_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES public.vr_sessions (project_id, id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_legacy_tours_sender
    ON public.legacy_tours (project_id, client_address, covers_until);

CREATE TABLE IF NOT EXISTS public.pending_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id UUID NOT NULL CONSTRAINT pending_events_project_id_fkey
        REFERENCES public.projects (id),
    session_id UUID NOT NULL,
    event_id UUID NOT NULL,
    content_id UUID NOT NULL,
    event_type TEXT NOT NULL,
    client_timestamp TIMESTAMPTZ NOT NULL,
    -- The clock correction the request measured (NULL: it carried no sent_at).
    measured_offset INTERVAL,
    event_data JSONB NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    CONSTRAINT uq_pending_events UNIQUE (project_id, session_id, event_id)
);

CREATE INDEX IF NOT EXISTS idx_pending_events_received ON public.pending_events (received_at);

ALTER TABLE public.legacy_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.legacy_tours ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.pending_events ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    table_name TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        FOREACH table_name IN ARRAY ARRAY['legacy_records', 'legacy_tours', 'pending_events']
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
