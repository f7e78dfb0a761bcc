-- Database roles for pubsub. Run as a superuser (or a role with CREATEROLE that owns the
-- database) with psql, before pubsubd's first start and again after it (and after upgrades):
-- the grants on tables and functions need the tables, which pubsubd's migrations create.
--   psql -d DB -v schema=dba -f roles.sql
-- Idempotent. Roles are cluster-wide; grant them to login roles:
--   GRANT pubsub_producer TO etl_job;  ALTER ROLE pubsub_daemon PASSWORD '...';
--
-- pubsub_daemon    LOGIN; owns the schema, applies the migrations, runs the router.
-- pubsub_producer  creates events: EXECUTE on create_event() and INSERT of the four producer
--                  columns of tpubsub_events (the SQL door), nothing else.
-- pubsub_operator  what pubsubctl and the admin API do: read everything, change events,
--                  deliveries and subscribers.
-- PUBLIC loses its default access to the schema and EXECUTE on its functions.
--
-- Any role that can connect may NOTIFY any channel; no grant prevents it. If producers do not
-- use pg_notify('tpubsub_ingest', ...), run pubsubd with --notify-ingest off.
\set ON_ERROR_STOP on
\if :{?schema}
\else
\set schema dba
\endif

SELECT NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pubsub_daemon') AS need_daemon,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pubsub_producer') AS need_producer,
       NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'pubsub_operator') AS need_operator
\gset
\if :need_daemon
CREATE ROLE pubsub_daemon LOGIN;
\endif
\if :need_producer
CREATE ROLE pubsub_producer NOLOGIN;
\endif
\if :need_operator
CREATE ROLE pubsub_operator NOLOGIN;
\endif

-- The daemon creates its schema if missing (CREATE), stages rows in temporary tables (TEMP).
SELECT format('GRANT CONNECT, CREATE, TEMPORARY ON DATABASE %I TO pubsub_daemon',
              current_database()) \gexec
SELECT format('GRANT CONNECT ON DATABASE %I TO pubsub_producer, pubsub_operator',
              current_database()) \gexec
CREATE SCHEMA IF NOT EXISTS :"schema" AUTHORIZATION pubsub_daemon;
ALTER SCHEMA :"schema" OWNER TO pubsub_daemon;
REVOKE ALL ON SCHEMA :"schema" FROM PUBLIC;
GRANT USAGE ON SCHEMA :"schema" TO pubsub_producer, pubsub_operator;
-- Functions are executable by PUBLIC by default; not those the daemon creates from now on.
ALTER DEFAULT PRIVILEGES FOR ROLE pubsub_daemon IN SCHEMA :"schema"
    REVOKE EXECUTE ON FUNCTIONS FROM PUBLIC;

SELECT to_regclass(format('%I.tpubsub_events', :'schema')) IS NOT NULL AS migrated \gset
\if :migrated
-- Objects made before the schema was handed over (say by a superuser's first run) move too.
SELECT format('ALTER TABLE %I.%I OWNER TO pubsub_daemon', schemaname, tablename)
  FROM pg_tables WHERE schemaname = :'schema' AND tableowner <> 'pubsub_daemon' \gexec
SELECT format('ALTER FUNCTION %s OWNER TO pubsub_daemon', p.oid::regprocedure)
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = :'schema' AND pg_get_userbyid(p.proowner) <> 'pubsub_daemon' \gexec

REVOKE ALL ON ALL TABLES IN SCHEMA :"schema" FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA :"schema" FROM PUBLIC;
REVOKE EXECUTE ON ALL FUNCTIONS IN SCHEMA :"schema" FROM PUBLIC;

-- create_event() runs with its caller's rights: it inserts the row, takes the next id and
-- reads it back (INSERT ... RETURNING event_id needs SELECT on that one column).
GRANT EXECUTE ON FUNCTION :"schema".create_event(text, text, jsonb, int, text, timestamptz)
    TO pubsub_producer;
-- create_event() wakes the routers on its schema's channel (SPEC 7.6), named by this function.
GRANT EXECUTE ON FUNCTION :"schema".tpubsub_channel(text) TO pubsub_producer;
GRANT INSERT (event_type, event_source, event_data, priority), SELECT (event_id)
    ON :"schema".tpubsub_events TO pubsub_producer;
-- With a key or a run_at, create_event() takes the id first and inserts it with the row, and
-- records the key (or reads the first event's id back) in the keys table (SPEC 7.2).
GRANT INSERT (event_id, run_at) ON :"schema".tpubsub_events TO pubsub_producer;
GRANT SELECT, INSERT ON :"schema".tpubsub_idempotency_keys TO pubsub_producer;
-- It takes over a key older than the window (the largest of the live nodes' own settings).
GRANT UPDATE (event_id, created_at) ON :"schema".tpubsub_idempotency_keys TO pubsub_producer;
GRANT SELECT (idempotency_window_s, last_heartbeat, dead_after_s) ON :"schema".tpubsub_nodes
    TO pubsub_producer;
GRANT USAGE ON SEQUENCE :"schema".tpubsub_events_event_id_seq TO pubsub_producer;

GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA :"schema" TO pubsub_operator;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA :"schema" TO pubsub_operator;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA :"schema" TO pubsub_operator;
\else
\echo 'roles.sql: no tables in schema' :'schema' 'yet: start pubsubd once, then run this again'
\endif
