-- A refusal is recorded once (docs/ingestion.md, "One bad event never sinks a batch"): a client
-- that retries a batch sends its refused events again, and each retry used to add them again
-- (7 refusals became 14 rows under two request ids). A refusal is now identified by what was
-- refused and why (session, field, reason, the event as sent); a repeat counts an attempt on
-- the first row and notes the latest request.

ALTER TABLE public.rejected_events
    ADD COLUMN IF NOT EXISTS refusal_key UUID GENERATED ALWAYS AS (
        md5(coalesce(session_id::text, '') || '|' || coalesce(field, '') || '|' || reason
            || '|' || payload)::uuid
    ) STORED,
    ADD COLUMN IF NOT EXISTS attempts INTEGER NOT NULL DEFAULT 1,
    ADD COLUMN IF NOT EXISTS last_request_id TEXT,
    ADD COLUMN IF NOT EXISTS last_received_at TIMESTAMPTZ;

-- Rows recorded twice before this migration: the first keeps the count of the others.
WITH repeats AS (
    SELECT id, project_id, refusal_key,
           min(id) OVER (PARTITION BY project_id, refusal_key) AS first_id,
           count(*) OVER (PARTITION BY project_id, refusal_key) AS copies,
           max(received_at) OVER (PARTITION BY project_id, refusal_key) AS latest
    FROM public.rejected_events
),
counted AS (
    UPDATE public.rejected_events AS r
    SET attempts = repeats.copies, last_received_at = repeats.latest
    FROM repeats
    WHERE r.id = repeats.first_id AND repeats.id = repeats.first_id AND repeats.copies > 1
)
DELETE FROM public.rejected_events AS r
USING repeats
WHERE r.id = repeats.id AND repeats.id <> repeats.first_id;

CREATE UNIQUE INDEX IF NOT EXISTS uq_rejected_events_refusal
    ON public.rejected_events (project_id, refusal_key);
