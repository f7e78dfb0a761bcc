-- Each node's own liveness deadline (SPEC 7.6, --node-dead-after): a node is live while its
-- heartbeat is younger than the deadline it wrote itself, so nodes started with different
-- settings agree on who is alive, and the admin page and `pubsubctl status` say the same.
ALTER TABLE {{schema}}.tpubsub_nodes ADD COLUMN IF NOT EXISTS dead_after_s int NOT NULL DEFAULT 30;
