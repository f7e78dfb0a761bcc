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


-- NOTIFY channels per schema (SPEC 7.6): `dba` keeps the plain names, another schema `s` uses
-- tpubsub_events_s, tpubsub_ingest_s, and so on (storage/channels.h computes the same names).
-- The schema's name is read from the catalog (the row type of its events table), so no literal
-- of it is needed here.
CREATE OR REPLACE FUNCTION {{schema}}.tpubsub_channel(p_base text) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT CASE WHEN n.nspname = 'dba' THEN p_base ELSE p_base || '_' || n.nspname END
    FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace
    WHERE t.oid = pg_typeof(NULL::{{schema}}.tpubsub_events)
$$;

CREATE OR REPLACE FUNCTION {{schema}}.tpubsub_subscribers_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify({{schema}}.tpubsub_channel('tpubsub_subscribers'), TG_OP);
    RETURN NULL;
END $$;

-- create_event as in 005_sql_door.sql, waking the routers on its schema's channel.
CREATE OR REPLACE FUNCTION {{schema}}.create_event(
    p_event_type text,
    p_event_source text,
    p_event_data jsonb,
    p_priority int DEFAULT 5) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
BEGIN
    IF p_event_type IS NULL OR p_event_type = '' THEN
        RAISE EXCEPTION 'create_event: event_type must be a non-empty text'
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_priority IS NULL OR p_priority < 1 OR p_priority > 10 THEN
        RAISE EXCEPTION 'create_event: priority must be between 1 and 10 (10 is the most urgent), got %',
            coalesce(p_priority::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_event_data IS NOT NULL AND jsonb_typeof(p_event_data) <> 'object' THEN
        RAISE EXCEPTION 'create_event: event_data must be a JSON object, got %',
            jsonb_typeof(p_event_data)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    INSERT INTO {{schema}}.tpubsub_events (event_type, event_source, event_data, priority)
    VALUES (p_event_type, coalesce(p_event_source, ''), coalesce(p_event_data, '{}'::jsonb),
            p_priority)
    RETURNING event_id INTO v_id;
    IF coalesce(current_setting('pubsub.notified', true), '') = '' THEN
        PERFORM set_config('pubsub.notified', v_id::text, true);
        PERFORM pg_notify({{schema}}.tpubsub_channel('tpubsub_events'), v_id::text);
    END IF;
    RETURN v_id;
END $$;
