-- File-watcher exactly-once across a crash (SPEC 3.2). The watcher records a file in
-- tpubsub_watched_files only after its event committed, on another connection, so a crash in
-- between would leave a committed file_received event without its row and the file would be
-- emitted again. Instead of trusting the table alone, the watcher's start folds the committed
-- file_received events of its own source into it: events_before is the time before which every
-- event the watcher submitted is already reflected in the table (written with the table's own
-- changes), so start-up only reads the events created since then, through the index below.
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_watch_checkpoints (
    watch_dir      text PRIMARY KEY,       -- the configured --watch directory
    events_before  timestamptz NOT NULL    -- events created earlier are all in watched_files
);

-- Only file_received rows enter it; other events pay the predicate check alone.
CREATE INDEX IF NOT EXISTS tpubsub_events_file_received_idx
    ON {{schema}}.tpubsub_events (event_source, created_at) WHERE event_type = 'file_received';
