-- Searches by type or source in a time range (SPEC 7.4).
--
-- A time-ranged search reads tpubsub_events_created_idx (013) backwards and filters, so its
-- cost is limit / selectivity rows: fine for a common type, most of the range for one that
-- matches 1 row in thousands. Indexes on (event_type, created_at) and (event_source,
-- created_at) would make rare values fast, but they cost about a quarter of end-to-end ingest
-- (bench/RESULTS.md), paid by every event, so they are not built here. An operator who needs
-- them can build them with CREATE INDEX CONCURRENTLY (text_pattern_ops on the text column, so
-- a LIKE prefix is a range); storage/event_queries.cc sends exact values as equalities, which
-- such indexes serve in created_at order.
--
-- Finer statistics on the two columns, so that the planner tells a rare value or prefix from a
-- common one: with the default (100) a table of a few hundred sources leaves a rare source
-- estimated like a common one, and a prefix's range estimated from 100 histogram buckets, and
-- the planner then walks created_at through the whole range. ANALYZE samples 300,000 rows.
ALTER TABLE {{schema}}.tpubsub_events
    ALTER COLUMN event_type SET STATISTICS 1000,
    ALTER COLUMN event_source SET STATISTICS 1000;

-- Failed events, for "failed" searches combined with a type or source in a range (1 row in
-- thousands, which the created_at walk would read most of the range for). Partial, so only an
-- event's move to failed writes to it: 1% of the rows in a healthy system.
CREATE INDEX IF NOT EXISTS tpubsub_events_failed_created_idx
    ON {{schema}}.tpubsub_events (created_at) WHERE status = 'failed';

-- The queue (the page's open events, priority first): with a large backlog, reading every open
-- row through tpubsub_events_open_idx and sorting grows with the backlog (1,000,000 pending
-- rows: a third of a second); this one reads the first rows of the queue in order.
CREATE INDEX IF NOT EXISTS tpubsub_events_queue_idx
    ON {{schema}}.tpubsub_events (priority DESC, event_id) WHERE status IN ('pending', 'processing');
