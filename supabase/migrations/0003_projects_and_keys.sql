-- Tenants and access: projects own every session, event and rejected event; API keys (stored only
-- as SHA-256 hashes) belong to a project and carry scopes; an audit log records key changes and
-- erasures and outlives what it describes; rate-limit buckets shared by every worker.
--
-- Data written before keys existed goes to the default project. Adding a NOT NULL column with a
-- constant default is a catalogue change in PostgreSQL 11+, not a table rewrite; the defaults are
-- dropped afterwards so that every new row must name its project.

CREATE TABLE IF NOT EXISTS public.projects (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    name TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT projects_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200)
);

INSERT INTO public.projects (id, name)
VALUES ('00000000-0000-0000-0000-000000000001', 'default')
ON CONFLICT (id) DO NOTHING;

ALTER TABLE public.vr_sessions
    ADD COLUMN IF NOT EXISTS project_id UUID NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000001'
        CONSTRAINT vr_sessions_project_id_fkey REFERENCES public.projects (id);
ALTER TABLE public.vr_sessions ALTER COLUMN project_id DROP DEFAULT;
-- The target of the events' composite key below: an event's project is its session's project.
ALTER TABLE public.vr_sessions
    ADD CONSTRAINT uq_sessions_project_id UNIQUE (project_id, id);

ALTER TABLE public.tracking_events
    ADD COLUMN IF NOT EXISTS project_id UUID NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000001';
ALTER TABLE public.tracking_events ALTER COLUMN project_id DROP DEFAULT;
-- Replaces the original session foreign key (same cascade) with one that also pins the project.
ALTER TABLE public.tracking_events DROP CONSTRAINT IF EXISTS tracking_events_session_id_fkey;
ALTER TABLE public.tracking_events
    ADD CONSTRAINT tracking_events_session_fkey FOREIGN KEY (project_id, session_id)
        REFERENCES public.vr_sessions (project_id, id) ON DELETE CASCADE;

ALTER TABLE public.rejected_events
    ADD COLUMN IF NOT EXISTS project_id UUID NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000001'
        CONSTRAINT rejected_events_project_id_fkey REFERENCES public.projects (id);
ALTER TABLE public.rejected_events ALTER COLUMN project_id DROP DEFAULT;
CREATE INDEX IF NOT EXISTS idx_rejected_events_project_received
    ON public.rejected_events (project_id, received_at);

CREATE TABLE IF NOT EXISTS public.api_keys (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id UUID NOT NULL CONSTRAINT api_keys_project_id_fkey REFERENCES public.projects (id),
    name TEXT NOT NULL,
    -- The key's first characters, not secret: how people tell their keys apart, and the index
    -- that finds the candidates whose hash is then compared in constant time.
    key_prefix TEXT NOT NULL,
    key_hash BYTEA NOT NULL,
    scopes TEXT[] NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    last_used_at TIMESTAMPTZ,
    revoked_at TIMESTAMPTZ,
    CONSTRAINT api_keys_name_check CHECK (length(btrim(name)) BETWEEN 1 AND 200),
    CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read', 'admin']::text[]
    ),
    CONSTRAINT api_keys_hash_length_check CHECK (octet_length(key_hash) = 32)
);

CREATE UNIQUE INDEX IF NOT EXISTS uq_api_keys_hash ON public.api_keys (key_hash);
CREATE INDEX IF NOT EXISTS idx_api_keys_prefix ON public.api_keys (key_prefix);
CREATE INDEX IF NOT EXISTS idx_api_keys_project ON public.api_keys (project_id);

-- Who did what to whom, kept after the subject is gone (an erased customer is recorded by a
-- hash of their id, never the id itself).
CREATE TABLE IF NOT EXISTS public.audit_log (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    project_id UUID NOT NULL CONSTRAINT audit_log_project_id_fkey REFERENCES public.projects (id),
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    details JSONB NOT NULL DEFAULT '{}'::jsonb,
    occurred_at TIMESTAMPTZ NOT NULL DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_audit_log_project_occurred
    ON public.audit_log (project_id, occurred_at);

-- Token buckets as a GCRA "theoretical arrival time" per key and scope. Unlogged: after a crash
-- the buckets start full again, which is harmless, and updates skip the WAL.
CREATE UNLOGGED TABLE IF NOT EXISTS public.rate_limit_buckets (
    bucket TEXT PRIMARY KEY,
    theoretical_arrival_at TIMESTAMPTZ NOT NULL
);

ALTER TABLE public.projects ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.rate_limit_buckets ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    table_name TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        FOREACH table_name IN ARRAY ARRAY['projects', 'api_keys', 'audit_log', 'rate_limit_buckets']
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
