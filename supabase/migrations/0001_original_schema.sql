-- The original Nexero schema (vr_sessions, tracking_events, their indexes, the updated_at trigger
-- and row level security). Written to be safe on a database that already has it: every statement
-- is idempotent, so an existing Supabase project adopts the migration history without changes.

CREATE TABLE IF NOT EXISTS public.vr_sessions (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    started_at TIMESTAMPTZ NOT NULL,
    ended_at TIMESTAMPTZ,
    status TEXT DEFAULT 'active' CHECK (status IN ('active', 'completed')),
    customer_id TEXT,
    property_id TEXT,
    device_type TEXT,
    created_at TIMESTAMPTZ DEFAULT NOW(),
    updated_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_sessions_customer ON public.vr_sessions (customer_id);
CREATE INDEX IF NOT EXISTS idx_sessions_property ON public.vr_sessions (property_id);
CREATE INDEX IF NOT EXISTS idx_sessions_start ON public.vr_sessions (started_at);
CREATE INDEX IF NOT EXISTS idx_sessions_status ON public.vr_sessions (status);

CREATE OR REPLACE FUNCTION public.update_updated_at_column()
RETURNS TRIGGER AS $$
BEGIN
    NEW.updated_at = NOW();
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

DROP TRIGGER IF EXISTS update_vr_sessions_updated_at ON public.vr_sessions;
CREATE TRIGGER update_vr_sessions_updated_at
BEFORE UPDATE ON public.vr_sessions
FOR EACH ROW
EXECUTE FUNCTION public.update_updated_at_column();

CREATE TABLE IF NOT EXISTS public.tracking_events (
    id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
    session_id UUID NOT NULL REFERENCES public.vr_sessions (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    timestamp TIMESTAMPTZ NOT NULL,
    event_data JSONB,
    created_at TIMESTAMPTZ DEFAULT NOW()
);

CREATE INDEX IF NOT EXISTS idx_events_session ON public.tracking_events (session_id);
CREATE INDEX IF NOT EXISTS idx_events_type ON public.tracking_events (event_type);
CREATE INDEX IF NOT EXISTS idx_events_timestamp ON public.tracking_events (timestamp);
CREATE INDEX IF NOT EXISTS idx_events_data ON public.tracking_events USING GIN (event_data);

ALTER TABLE public.vr_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.tracking_events ENABLE ROW LEVEL SECURITY;

-- The service_role policy exists only on Supabase; plain PostgreSQL has no such role.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'service_role') THEN
        IF NOT EXISTS (
            SELECT 1 FROM pg_policies
            WHERE schemaname = 'public' AND tablename = 'vr_sessions'
              AND policyname = 'Allow all for service role'
        ) THEN
            CREATE POLICY "Allow all for service role" ON public.vr_sessions
                FOR ALL TO service_role USING (true) WITH CHECK (true);
        END IF;
        IF NOT EXISTS (
            SELECT 1 FROM pg_policies
            WHERE schemaname = 'public' AND tablename = 'tracking_events'
              AND policyname = 'Allow all for service role'
        ) THEN
            CREATE POLICY "Allow all for service role" ON public.tracking_events
                FOR ALL TO service_role USING (true) WITH CHECK (true);
        END IF;
    END IF;
END
$$;
