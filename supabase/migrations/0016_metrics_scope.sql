-- The metrics scope: a key that may read /metrics, the figures of every project together, so
-- it is granted by the operator (the CLI or NEXERO_BOOTSTRAP_KEY), never by a project's admin
-- key. The scopes CHECK lists the allowed names: replaced by one that also allows it (api_keys
-- is small; the check holds its lock for a moment).

ALTER TABLE public.api_keys DROP CONSTRAINT IF EXISTS api_keys_scopes_check;
ALTER TABLE public.api_keys
    ADD CONSTRAINT api_keys_scopes_check CHECK (
        cardinality(scopes) > 0 AND scopes <@ ARRAY['ingest', 'read', 'admin', 'metrics']::text[]
    );
