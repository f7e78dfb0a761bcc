-- File-watcher state (SPEC 3.2): one row per file the watcher has emitted a file_received event
-- for, written only after the intake acknowledged that event durably. A file whose size or
-- mtime differs from its row is a new version and is emitted again; rows of files that left
-- the watched tree are deleted, so the table holds about as many rows as the tree holds files.
CREATE TABLE IF NOT EXISTS {{schema}}.tpubsub_watched_files (
    path       text PRIMARY KEY,           -- absolute path of the file
    watch_dir  text NOT NULL,              -- the configured --watch directory it lies under
    size       bigint NOT NULL,
    mtime      timestamptz NOT NULL,       -- the file's mtime, microsecond precision
    event_id   bigint NOT NULL,            -- the file_received event emitted for this version
    seen_at    timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS tpubsub_watched_files_dir_idx
    ON {{schema}}.tpubsub_watched_files (watch_dir);
