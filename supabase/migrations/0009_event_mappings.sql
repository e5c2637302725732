-- Event mappings (docs/events.md, "Mappings"): how a project's clients' own event types and
-- field names map onto the vocabulary the analytics read. Every save is a new version, kept; the
-- latest is the one in force. Raw events are never rewritten: the analytics apply the mapping
-- as they read, so a new version applies to the events already stored as well.

CREATE TABLE IF NOT EXISTS public.event_mappings (
    project_id UUID NOT NULL CONSTRAINT event_mappings_project_id_fkey
        REFERENCES public.projects (id),
    version INTEGER NOT NULL,
    -- Built-in mappings turned on (app/domain/vocabulary.py, PRESETS).
    presets TEXT[] NOT NULL,
    -- The project's own rules, as validated by the service: a JSON array of
    -- {"source_type", "target_type", "fields": {field: {"path": [...], "unit": ...}}}.
    rules JSONB NOT NULL,
    actor TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    CONSTRAINT event_mappings_pkey PRIMARY KEY (project_id, version),
    CONSTRAINT event_mappings_version_check CHECK (version > 0),
    CONSTRAINT event_mappings_rules_check CHECK (jsonb_typeof(rules) = 'array')
);

ALTER TABLE public.event_mappings ENABLE ROW LEVEL SECURITY;

DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role')
       AND NOT EXISTS (
           SELECT 1 FROM pg_policies
           WHERE schemaname = 'public' AND tablename = 'event_mappings'
             AND policyname = 'Allow all for service role'
       ) THEN
        CREATE POLICY "Allow all for service role" ON public.event_mappings
            FOR ALL TO service_role USING (true) WITH CHECK (true);
    END IF;
END
$$;
