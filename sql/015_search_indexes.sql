-- Searches by type or source in a time range (SPEC 7.4), rare values included.
--
-- Without these, a time-ranged search reads tpubsub_events_created_idx (013) backwards and
-- filters, so its cost is limit / selectivity rows: fine for a common type, most of the range
-- for one that matches 1 row in thousands. With them, an exact type or source (an equality in
-- storage/event_queries.cc) reads only its own rows, newest first, and a prefix glob such as
-- `import.*` reads the prefix's range when the planner expects few rows there (else it keeps
-- the created_at walk, which then stops early). text_pattern_ops so that a LIKE prefix becomes
-- an index range whatever the database's collation (a plain text index serves LIKE prefixes
-- only under the C collation).
-- Built without CONCURRENTLY: migrations run in a transaction, before the daemon serves.
CREATE INDEX IF NOT EXISTS tpubsub_events_type_created_idx
    ON {{schema}}.tpubsub_events (event_type text_pattern_ops, created_at);
CREATE INDEX IF NOT EXISTS tpubsub_events_source_created_idx
    ON {{schema}}.tpubsub_events (event_source text_pattern_ops, created_at);

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
