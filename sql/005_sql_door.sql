-- The PostgreSQL door (SPEC 3.3): create_event(), claims for several routers, NOTIFY wake-ups.

-- The router that owns an open event: its tpubsub_nodes.node_id. NULL for rows inserted by SQL
-- until a router claims them; a row whose owner stopped heart-beating may be claimed again.
ALTER TABLE {{schema}}.tpubsub_events ADD COLUMN IF NOT EXISTS claimed_by text;

-- create_event: inserts a pending event and wakes the routers. The NOTIFY carries only the id of
-- the first event of the transaction and is sent once per transaction (a transaction-local
-- setting remembers it), because NOTIFY serialises commits on a global lock.
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
        PERFORM pg_notify('tpubsub_events', v_id::text);
    END IF;
    RETURN v_id;
END $$;
