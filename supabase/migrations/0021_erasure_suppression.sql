-- Erasure sticks (docs/security.md, "Erasure"): an erased customer's id (as the audit log names
-- it, a SHA-256 of project and id, never the id itself) and the ids of the sessions erased with
-- it are remembered, and writes for them are refused and counted instead of bringing the data
-- back (a re-sent start, an offline cache flushed later). An admin may lift it, audited.

CREATE TABLE IF NOT EXISTS public.erased_customers (
    project_id UUID NOT NULL CONSTRAINT erased_customers_project_id_fkey
        REFERENCES public.projects (id),
    customer_reference TEXT NOT NULL,
    erased_at TIMESTAMPTZ NOT NULL DEFAULT NOW(),
    -- Writes refused since: sessions, events and records for the customer or its sessions.
    refused_writes BIGINT NOT NULL DEFAULT 0,
    last_refused_at TIMESTAMPTZ,
    CONSTRAINT erased_customers_pkey PRIMARY KEY (project_id, customer_reference)
);

CREATE TABLE IF NOT EXISTS public.erased_sessions (
    project_id UUID NOT NULL,
    session_id UUID NOT NULL,
    customer_reference TEXT NOT NULL,
    CONSTRAINT erased_sessions_pkey PRIMARY KEY (project_id, session_id),
    CONSTRAINT erased_sessions_customer_fkey FOREIGN KEY (project_id, customer_reference)
        REFERENCES public.erased_customers (project_id, customer_reference) ON DELETE CASCADE
);

CREATE INDEX IF NOT EXISTS idx_erased_sessions_customer
    ON public.erased_sessions (project_id, customer_reference);

ALTER TABLE public.erased_customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.erased_sessions ENABLE ROW LEVEL SECURITY;

DO $$
DECLARE
    table_name TEXT;
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        FOREACH table_name IN ARRAY ARRAY['erased_customers', 'erased_sessions']
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
