-- create_event takes over an idempotency key older than --idempotency-window, as the socket door
-- does (storage/idempotency_keys.h), also before the background removal has deleted it; until
-- now it answered such a key as a duplicate. The window is the daemon's setting: each node
-- writes its own with its heartbeat, and create_event uses the largest among the live nodes
-- (a key stays unique while any live node would still call it a duplicate), else the largest
-- recorded, else the default of 24 hours. Same signature and grants as 012, plus the producer's
-- reads and updates named in packaging/roles.sql.
ALTER TABLE {{schema}}.tpubsub_nodes ADD COLUMN IF NOT EXISTS idempotency_window_s bigint;

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
    v_window float8;
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
        SELECT coalesce(max(idempotency_window_s) FILTER (
                            WHERE last_heartbeat > now() - make_interval(secs => dead_after_s)),
                        max(idempotency_window_s), 86400)
          INTO v_window FROM {{schema}}.tpubsub_nodes;
        -- Waits for a concurrent holder of the key to commit or roll back, then reads its row.
        INSERT INTO {{schema}}.tpubsub_idempotency_keys AS k (idempotency_key, event_id)
        VALUES (p_idempotency_key, v_id)
        ON CONFLICT (idempotency_key) DO UPDATE SET
            event_id = CASE WHEN k.created_at < now() - make_interval(secs => v_window)
                            THEN EXCLUDED.event_id ELSE k.event_id END,
            created_at = CASE WHEN k.created_at < now() - make_interval(secs => v_window)
                              THEN now() ELSE k.created_at END
        RETURNING event_id INTO v_first;
        IF v_first <> v_id THEN
            RETURN v_first;  -- a duplicate: nothing is created
        END IF;
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
