-- One row per pubsubd process attached to this database, refreshed by a heartbeat.
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_nodes (
    node_id        text PRIMARY KEY,
    host           text NOT NULL,
    pid            int NOT NULL,
    version        text NOT NULL,
    started_at     timestamptz NOT NULL DEFAULT now(),
    last_heartbeat timestamptz NOT NULL DEFAULT now(),
    info           jsonb NOT NULL DEFAULT '{}'::jsonb
);
