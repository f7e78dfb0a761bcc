-- Each node's own liveness deadline (SPEC 7.6, --node-dead-after): a node is live while its
-- heartbeat is younger than the deadline it wrote itself, so nodes started with different
-- settings agree on who is alive, and the admin page and `pubsubctl status` say the same.
ALTER TABLE {{schema}}.tpubsub_nodes ADD COLUMN IF NOT EXISTS dead_after_s int NOT NULL DEFAULT 30;

-- Fencing: a node that took another's open event (failover) notes from whom and when, so that
-- the node it was taken from, back from a stall, learns which of the events it holds in memory
-- it lost, and starts no handler for them (storage/event_store.h, events_taken_from).
ALTER TABLE {{schema}}.tpubsub_events ADD COLUMN IF NOT EXISTS taken_from text;
ALTER TABLE {{schema}}.tpubsub_events ADD COLUMN IF NOT EXISTS taken_at timestamptz;
CREATE INDEX IF NOT EXISTS tpubsub_events_taken_idx
    ON {{schema}}.tpubsub_events (taken_from, taken_at) WHERE taken_from IS NOT NULL;
