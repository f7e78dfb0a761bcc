-- Event chunks: where in the id space each stretch of events lies in time, and which types and
-- sources occur in it (SPEC 7.4 searches, retention).
--
-- One row summarises up to 256 events that one writer inserted together (a write-behind batch,
-- a claim of SQL-door events), in event_id order: their id range, their created_at range and a
-- Bloom filter of their types and sources (exact values and prefixes). A time-ranged search or
-- a search for a rare type or source first reads the chunks that can hold a match, then reads
-- only those id ranges through the primary key (storage/event_chunks.h). That replaces the
-- per-row created_at index of 013: one chunk row per 256 events costs each batch far less
-- than an index entry per event (bench/RESULTS.md), and it serves rare values that a
-- created_at walk would read most of its range for.
--
-- Ranges may overlap (a row that two writers summarised); readers merge them. A NULL bloom
-- means "unknown" (rows summarised here at upgrade): such a chunk is always read. Rows are
-- never updated; the pruner deletes a chunk once no event is left in its range.
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_event_chunks (
    first_id     bigint NOT NULL,
    last_id      bigint NOT NULL,
    min_created  timestamptz NOT NULL,
    max_created  timestamptz NOT NULL,
    n_events     int NOT NULL,
    values_bloom bytea,
    CHECK (first_id <= last_id AND min_created <= max_created)
);
-- The bloom (1 KiB) stays in the row: out-of-line storage would cost a TOAST read per chunk.
ALTER TABLE {{schema}}.tpubsub_event_chunks ALTER COLUMN values_bloom SET STORAGE MAIN;
-- Newest first without a time range; paging with `before`.
CREATE INDEX IF NOT EXISTS tpubsub_event_chunks_last_idx
    ON {{schema}}.tpubsub_event_chunks (last_id);
-- A time range: recent windows by their start, old ones (and the pruner) by their end. Each
-- carries the other columns a window needs, so selecting a window's chunks is an index-only
-- scan that never reads the rows' blooms; only the chunks a search gets to are then read whole
-- (by last_id) for their filters.
DROP INDEX IF EXISTS {{schema}}.tpubsub_event_chunks_max_created_idx;
DROP INDEX IF EXISTS {{schema}}.tpubsub_event_chunks_min_created_idx;
CREATE INDEX IF NOT EXISTS tpubsub_event_chunks_ends_idx
    ON {{schema}}.tpubsub_event_chunks (max_created) INCLUDE (min_created, first_id, last_id);
CREATE INDEX IF NOT EXISTS tpubsub_event_chunks_starts_idx
    ON {{schema}}.tpubsub_event_chunks (min_created) INCLUDE (max_created, first_id, last_id);

-- Events that exist already: chunks of 256 consecutive ids, with an unknown bloom.
INSERT INTO {{schema}}.tpubsub_event_chunks
    (first_id, last_id, min_created, max_created, n_events, values_bloom)
SELECT min(event_id), max(event_id), min(created_at), max(created_at), count(*), NULL
FROM {{schema}}.tpubsub_events
WHERE NOT EXISTS (SELECT 1 FROM {{schema}}.tpubsub_event_chunks)
GROUP BY event_id / 256;

DROP INDEX IF EXISTS {{schema}}.tpubsub_events_created_idx;

-- Failed events by id rather than by created_at (015's index): a search for failed events in a
-- time range walks the failed events of the range's chunks newest id first and stops at its
-- limit, where an index on created_at would have to be read over the whole span and sorted.
-- The listing of recently failed events (newest id first, no range) reads it the same way.
-- It carries the columns a search tests (time, type, source), so failed events of a type are
-- found by an index-only scan rather than a heap read per failed event. Partial, so only an
-- event's move to failed writes to it (1% of the rows in a healthy system).
DROP INDEX IF EXISTS {{schema}}.tpubsub_events_failed_created_idx;
CREATE INDEX IF NOT EXISTS tpubsub_events_failed_idx
    ON {{schema}}.tpubsub_events (event_id) INCLUDE (created_at, event_type, event_source)
    WHERE status = 'failed';

-- Cancelled events the same way: "retry all matching (N)" counts failed and cancelled events
-- of a search (storage/event_bulk.h), each status through its own index, where a count over
-- the table would read every event of the selection's ids (about a second at 10,000,000).
CREATE INDEX IF NOT EXISTS tpubsub_events_cancelled_idx
    ON {{schema}}.tpubsub_events (event_id) INCLUDE (created_at, event_type, event_source)
    WHERE status = 'cancelled';
-- And by type or source, for the same counts with a type or source (an exact value or a
-- prefix: text_pattern_ops serves LIKE 'prefix%' under any collation): without them, a value
-- in a few thousand of 600,000 failed or cancelled events read them all (60 to 90 ms at
-- 10,000,000 events); with them, its own entries (bench/RESULTS.md). Only events that fail or
-- are cancelled write to them.
CREATE INDEX IF NOT EXISTS tpubsub_events_retryable_type_idx
    ON {{schema}}.tpubsub_events (status, event_type text_pattern_ops, event_id)
    INCLUDE (created_at, event_source) WHERE status IN ('failed', 'cancelled');
CREATE INDEX IF NOT EXISTS tpubsub_events_retryable_source_idx
    ON {{schema}}.tpubsub_events (status, event_source text_pattern_ops, event_id)
    INCLUDE (created_at) WHERE status IN ('failed', 'cancelled');
