-- Retention (SPEC 7.4): finished events older than their status's --retention are deleted in
-- small batches by the pruner (storage/retention.h), oldest first. This index finds them without
-- a scan: it holds finished rows only (open rows live in tpubsub_events_open_idx), keyed by
-- status and completed_at, so each status's batch reads exactly the rows it deletes.
-- Built without CONCURRENTLY: migrations run in a transaction, before the daemon serves.
CREATE INDEX IF NOT EXISTS tpubsub_events_finished_idx
    ON {{schema}}.tpubsub_events (status, completed_at)
    WHERE status IN ('completed', 'failed', 'cancelled');
