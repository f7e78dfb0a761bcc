#include "storage/subscriber_store.h"

#include <charconv>

#include "router/matcher.h"

namespace pubsub {

result<std::vector<subscriber>> load_subscribers(pg::connection& conn, const std::string& schema,
                                                 std::vector<std::string>* skipped) {
    auto r = conn.query(
        "SELECT subscriber_id, subscriber_name, event_type, event_filter::text, job_type, "
        "config_id, coalesce(script_path, ''), is_active, max_retries, timeout_s, run_mode, "
        "workers FROM " +
        conn.quote_identifier(schema) + ".tpubsub_subscribers ORDER BY subscriber_id");
    if (!r.ok()) return status::error("cannot load subscribers: " + r.message());
    std::vector<subscriber> out;
    for (int i = 0; i < r->rows(); ++i) {
        subscriber s;
        s.id = r->get_int(i, 0);
        s.name = r->get(i, 1);
        s.event_type = r->get(i, 2);
        s.filter_json = r->get(i, 3);
        auto job = parse_job_type(r->get(i, 4));
        auto mode = parse_run_mode(r->get(i, 10));
        if (!job || !mode) {  // cannot come from the table (CHECK constraints)
            const int col = !job ? 4 : 10;
            if (skipped) {
                skipped->push_back(s.name + ": unknown " + (!job ? "job_type" : "run_mode") +
                                   " \"" + std::string(r->get(i, col)) + "\"");
            }
            continue;
        }
        s.job = *job;
        s.mode = *mode;
        if (!r->is_null(i, 5)) s.config_id = static_cast<std::int32_t>(r->get_int(i, 5));
        s.script_path = r->get(i, 6);
        s.is_active = r->get(i, 7) == "t";
        s.max_retries = static_cast<int>(r->get_int(i, 8));
        s.timeout_s = static_cast<int>(r->get_int(i, 9));
        s.workers = static_cast<int>(r->get_int(i, 11));
        out.push_back(std::move(s));
    }
    return out;
}

result<std::int64_t> insert_subscriber(pg::connection& conn, const std::string& schema,
                                       const subscriber& s) {
    if (auto why = check_run_mode(s.job, s.mode, s.workers); !why.empty()) {
        return status::error("cannot add subscriber \"" + s.name + "\": " + why);
    }
    std::optional<std::string> config;
    if (s.config_id) config = std::to_string(*s.config_id);
    std::optional<std::string> script;
    if (!s.script_path.empty()) script = s.script_path;
    auto r = conn.query(
        "INSERT INTO " + conn.quote_identifier(schema) +
            ".tpubsub_subscribers (subscriber_name, event_type, event_filter, "
            "job_type, config_id, script_path, is_active, max_retries, timeout_s, run_mode, "
            "workers) VALUES ($1, $2, $3::jsonb, $4, $5::int, $6, $7::bool, $8::int, "
            "$9::int, $10, $11::int) RETURNING subscriber_id",
        {s.name, s.event_type, s.filter_json.empty() ? "{}" : s.filter_json,
         std::string(to_string(s.job)), config, script, std::string(s.is_active ? "true" : "false"),
         std::to_string(s.max_retries), std::to_string(s.timeout_s), std::string(to_string(s.mode)),
         std::to_string(s.workers)});
    if (!r.ok()) return status::error("cannot add subscriber \"" + s.name + "\": " + r.message());
    return r->get_int(0, 0);
}

namespace {

// "subscriber_id = $1::bigint" when name_or_id is a number, else "subscriber_name = $1".
std::string key_condition(const std::string& name_or_id) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(name_or_id.data(), name_or_id.data() + name_or_id.size(), id);
    bool numeric = ec == std::errc() && p == name_or_id.data() + name_or_id.size();
    return numeric ? "subscriber_id = $1::bigint" : "subscriber_name = $1";
}

// The SET list and its parameters ($2 onwards; $1 is the key).
struct assignments {
    std::string sql = "updated_at = now()";
    std::vector<std::optional<std::string>> params;

    void add(const char* column, const char* cast, std::optional<std::string> value) {
        params.push_back(std::move(value));
        sql += std::string(", ") + column + " = $" + std::to_string(params.size() + 1) + cast;
    }
};

assignments assignments_of(const subscriber_patch& p) {
    assignments a;
    if (p.name) a.add("subscriber_name", "", *p.name);
    if (p.event_type) a.add("event_type", "", *p.event_type);
    if (p.filter_json) {
        a.add("event_filter", "::jsonb", p.filter_json->empty() ? "{}" : *p.filter_json);
    }
    if (p.job) a.add("job_type", "", std::string(to_string(*p.job)));
    if (p.config_id) a.add("config_id", "::int", std::to_string(*p.config_id));
    if (p.script_path) {
        a.add("script_path", "",
              p.script_path->empty() ? std::nullopt : std::optional<std::string>(*p.script_path));
    }
    if (p.is_active) a.add("is_active", "::bool", *p.is_active ? "true" : "false");
    if (p.max_retries) a.add("max_retries", "::int", std::to_string(*p.max_retries));
    if (p.timeout_s) a.add("timeout_s", "::int", std::to_string(*p.timeout_s));
    if (p.mode) a.add("run_mode", "", std::string(to_string(*p.mode)));
    if (p.workers) a.add("workers", "::int", std::to_string(*p.workers));
    return a;
}

constexpr const char* listed_columns =
    "subscriber_id, subscriber_name, event_type, event_filter, job_type, config_id, "
    "script_path, is_active, paused, max_retries, timeout_s, run_mode, workers";

}  // namespace

result<std::string> list_subscribers_json(pg::connection& conn, const std::string& schema,
                                          const std::string& name_or_id) {
    std::vector<std::optional<std::string>> params;
    std::string where;
    if (!name_or_id.empty()) {
        where = " WHERE " + key_condition(name_or_id);
        params.emplace_back(name_or_id);
    }
    auto r = conn.query(
        "SELECT coalesce(json_agg(s ORDER BY s.subscriber_id), '[]')::text FROM "
        "(SELECT " +
            std::string(listed_columns) + ", created_at, updated_at FROM " +
            conn.quote_identifier(schema) + ".tpubsub_subscribers" + where + ") s",
        params);
    if (!r.ok()) return r.error();
    return std::string(r->get(0, 0));
}

result<pg::query_result> list_subscribers_rows(pg::connection& conn, const std::string& schema) {
    return conn.query("SELECT " + std::string(listed_columns) + " FROM " +
                      conn.quote_identifier(schema) +
                      ".tpubsub_subscribers ORDER BY subscriber_id");
}

result<bool> remove_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id) {
    auto r =
        conn.query("DELETE FROM " + conn.quote_identifier(schema) + ".tpubsub_subscribers WHERE " +
                       key_condition(name_or_id) + " RETURNING subscriber_id",
                   {name_or_id});
    if (!r.ok()) return status::error("cannot remove subscriber: " + r.message());
    return r->rows() > 0;
}

result<bool> update_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id, const subscriber_patch& patch) {
    if (patch.filter_json) {
        if (status v = validate_subscriber_filter(*patch.filter_json); !v.ok()) {
            return status::error("invalid event_filter: " + v.message());
        }
    }
    const std::string table = conn.quote_identifier(schema) + ".tpubsub_subscribers";
    const std::string where = " WHERE " + key_condition(name_or_id);
    // Rolled back by its destructor on every early return; a caller's open transaction (an
    // audited change) is joined instead.
    std::optional<pg::transaction> tx;
    if (!conn.in_transaction()) {
        auto begun = pg::transaction::begin(conn);
        if (!begun.ok()) return status::error("cannot update subscriber: " + begun.message());
        tx.emplace(std::move(*begun));
    }
    auto cur = conn.query("SELECT job_type, coalesce(script_path, ''), run_mode, workers FROM " +
                              table + where + " FOR UPDATE",
                          {name_or_id});
    if (!cur.ok()) return status::error("cannot update subscriber: " + cur.message());
    if (cur->rows() == 0) return false;
    const bool custom = patch.job ? *patch.job == job_type::custom : cur->get(0, 0) == "custom";
    const bool has_script = patch.script_path ? !patch.script_path->empty() : cur->get(0, 1) != "";
    if (custom && !has_script) {
        return status::error("subscriber " + name_or_id + ": job_type custom needs a script_path");
    }
    const job_type job =
        patch.job ? *patch.job : parse_job_type(cur->get(0, 0)).value_or(job_type::noop);
    const run_mode mode =
        patch.mode ? *patch.mode : parse_run_mode(cur->get(0, 2)).value_or(run_mode::process);
    const int workers = patch.workers ? *patch.workers : static_cast<int>(cur->get_int(0, 3));
    if (auto why = check_run_mode(job, mode, workers); !why.empty()) {
        return status::error("subscriber " + name_or_id + ": " + why);
    }
    assignments a = assignments_of(patch);
    a.params.insert(a.params.begin(), name_or_id);
    auto r = conn.query("UPDATE " + table + " SET " + a.sql + where, a.params);
    if (!r.ok()) {
        return status::error("cannot update subscriber " + name_or_id + ": " + r.message());
    }
    if (status c = tx ? tx->commit() : status(); !c.ok()) {
        return status::error("cannot update subscriber " + name_or_id + ": " + c.message());
    }
    return true;
}

result<bool> set_subscriber_active(pg::connection& conn, const std::string& schema,
                                   const std::string& name_or_id, bool active) {
    subscriber_patch p;
    p.is_active = active;
    return update_subscriber(conn, schema, name_or_id, p);
}

}  // namespace pubsub
