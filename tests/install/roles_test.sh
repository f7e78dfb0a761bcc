#!/usr/bin/env bash
# roles_test.sh BIN_DIR SOURCE_DIR: packaging/roles.sql on a fresh database of the `pg` fixture
# cluster: run before pubsubd's first start, pubsubd started as pubsub_daemon (it migrates the
# schema it owns), run again; then a producer may create events and nothing else, a role with
# only PUBLIC's rights may not even create events, an operator may read and change events.
bin=$1 src=$2
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
psql_bin=$(command -v psql || ls -d /usr/lib/postgresql/*/bin/psql 2>/dev/null | sort | tail -1)
[ -x "$psql_bin" ] || fail "psql not found"
dsn=$("$bin/pubsub-pg" dsn --data-dir "$PUBSUB_TEST_PG_DIR") || fail "no fixture cluster"
db=pubsub_roles_$$
sql() { "$psql_bin" -XAtq -v ON_ERROR_STOP=1 -d "$dsn" "$@"; }
on_db() { "$psql_bin" -XAtq -v ON_ERROR_STOP=1 "$(dsn_for "$db")" "$@"; }
dsn_for() { echo "$dsn" | sed "s/dbname=[^ ]*/dbname=$1/"; }
[[ $dsn == *dbname=* ]] || fail "fixture DSN without dbname: $dsn"
sql -c "CREATE DATABASE $db ENCODING 'UTF8' TEMPLATE template0" || fail "create database"
pid=
cleanup() {
  [ -n "$pid" ] && kill -TERM "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  sql -c "DROP DATABASE IF EXISTS $db WITH (FORCE)" >/dev/null 2>&1 || true
  sql -c "DROP ROLE IF EXISTS pubsub_rt_nobody" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

out=$(on_db -v schema=rt -f "$src/packaging/roles.sql" 2>&1) || fail "roles.sql before start: $out"
[[ $out == *"start pubsubd once"* ]] || fail "roles.sql before start should ask for a start: $out"
ok "roles.sql before the first start"

"$bin/pubsubd" --dsn "$(dsn_for "$db") user=pubsub_daemon" --schema rt --socket "$tmp/s.sock" \
  --notify-ingest off >"$tmp/pubsubd.log" 2>&1 &
pid=$!
for _ in $(seq 200); do [ -S "$tmp/s.sock" ] && break; sleep 0.1; done
[ -S "$tmp/s.sock" ] || fail "pubsubd as pubsub_daemon did not start: $(tail -5 "$tmp/pubsubd.log")"
kill -TERM "$pid"
wait "$pid" || fail "pubsubd as pubsub_daemon exited $?: $(tail -5 "$tmp/pubsubd.log")"
pid=
ok "pubsubd migrated the schema as pubsub_daemon"

out=$(on_db -v schema=rt -f "$src/packaging/roles.sql" 2>&1) || fail "roles.sql after start: $out"
on_db -v schema=rt -f "$src/packaging/roles.sql" >/dev/null 2>&1 || fail "roles.sql is not idempotent"
ok "roles.sql after the first start, twice"

as() {  # as ROLE SQL: runs SQL under SET ROLE; prints the output, fails like psql
  on_db -c "SET ROLE $1" -c "$2" 2>&1
}
denied() {  # denied ROLE SQL WHAT
  local o
  if o=$(as "$1" "$2"); then fail "$1 may $3: $o"; fi
  [[ $o == *"permission denied"* ]] || fail "$1 $3: expected permission denied, got: $o"
}
id=$(as pubsub_producer "SELECT rt.create_event('roles_test', 'src', '{\"n\": 1}', 5)") \
  || fail "producer create_event: $id"
[[ $id =~ ^[0-9]+$ ]] || fail "create_event returned $id"
# SPEC 7.2: with a key and a run_at; the same key again returns the first id.
k1=$(as pubsub_producer "SELECT rt.create_event('roles_test', 'src', '{}', 5, 'roles-key', now() + interval '1 hour')") \
  || fail "producer create_event with a key and run_at: $k1"
k2=$(as pubsub_producer "SELECT rt.create_event('roles_test', 'src', '{}', 5, 'roles-key')") \
  || fail "producer create_event with a repeated key: $k2"
[[ $k1 =~ ^[0-9]+$ && $k1 == "$k2" ]] || fail "a repeated key returned $k2, the first $k1"
denied pubsub_producer "DELETE FROM rt.tpubsub_idempotency_keys" "delete keys"
as pubsub_producer "INSERT INTO rt.tpubsub_events (event_type) VALUES ('roles_insert')" \
  >/dev/null || fail "producer INSERT of producer columns"
denied pubsub_producer "SELECT event_data FROM rt.tpubsub_events" "read event data"
denied pubsub_producer "UPDATE rt.tpubsub_events SET status = 'completed'" "update events"
denied pubsub_producer "INSERT INTO rt.tpubsub_events (event_type, status) VALUES ('x', 'completed')" \
  "insert a status"
denied pubsub_producer "DELETE FROM rt.tpubsub_subscribers" "delete subscribers"
ok "producer: create_event and the SQL door only"

sql -c "CREATE ROLE pubsub_rt_nobody" >/dev/null
denied pubsub_rt_nobody "SELECT rt.create_event('x', '', '{}', 5)" "create events (PUBLIC)"
ok "PUBLIC: nothing"

n=$(as pubsub_operator "SELECT count(*) FROM rt.tpubsub_events WHERE event_id = $id") \
  || fail "operator read: $n"
[ "$n" = 1 ] || fail "operator sees $n rows of event $id"
as pubsub_operator "UPDATE rt.tpubsub_events SET status = 'cancelled' WHERE event_id = $id" \
  >/dev/null || fail "operator update"
ok "operator reads and changes events"
echo "roles_test: all checks passed"
