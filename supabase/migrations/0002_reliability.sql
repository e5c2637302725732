-- What reliable ingestion needs on top of the original schema: session liveness, last activity
-- and end reasons, the client's own time next to the corrected one, the server's receive time,
-- per-session event ids for de-duplication, and a table for every event that was answered but
-- not stored.

ALTER TABLE public.vr_sessions
    -- Server time of the last request about the session: decides when it has gone silent.
    ADD COLUMN IF NOT EXISTS last_seen_at TIMESTAMPTZ,
    -- When the headset was last in use (latest event time or heartbeat): where a timeout ends it.
    ADD COLUMN IF NOT EXISTS last_activity_at TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS end_reason TEXT,
    ADD COLUMN IF NOT EXISTS duration_seconds INTEGER
        GENERATED ALWAYS AS (round(extract(epoch FROM (ended_at - started_at)))::integer) STORED;

-- Backfill existing rows without touching their updated_at: the trigger is off while we do it.
ALTER TABLE public.vr_sessions DISABLE TRIGGER update_vr_sessions_updated_at;

UPDATE public.vr_sessions AS session
SET last_seen_at = coalesce(last_seen_at, ended_at, started_at),
    -- A session still open was last in use at its latest event, if it has any.
    last_activity_at = coalesce(
        last_activity_at,
        ended_at,
        greatest(started_at, (
            SELECT max(event.timestamp) FROM public.tracking_events AS event
            WHERE event.session_id = session.id
        ))
    ),
    -- The original schema allowed a NULL status; derive it from the session's end.
    status = coalesce(status, CASE WHEN ended_at IS NULL THEN 'active' ELSE 'completed' END),
    -- Sessions the original system completed were ended by their client.
    end_reason = coalesce(end_reason, CASE WHEN ended_at IS NULL THEN NULL ELSE 'client' END)
WHERE last_seen_at IS NULL OR last_activity_at IS NULL OR status IS NULL
   OR (end_reason IS NULL AND ended_at IS NOT NULL);

ALTER TABLE public.vr_sessions ENABLE TRIGGER update_vr_sessions_updated_at;

ALTER TABLE public.vr_sessions
    ALTER COLUMN last_seen_at SET DEFAULT NOW(),
    ALTER COLUMN last_seen_at SET NOT NULL,
    ALTER COLUMN last_activity_at SET NOT NULL,
    ALTER COLUMN status SET NOT NULL;

-- An end before the start is refused by the service, not by a CHECK: the original system wrote
-- such rows, and a CHECK (even NOT VALID) would fail every later update of them, heartbeats and
-- late events included.
ALTER TABLE public.vr_sessions
    DROP CONSTRAINT IF EXISTS vr_sessions_end_reason_check,
    ADD CONSTRAINT vr_sessions_end_reason_check CHECK (end_reason IN ('client', 'timed_out'));

-- The timeout sweep looks for active sessions by last activity.
CREATE INDEX IF NOT EXISTS idx_sessions_active_last_seen
    ON public.vr_sessions (last_seen_at) WHERE status = 'active';

ALTER TABLE public.tracking_events
    ADD COLUMN IF NOT EXISTS event_id UUID,
    -- A hash of the event's content: tells a retry (same content) from an event_id reused for a
    -- different event. NULL for rows written before it existed.
    ADD COLUMN IF NOT EXISTS content_id UUID,
    ADD COLUMN IF NOT EXISTS client_timestamp TIMESTAMPTZ,
    ADD COLUMN IF NOT EXISTS received_at TIMESTAMPTZ;

UPDATE public.tracking_events
SET event_id = coalesce(event_id, id),
    client_timestamp = coalesce(client_timestamp, timestamp),
    received_at = coalesce(received_at, created_at, timestamp)
WHERE event_id IS NULL OR client_timestamp IS NULL OR received_at IS NULL;

ALTER TABLE public.tracking_events
    ALTER COLUMN event_id SET NOT NULL,
    ALTER COLUMN client_timestamp SET NOT NULL,
    ALTER COLUMN received_at SET DEFAULT NOW(),
    ALTER COLUMN received_at SET NOT NULL;

CREATE UNIQUE INDEX IF NOT EXISTS uq_events_session_event_id
    ON public.tracking_events (session_id, event_id);

CREATE TABLE IF NOT EXISTS public.rejected_events (
    id BIGINT GENERATED ALWAYS AS IDENTITY,
    session_id UUID,
    event_index INTEGER,
    field TEXT,
    reason TEXT NOT NULL,
    payload TEXT NOT NULL,
    request_id TEXT,
    received_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT rejected_events_pkey PRIMARY KEY (id),
    CONSTRAINT rejected_events_session_id_fkey FOREIGN KEY (session_id)
        REFERENCES public.vr_sessions (id) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_rejected_events_session ON public.rejected_events (session_id);
CREATE INDEX IF NOT EXISTS idx_rejected_events_received ON public.rejected_events (received_at);

ALTER TABLE public.rejected_events ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND NOT EXISTS (
           SELECT 1 FROM pg_policies
           WHERE schemaname = 'public' AND tablename = 'rejected_events'
             AND policyname = 'Allow all for service role'
       ) THEN
        CREATE POLICY "Allow all for service role" ON public.rejected_events
            FOR ALL TO service_role USING (true) WITH CHECK (true);
    END IF;
END
$$;
