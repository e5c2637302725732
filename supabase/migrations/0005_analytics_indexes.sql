-- Indexes for the analytics read API (docs/analytics.md; the plans are in
-- docs/explain/analytics.md). Every query filters by project first, so the indexes lead with
-- project_id; events are always reached through their session.
--
-- On a large live database, build these by hand first with CREATE INDEX CONCURRENTLY (same names
-- and definitions): migrations run in one transaction, where CONCURRENTLY is not possible, and
-- IF NOT EXISTS then makes this file a no-op.

-- Sessions of a project by start: lists, overview, daily series, funnel and leads over a period.
CREATE INDEX IF NOT EXISTS idx_sessions_project_started
    ON public.vr_sessions (project_id, started_at, id);

-- The same for one property (property report, filtered lists and KPIs) and one customer
-- (customer summary, filtered lists).
CREATE INDEX IF NOT EXISTS idx_sessions_project_property_started
    ON public.vr_sessions (project_id, property_id, started_at, id);
CREATE INDEX IF NOT EXISTS idx_sessions_project_customer_started
    ON public.vr_sessions (project_id, customer_id, started_at, id);

-- A session's events in timeline order (the order of THE dwell rule): paging through them with
-- a keyset cursor, and counting them by type from the index alone. project_id leads because
-- every query names the caller's project as well as the session.
CREATE INDEX IF NOT EXISTS idx_events_session_timeline
    ON public.tracking_events (project_id, session_id, timestamp, created_at, id)
    INCLUDE (event_type);

-- The events that tell what a visitor did, by type: everything but position samples, which are
-- most of the rows. Place events for dwell, POIs, gazes, interactions, unit selections and a
-- session's timeline are found per session and type without reading any position sample.
CREATE INDEX IF NOT EXISTS idx_events_session_story
    ON public.tracking_events (project_id, session_id, event_type, timestamp, created_at, id)
    WHERE event_type <> 'position';
