#include "storage/pause_store.h"

#include "base/json_text.h"
#include "router/router.h"
#include "storage/audit_log.h"

namespace pubsub {

namespace {

bool numeric(const std::string& s) {
    return !s.empty() && s.size() < 19 && s.find_first_not_of("0123456789") == std::string::npos;
}

// Records the audit entry and commits; the change's own statement ran in tx already.
result<pause_change> commit_with_audit(pg::connection& c, pg::transaction& tx,
                                       const std::string& schema, pause_change out,
                                       std::string action, const std::string& actor) {
    audit_entry e;
    e.actor = actor;
    e.action = std::move(action);
    e.target = out.name;
    e.rows = out.changed ? 1 : 0;
    if (status s = record_audit(c, schema, e); !s.ok()) return s;
    if (status s = tx.commit(); !s.ok()) return s;
    return out;
}

}  // namespace

result<pause_set> load_pauses(pg::connection& c, const std::string& schema) {
    const std::string s = c.quote_identifier(schema);
    auto r = c.query("SELECT subscriber_id, '' FROM " + s +
                     ".tpubsub_subscribers WHERE paused UNION ALL SELECT NULL, job_type FROM " + s +
                     ".tpubsub_paused_pools");
    if (!r.ok()) return status::error("cannot load pauses: " + r.message());
    pause_set out;
    for (int i = 0; i < r->rows(); ++i) {
        if (auto t = parse_job_type(r->get(i, 1))) {
            out.job_types |= job_type_bit(*t);
        } else if (!r->is_null(i, 0)) {
            out.subscribers.push_back(r->get_int(i, 0));
        }
    }
    return out;
}

result<pause_change> set_subscriber_paused(pg::connection& c, const std::string& schema,
                                           const std::string& name_or_id, bool paused,
                                           const std::string& actor) {
    const std::string table = c.quote_identifier(schema) + ".tpubsub_subscribers";
    const std::string key =
        numeric(name_or_id) ? "subscriber_id = $1::bigint" : "subscriber_name = $1";
    auto tx = pg::transaction::begin(c);
    if (!tx.ok()) return tx.error();
    auto cur =
        c.query("SELECT subscriber_name, paused FROM " + table + " WHERE " + key + " FOR UPDATE",
                {name_or_id});
    if (!cur.ok()) return cur.error();
    pause_change out;
    if (cur->rows() == 0) {
        out.found = false;
        return out;
    }
    out.name = std::string(cur->get(0, 0));
    out.changed = (cur->get(0, 1) == "t") != paused;
    if (out.changed) {
        auto u = c.query("UPDATE " + table + " SET paused = $2::bool WHERE " + key,
                         {name_or_id, std::string(paused ? "true" : "false")});
        if (!u.ok()) return u.error();
    }
    return commit_with_audit(c, *tx, schema, std::move(out),
                             paused ? "subscribers.pause" : "subscribers.resume", actor);
}

result<pause_change> set_pool_paused(pg::connection& c, const std::string& schema,
                                     const std::string& job_type, bool paused,
                                     const std::string& actor) {
    const std::string table = c.quote_identifier(schema) + ".tpubsub_paused_pools";
    auto tx = pg::transaction::begin(c);
    if (!tx.ok()) return tx.error();
    auto r = paused
                 ? c.query("INSERT INTO " + table +
                               " (job_type, paused_by) VALUES ($1, $2) "
                               "ON CONFLICT (job_type) DO NOTHING RETURNING 1",
                           {job_type, actor})
                 : c.query("DELETE FROM " + table + " WHERE job_type = $1 RETURNING 1", {job_type});
    if (!r.ok()) return r.error();
    pause_change out;
    out.name = job_type;
    out.changed = r->rows() > 0;
    return commit_with_audit(c, *tx, schema, std::move(out),
                             paused ? "pools.pause" : "pools.resume", actor);
}

result<pause_summary> load_pause_summary(pg::connection& c, const std::string& schema) {
    const std::string s = c.quote_identifier(schema);
    auto r = c.query("SELECT 's', subscriber_name FROM " + s +
                     ".tpubsub_subscribers WHERE paused UNION ALL SELECT 'p', job_type FROM " + s +
                     ".tpubsub_paused_pools UNION ALL SELECT 'h', count(*)::text FROM " + s +
                     ".tpubsub_deliveries WHERE status = 'held' ORDER BY 1, 2");
    if (!r.ok()) return status::error("cannot load pauses: " + r.message());
    pause_summary out;
    for (int i = 0; i < r->rows(); ++i) {
        std::string kind(r->get(i, 0));
        std::string v(r->get(i, 1));
        if (kind == "s") out.subscribers.push_back(std::move(v));
        if (kind == "p") out.pools.push_back(std::move(v));
        if (kind == "h") out.held = std::stoll(v);
    }
    return out;
}

std::string pause_summary_json(const pause_summary& s) {
    auto list = [](const std::vector<std::string>& v) {
        std::string out = "[";
        for (std::size_t i = 0; i < v.size(); ++i) {
            if (i) out += ",";
            append_json_string(out, v[i]);
        }
        return out + "]";
    };
    return "{\"subscribers\":" + list(s.subscribers) + ",\"pools\":" + list(s.pools) +
           ",\"held\":" + std::to_string(s.held) + "}";
}

}  // namespace pubsub
