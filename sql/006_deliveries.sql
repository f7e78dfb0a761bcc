-- Deliveries (SPEC 4): one row per (event, subscriber) whose delivery is worth remembering, and
-- the config_id check for subscribers of the platform's job types.
--
-- Rows are written by the router's write-behind in the same transaction as the event rows.
-- Not every delivery gets a row (see router/delivery.h): a delivery is recorded when it fails
-- (status `retrying` with next_attempt_at, or `dead` once its retries are exhausted), when it
-- completes after a failure, when it completes while another delivery of its event has failed,
-- and when an operator cancels or retries its event. An event whose deliveries all succeeded on
-- their first attempt has no rows: its `completed` row with retry_count 0 implies them.
-- No foreign key to tpubsub_events: it would cost a lookup per row on the write path, and
-- rows of deleted events are harmless.
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_deliveries (
    event_id        bigint NOT NULL,
    subscriber_id   bigint NOT NULL,
    subscriber_name text NOT NULL DEFAULT '',
    status          text NOT NULL
                    CHECK (status IN ('pending', 'retrying', 'completed', 'dead', 'cancelled')),
    attempts        int NOT NULL DEFAULT 0,     -- attempts started, over the delivery's life
    retry_base      int NOT NULL DEFAULT 0,     -- attempts made before the last operator retry
    last_error      text,
    next_attempt_at timestamptz,                -- when a `retrying` delivery runs again
    started_at      timestamptz,                -- start of the latest attempt
    finished_at     timestamptz,                -- end of the latest attempt
    version         int NOT NULL DEFAULT 0,     -- the writer's order: an older write never wins
    PRIMARY KEY (event_id, subscriber_id)
);

-- A subscriber of job type import / inbox_processor / report must name a config row that exists,
-- when the platform's config table is present in this schema: timportconfig.config_id,
-- tinboxconfig.inbox_config_id, treportmanager.report_id. Checked here so that every writer
-- (pubsubctl, the HTTP admin, plain SQL) gets the same refusal. An UPDATE that changes neither
-- job_type nor config_id (enable, disable, a new filter) is not checked, so a subscriber whose
-- config row was deleted can still be disabled; its deliveries fail with the reason at run time.
CREATE OR REPLACE FUNCTION {{schema}}.tpubsub_subscribers_check_config() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v_table regclass;
    v_column text;
    v_found bool;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.job_type = OLD.job_type
       AND NEW.config_id IS NOT DISTINCT FROM OLD.config_id THEN
        RETURN NEW;
    END IF;
    IF NEW.job_type = 'import' THEN
        v_table := to_regclass('{{schema}}.timportconfig');
        v_column := 'config_id';
    ELSIF NEW.job_type = 'inbox_processor' THEN
        v_table := to_regclass('{{schema}}.tinboxconfig');
        v_column := 'inbox_config_id';
    ELSIF NEW.job_type = 'report' THEN
        v_table := to_regclass('{{schema}}.treportmanager');
        v_column := 'report_id';
    ELSE
        RETURN NEW;
    END IF;
    IF v_table IS NULL THEN
        RETURN NEW;  -- the platform table is not installed here: nothing to check against
    END IF;
    IF NEW.config_id IS NULL THEN
        RAISE EXCEPTION 'subscriber "%": job_type % needs a config_id (a %.% value)',
            NEW.subscriber_name, NEW.job_type, v_table, v_column
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I = $1)', v_table, v_column)
        INTO v_found USING NEW.config_id;
    IF NOT v_found THEN
        RAISE EXCEPTION 'subscriber "%": config_id % not found in %.%',
            NEW.subscriber_name, NEW.config_id, v_table, v_column
            USING ERRCODE = 'foreign_key_violation';
    END IF;
    RETURN NEW;
END $$;

DROP TRIGGER IF EXISTS tpubsub_subscribers_config ON {{schema}}.tpubsub_subscribers;
CREATE TRIGGER tpubsub_subscribers_config
    BEFORE INSERT OR UPDATE ON {{schema}}.tpubsub_subscribers
    FOR EACH ROW EXECUTE FUNCTION {{schema}}.tpubsub_subscribers_check_config();
