-- Cheaper writes to vr_sessions, which every event request updates (its activity):
--
-- - The original indexes on customer_id, property_id, started_at and status serve no query any
--   more: every read is scoped to a project and uses the (project_id, ...) indexes of 0005, and
--   the timeout sweep uses idx_sessions_active_last_seen. Each was paid on every session write.
-- - Free space on each page (fillfactor 80) lets the frequent updates that change no indexed
--   column stay on their page as heap-only tuples, with no new index entries at all. It applies
--   to pages written from now on.

DROP INDEX IF EXISTS public.idx_sessions_customer;
DROP INDEX IF EXISTS public.idx_sessions_property;
DROP INDEX IF EXISTS public.idx_sessions_start;
DROP INDEX IF EXISTS public.idx_sessions_status;

ALTER TABLE public.vr_sessions SET (fillfactor = 80);
