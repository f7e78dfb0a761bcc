-- Producers (SPEC 7.2): idempotency keys and delayed events.
--
-- Keys live in their own table, so pruning an event does not free its key: a key is unique per
-- schema whatever the event type, node or door. The event that first used a key is inserted in
-- the same transaction as the key (the write-behind's batch, or create_event), so a committed key
-- always names a committed event. pubsubd deletes keys older than --idempotency-window in the
-- background, in bounded batches (storage/idempotency_keys.h).
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_idempotency_keys (
    idempotency_key text PRIMARY KEY CHECK (octet_length(idempotency_key) BETWEEN 1 AND 256),
    event_id        bigint NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS tpubsub_idempotency_keys_created_idx
    ON {{schema}}.tpubsub_idempotency_keys (created_at);

-- Delayed events: a pending row with a run_at in the future is not dispatched before it.
ALTER TABLE {{schema}}.tpubsub_events ADD COLUMN IF NOT EXISTS run_at timestamptz;
CREATE INDEX IF NOT EXISTS tpubsub_events_scheduled_idx
    ON {{schema}}.tpubsub_events (run_at) WHERE status = 'pending' AND run_at IS NOT NULL;

-- create_event with a key and a run_at. The 4-argument function is replaced (two overloads with
-- defaults would make the 3- and 4-argument calls ambiguous); those calls resolve to this one.
DROP FUNCTION IF EXISTS {{schema}}.create_event(text, text, jsonb, int);
CREATE OR REPLACE FUNCTION {{schema}}.create_event(
    p_event_type text,
    p_event_source text,
    p_event_data jsonb,
    p_priority int DEFAULT 5,
    p_idempotency_key text DEFAULT NULL,
    p_run_at timestamptz DEFAULT NULL) RETURNS bigint
LANGUAGE plpgsql AS $$
DECLARE
    v_id bigint;
    v_first bigint;
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
    IF p_idempotency_key IS NOT NULL AND octet_length(p_idempotency_key) NOT BETWEEN 1 AND 256 THEN
        RAISE EXCEPTION 'create_event: idempotency_key must be 1 to 256 bytes, got %',
            octet_length(p_idempotency_key)
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF p_run_at IS NOT NULL AND p_run_at > now() + interval '30 days' THEN
        RAISE EXCEPTION 'create_event: run_at must be at most 30 days ahead, got %', p_run_at
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    v_id := nextval('{{schema}}.tpubsub_events_event_id_seq');
    IF p_idempotency_key IS NOT NULL THEN
        LOOP
            -- Waits for a concurrent holder of the key to commit or roll back.
            INSERT INTO {{schema}}.tpubsub_idempotency_keys (idempotency_key, event_id)
            VALUES (p_idempotency_key, v_id) ON CONFLICT DO NOTHING;
            IF FOUND THEN
                EXIT;
            END IF;
            SELECT event_id INTO v_first FROM {{schema}}.tpubsub_idempotency_keys
             WHERE idempotency_key = p_idempotency_key;
            IF FOUND THEN
                RETURN v_first;  -- a duplicate: nothing is created
            END IF;
            -- The key expired and was deleted meanwhile: try again.
        END LOOP;
    END IF;
    INSERT INTO {{schema}}.tpubsub_events (event_id, event_type, event_source, event_data,
                                           priority, run_at)
    VALUES (v_id, p_event_type, coalesce(p_event_source, ''), coalesce(p_event_data, '{}'::jsonb),
            p_priority, CASE WHEN p_run_at > now() THEN p_run_at END);
    IF coalesce(current_setting('pubsub.notified', true), '') = '' THEN
        PERFORM set_config('pubsub.notified', v_id::text, true);
        PERFORM pg_notify({{schema}}.tpubsub_channel('tpubsub_events'), v_id::text);
    END IF;
    RETURN v_id;
END $$;
