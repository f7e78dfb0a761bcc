-- Retention and searches at scale (SPEC 7.4).
--
-- Searches in a time range (the page's log search, /api/events?since=&until=, pubsubctl) read
-- this index backwards from the range's end and stop at their limit, whatever their other
-- conditions, a leading wildcard included (storage/event_queries.h). The pruner finds expired
-- finished events through it as well (completed_at is never before created_at; see
-- storage/retention.h), so retention needs no index of its own: every index on this table costs
-- each write of the write-behind (bench/RESULTS.md).
-- Built without CONCURRENTLY: migrations run in a transaction, before the daemon serves.
CREATE INDEX IF NOT EXISTS tpubsub_events_created_idx
    ON {{schema}}.tpubsub_events (created_at);
