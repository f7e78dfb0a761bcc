-- Claims whose reply was lost (sql/005_sql_door.sql, storage/event_store.h).
--
-- A router claims SQL-created rows with one UPDATE ... RETURNING. When its connection dies after
-- that UPDATE committed but before the rows reached the router, the rows stay claimed by a node
-- that is alive and so are never claimed again. Every claim therefore carries a random token;
-- after a reconnect the router reloads the rows of the claims it never saw answered.
ALTER TABLE {{schema}}.tpubsub_events ADD COLUMN IF NOT EXISTS claim_token bigint;
