-- tracking_events.id from a time-ordered UUID (version 7, RFC 9562) instead of gen_random_uuid()
-- (docs/performance.md, "Time-ordered event ids"). A random key puts every insert on a random
-- page of the primary key's index: once that index outgrows shared_buffers, each insert may
-- read a page from disk and, after each checkpoint, log the whole page again. A key that starts
-- with the time in milliseconds keeps inserts at the index's right edge, on pages already in
-- memory. PostgreSQL 18 has uuidv7() built in; this works from PostgreSQL 13 (gen_random_uuid
-- is core), needs no extension, and is inlined by the planner into the insert.
--
-- Safe on a live database: the function is new and SET DEFAULT changes only the catalogue (rows
-- already stored keep their random ids; nothing orders by id alone).

CREATE OR REPLACE FUNCTION public.time_ordered_uuid()
RETURNS UUID
LANGUAGE sql
VOLATILE
PARALLEL SAFE
AS $$
    -- A random version 4 UUID whose first 48 bits become the Unix time in milliseconds (big
    -- endian) and whose version nibble becomes 7 (0100 -> 0111: bits 52 and 53 of the bytes,
    -- counted from the low bit of the first). The variant bits stay as gen_random_uuid set
    -- them; the other 74 bits stay random.
    SELECT encode(
        set_bit(
            set_bit(
                overlay(
                    uuid_send(gen_random_uuid())
                    PLACING substring(
                        int8send(floor(extract(epoch FROM clock_timestamp()) * 1000)::BIGINT)
                        FROM 3
                    )
                    FROM 1 FOR 6
                ),
                52, 1
            ),
            53, 1
        ),
        'hex'
    )::UUID
$$;

COMMENT ON FUNCTION public.time_ordered_uuid() IS
    'A version 7 UUID (RFC 9562): Unix milliseconds, then random bits. The default of tracking_events.id.';

ALTER TABLE public.tracking_events ALTER COLUMN id SET DEFAULT public.time_ordered_uuid();
