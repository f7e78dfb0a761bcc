// pg_watch_state_store: see watch_state_store.h.
#include "storage/watch_state_store.h"

#include <unordered_map>

namespace pubsub {

pg_watch_state_store::pg_watch_state_store(std::string dsn, std::string schema)
    : dsn_(std::move(dsn)), schema_(std::move(schema)) {}

result<pg::connection*> pg_watch_state_store::conn() {
    if (conn_ && conn_->is_ok()) return &*conn_;
    conn_.reset();
    auto c = pg::connection::open(dsn_);
    if (!c) return c.error();
    conn_.emplace(std::move(c.value()));
    return &*conn_;
}

// Folds the committed file_received events of watch_dir's source created since its checkpoint
// into the table (the newest event per path; an older event never replaces a newer record).
// Rows whose event_data a producer could have forged into another shape are skipped, never cast.
status pg_watch_state_store::fold_events(pg::connection& db, const std::string& watch_dir) {
    const std::string q = db.quote_identifier(schema_);
    const std::string prefix = watch_dir == "/" ? "/" : watch_dir + "/";
    const std::string events =
        "SELECT event_data->>'path' AS p, event_data->>'size' AS s,"
        " event_data->>'mtime_us' AS m, event_id FROM " +
        q +
        ".tpubsub_events"
        " WHERE event_type = 'file_received' AND event_source = $2"
        " AND created_at >= coalesce((SELECT events_before FROM " +
        q +
        ".tpubsub_watch_checkpoints WHERE watch_dir = $1), '-infinity')"
        " AND jsonb_typeof(event_data->'path') = 'string'"
        " AND left(event_data->>'path', length($3)) = $3"
        " AND event_data->>'size' ~ '^[0-9]{1,18}$'"
        " AND event_data->>'mtime_us' ~ '^-?[0-9]{1,18}$'";
    const std::string upsert =
        "INSERT INTO " + q +
        ".tpubsub_watched_files AS w (path, watch_dir, size, mtime, event_id, seen_at)"
        " SELECT DISTINCT ON (p) p, $1, s::bigint,"
        " 'epoch'::timestamptz + m::bigint * interval '1 microsecond', event_id, now()"
        " FROM (" +
        events +
        ") e ORDER BY p, event_id DESC"
        " ON CONFLICT (path) DO UPDATE SET watch_dir = EXCLUDED.watch_dir,"
        " size = EXCLUDED.size, mtime = EXCLUDED.mtime, event_id = EXCLUDED.event_id,"
        " seen_at = EXCLUDED.seen_at WHERE w.event_id < EXCLUDED.event_id";
    auto r = db.query(upsert, {watch_dir, file_watcher_source(watch_dir), prefix});
    if (!r) return r.error();
    return status();
}

result<std::vector<file_record>> pg_watch_state_store::load(const std::string& watch_dir) {
    auto c = conn();
    if (!c) return c.error();
    pg::connection& db = *c.value();
    status st = db.exec("BEGIN");
    if (st.ok()) st = fold_events(db, watch_dir);
    const std::string select =
        "SELECT path, size, (extract(epoch FROM mtime) * 1000000)::bigint, event_id FROM " +
        db.quote_identifier(schema_) + ".tpubsub_watched_files WHERE watch_dir = $1";
    auto r = st.ok() ? db.query(select, {watch_dir}) : result<pg::query_result>(st);
    if (r) st = db.exec("COMMIT");
    if (!r || !st.ok()) {
        (void)db.exec("ROLLBACK");
        conn_.reset();
        return status::error("cannot load the file watcher state of " + watch_dir + ": " +
                             (r ? st.message() : r.message()));
    }
    std::vector<file_record> out;
    out.reserve(static_cast<std::size_t>(r->rows()));
    for (int i = 0; i < r->rows(); ++i) {
        out.push_back(
            {std::string(r->get(i, 0)), r->get_int(i, 1), r->get_int(i, 2), r->get_int(i, 3)});
    }
    return out;
}

namespace {

struct arrays {
    std::string path = "{", dir = "{", size = "{", mtime = "{", id = "{";
    bool empty = true;
    void add(const file_state_op& op) {
        if (!empty) {
            for (auto* s : {&path, &dir, &size, &mtime, &id}) *s += ',';
        }
        empty = false;
        pg::append_array_element(path, op.rec.path);
        pg::append_array_element(dir, op.watch_dir);
        size += std::to_string(op.rec.size);
        mtime += std::to_string(op.rec.mtime_us);
        id += std::to_string(op.rec.id);
    }
    void close() {
        for (auto* s : {&path, &dir, &size, &mtime, &id}) *s += '}';
    }
};

}  // namespace

status pg_watch_state_store::run_apply(pg::connection& db, const std::vector<file_state_op>& ops) {
    // The last op per path wins: one upsert cannot touch a row twice.
    std::unordered_map<std::string_view, const file_state_op*> last;
    std::unordered_map<std::string_view, std::int64_t> checkpoints;  // the last per directory
    for (const auto& op : ops) {
        if (op.op == file_state_op::kind::checkpoint) {
            checkpoints[op.watch_dir] = op.events_before_us;
        } else {
            last[op.rec.path] = &op;
        }
    }
    arrays puts;
    std::string forgets = "{";
    bool any_forget = false;
    for (const auto& [path, op] : last) {
        if (op->op == file_state_op::kind::put) {
            puts.add(*op);
        } else {
            if (any_forget) forgets += ',';
            any_forget = true;
            pg::append_array_element(forgets, path);
        }
    }
    puts.close();
    forgets += '}';
    const std::string table = db.quote_identifier(schema_) + ".tpubsub_watched_files";
    if (any_forget) {
        auto r = db.query("DELETE FROM " + table + " WHERE path = ANY($1::text[])", {forgets});
        if (!r) return r.error();
    }
    if (!puts.empty) {
        auto r = db.query(
            "INSERT INTO " + table +
                " AS w (path, watch_dir, size, mtime, event_id, seen_at)"
                " SELECT p, d, s, 'epoch'::timestamptz + m * interval '1 microsecond', e, now()"
                " FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::bigint[])"
                " AS u(p, d, s, m, e)"
                " ON CONFLICT (path) DO UPDATE SET watch_dir = EXCLUDED.watch_dir,"
                " size = EXCLUDED.size, mtime = EXCLUDED.mtime, event_id = EXCLUDED.event_id,"
                " seen_at = EXCLUDED.seen_at",
            {puts.path, puts.dir, puts.size, puts.mtime, puts.id});
        if (!r) return r.error();
    }
    for (const auto& [dir, before_us] : checkpoints) {
        // Overwritten, not max()ed: each checkpoint is right when written, and a wall clock
        // stepped back must not leave a later one in place that new events would fall before.
        auto r = db.query("INSERT INTO " + db.quote_identifier(schema_) +
                              ".tpubsub_watch_checkpoints (watch_dir, events_before)"
                              " VALUES ($1, 'epoch'::timestamptz + $2::bigint * interval "
                              "'1 microsecond') ON CONFLICT (watch_dir) DO UPDATE SET"
                              " events_before = EXCLUDED.events_before",
                          {std::string(dir), std::to_string(before_us)});
        if (!r) return r.error();
    }
    return status();
}

status pg_watch_state_store::apply(const std::vector<file_state_op>& ops) {
    if (ops.empty()) return status();
    auto c = conn();
    if (!c) return c.error();
    pg::connection& db = *c.value();
    status st = db.exec("BEGIN");
    if (st.ok()) st = run_apply(db, ops);
    if (st.ok()) st = db.exec("COMMIT");
    if (!st.ok()) {
        (void)db.exec("ROLLBACK");
        conn_.reset();
        return status::error("cannot record the file watcher state (" + std::to_string(ops.size()) +
                             " changes): " + st.message());
    }
    return status();
}

}  // namespace pubsub
