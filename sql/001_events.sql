-- Events: the table the system being replaced used, with the same column names (SPEC 2).
-- {{schema}} is replaced by the configured schema name (quoted identifier) when applied.
CREATE SCHEMA IF NOT EXISTS {{schema}};

CREATE SEQUENCE IF NOT EXISTS {{schema}}.tpubsub_events_event_id_seq;

CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_events (
    event_id      bigint PRIMARY KEY DEFAULT nextval('{{schema}}.tpubsub_events_event_id_seq'),
    event_type    text NOT NULL,
    event_source  text NOT NULL DEFAULT '',
    event_data    jsonb NOT NULL DEFAULT '{}'::jsonb,
    status        text NOT NULL DEFAULT 'pending'
                  CHECK (status IN ('pending', 'processing', 'completed', 'failed', 'cancelled')),
    priority      smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND 10),
    created_at    timestamptz NOT NULL DEFAULT now(),
    processed_at  timestamptz,
    completed_at  timestamptz,
    error_message text,
    retry_count   int NOT NULL DEFAULT 0
);

ALTER SEQUENCE {{schema}}.tpubsub_events_event_id_seq OWNED BY {{schema}}.tpubsub_events.event_id;

-- Open events, for crash recovery and the sweep; completed rows leave this index.
CREATE INDEX IF NOT EXISTS tpubsub_events_open_idx
    ON {{schema}}.tpubsub_events (event_id) WHERE status IN ('pending', 'processing');
