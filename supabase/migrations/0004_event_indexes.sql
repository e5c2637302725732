-- Indexes on tracking_events that no query uses, dropped because every one of them is paid on
-- each event written (measured in docs/performance.md, "Indexes"):
--
-- - idx_events_data, GIN on event_data: nothing queries events by JSON containment; the
--   analytics read events by session and by time. It was the costliest index of the table.
-- - idx_events_type and idx_events_timestamp: every query in app/core reaches events through
--   their session (session_id = ... or a join on it), then filters by type or time; the
--   session-led indexes serve that, and the analytics' own are in 0005.
-- - idx_events_session (session_id): the unique (session_id, event_id) index starts with the same
--   column and serves every lookup by session, the foreign key's cascade included.
--
-- Kept: the primary key and the unique (session_id, event_id) index that de-duplication rests
-- on.
--
-- DROP INDEX holds the table's lock only for the moment it takes to drop the index files. On a
-- very busy database, drop them first by hand with DROP INDEX CONCURRENTLY (same names): this
-- file then has nothing left to do.

DROP INDEX IF EXISTS public.idx_events_data;
DROP INDEX IF EXISTS public.idx_events_type;
DROP INDEX IF EXISTS public.idx_events_timestamp;
DROP INDEX IF EXISTS public.idx_events_session;
