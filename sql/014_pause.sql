-- Pause and resume (SPEC 7.4): a paused subscriber, or every subscriber of a paused job type,
-- gets its new deliveries held (delivery status `held`) until it is resumed; nothing is dropped.
-- The state lives here so that every router sharing the schema, and a router started later,
-- sees it: a pause or resume changes a row, and the statement's trigger wakes the routers on the
-- schema's `tpubsub_subscribers` channel (they reload the subscribers and the pauses together).
-- `disable` (is_active) keeps its meaning: a disabled subscriber gets no deliveries at all.
ALTER TABLE {{schema}}.tpubsub_subscribers
    ADD COLUMN IF NOT EXISTS paused bool NOT NULL DEFAULT false;

-- One row per paused job type (import, inbox_processor, report, custom, noop).
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_paused_pools (
    job_type  text PRIMARY KEY
              CHECK (job_type IN ('import', 'inbox_processor', 'report', 'custom', 'noop')),
    paused_at timestamptz NOT NULL DEFAULT now(),
    paused_by text NOT NULL DEFAULT ''
);

DROP TRIGGER IF EXISTS tpubsub_paused_pools_changed ON {{schema}}.tpubsub_paused_pools;
CREATE TRIGGER tpubsub_paused_pools_changed
    AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON {{schema}}.tpubsub_paused_pools
    FOR EACH STATEMENT EXECUTE FUNCTION {{schema}}.tpubsub_subscribers_notify();

-- `held`: a delivery waiting for its subscriber or pool to be resumed. Its event stays open
-- (`pending` while every delivery is held) and is resumed held after a restart.
ALTER TABLE {{schema}}.tpubsub_deliveries
    DROP CONSTRAINT IF EXISTS tpubsub_deliveries_status_check;
ALTER TABLE {{schema}}.tpubsub_deliveries
    ADD CONSTRAINT tpubsub_deliveries_status_check
    CHECK (status IN ('pending', 'retrying', 'completed', 'dead', 'cancelled', 'held'));

-- The held count for status and the page, without a scan of every delivery row.
CREATE INDEX IF NOT EXISTS tpubsub_deliveries_held_idx
    ON {{schema}}.tpubsub_deliveries (subscriber_id) WHERE status = 'held';
