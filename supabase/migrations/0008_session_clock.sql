-- One clock per session (docs/ingestion.md, "Timestamps and clocks"): the headset's clock error
-- learned from the first request about the session that carried `sent_at`. Requests without
-- `sent_at` are then converted with it, so a session's start, end and events are in one clock.
-- NULL: no request about the session has carried `sent_at` yet. Adding a nullable column with no
-- default is a catalogue change, not a table rewrite.

ALTER TABLE public.vr_sessions ADD COLUMN IF NOT EXISTS clock_offset INTERVAL;
