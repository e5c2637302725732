-- Indexes for exports (docs/exports-and-heatmaps.md; the plans are in
-- docs/explain/heatmap-export.md). An export of events reads a project's events of a period in
-- its order (timestamp, id): this index hands them over in exactly that order, so rows stream
-- from the first one on with no sort of the whole period first, never touches other projects'
-- rows, and counts them (X-Export-Rows) from the index alone. Heatmaps need nothing more: they
-- reach a property's events through its sessions (idx_sessions_project_property_started, 0005)
-- and the session indexes of tracking_events.
--
-- On a large live database, build it by hand first with CREATE INDEX CONCURRENTLY (same name and
-- definition): migrations run in one transaction, where CONCURRENTLY is not possible, and
-- IF NOT EXISTS then makes this file a no-op.

CREATE INDEX IF NOT EXISTS idx_events_project_timestamp
    ON public.tracking_events (project_id, timestamp, id);
