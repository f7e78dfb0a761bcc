-- Persistent handlers (SPEC 7.3): run_mode `process` starts one process per delivery (SPEC 5a);
-- `persistent` keeps `workers` long-lived processes per node that take deliveries over a pipe.
-- noop runs in-process and has no persistent mode.
ALTER TABLE {{schema}}.tpubsub_subscribers
    ADD COLUMN IF NOT EXISTS run_mode text NOT NULL DEFAULT 'process',
    ADD COLUMN IF NOT EXISTS workers int NOT NULL DEFAULT 1;

ALTER TABLE {{schema}}.tpubsub_subscribers
    DROP CONSTRAINT IF EXISTS tpubsub_subscribers_run_mode_check,
    DROP CONSTRAINT IF EXISTS tpubsub_subscribers_workers_check;
ALTER TABLE {{schema}}.tpubsub_subscribers
    ADD CONSTRAINT tpubsub_subscribers_run_mode_check
        CHECK (run_mode IN ('process', 'persistent')
               AND (run_mode = 'process' OR job_type <> 'noop')),
    ADD CONSTRAINT tpubsub_subscribers_workers_check CHECK (workers BETWEEN 1 AND 64);
