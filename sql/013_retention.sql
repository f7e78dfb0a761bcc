-- Retention (SPEC 7.4): finished events older than their status's --retention are deleted in
-- small batches by the pruner (storage/retention.h), oldest first. This index finds them without
-- a scan: it holds finished rows only (open rows live in tpubsub_events_open_idx), keyed by
-- status and completed_at, so each status's batch reads exactly the rows it deletes.
-- Built without CONCURRENTLY: migrations run in a transaction, before the daemon serves.
CREATE INDEX IF NOT EXISTS tpubsub_events_finished_idx
    ON {{schema}}.tpubsub_events (status, completed_at)
    WHERE status IN ('completed', 'failed', 'cancelled');

-- Searches in a time range (the page's log search, /api/events?since=&until=, pubsubctl) read
-- this index backwards from the range's end and stop at their limit, whatever their other
-- conditions, a leading wildcard included (storage/event_queries.h).
CREATE INDEX IF NOT EXISTS tpubsub_events_created_idx
    ON {{schema}}.tpubsub_events (created_at);
