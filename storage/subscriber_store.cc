#include "storage/subscriber_store.h"

#include <charconv>

namespace pubsub {

result<std::vector<subscriber>> load_subscribers(pg::connection& conn, const std::string& schema,
                                                 std::vector<std::string>* skipped) {
    auto r = conn.query(
        "SELECT subscriber_id, subscriber_name, event_type, event_filter::text, job_type, "
        "config_id, coalesce(script_path, ''), is_active, max_retries, timeout_s FROM " +
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
        if (!job) {
            if (skipped) {
                skipped->push_back(s.name + ": unknown job_type \"" + std::string(r->get(i, 4)) +
                                   "\"");
            }
            continue;
        }
        s.job = *job;
        if (!r->is_null(i, 5)) s.config_id = static_cast<std::int32_t>(r->get_int(i, 5));
        s.script_path = r->get(i, 6);
        s.is_active = r->get(i, 7) == "t";
        s.max_retries = static_cast<int>(r->get_int(i, 8));
        s.timeout_s = static_cast<int>(r->get_int(i, 9));
        out.push_back(std::move(s));
    }
    return out;
}

result<std::int64_t> insert_subscriber(pg::connection& conn, const std::string& schema,
                                       const subscriber& s) {
    std::optional<std::string> config;
    if (s.config_id) config = std::to_string(*s.config_id);
    std::optional<std::string> script;
    if (!s.script_path.empty()) script = s.script_path;
    auto r = conn.query(
        "INSERT INTO " + conn.quote_identifier(schema) +
            ".tpubsub_subscribers (subscriber_name, event_type, event_filter, "
            "job_type, config_id, script_path, is_active, max_retries, timeout_s) "
            "VALUES ($1, $2, $3::jsonb, $4, $5::int, $6, $7::bool, $8::int, "
            "$9::int) RETURNING subscriber_id",
        {s.name, s.event_type, s.filter_json.empty() ? "{}" : s.filter_json,
         std::string(to_string(s.job)), config, script, std::string(s.is_active ? "true" : "false"),
         std::to_string(s.max_retries), std::to_string(s.timeout_s)});
    if (!r.ok()) return status::error("cannot add subscriber \"" + s.name + "\": " + r.message());
    return r->get_int(0, 0);
}

result<bool> remove_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id) {
    std::int64_t id = 0;
    auto [p, ec] = std::from_chars(name_or_id.data(), name_or_id.data() + name_or_id.size(), id);
    bool numeric = ec == std::errc() && p == name_or_id.data() + name_or_id.size();
    auto r =
        conn.query("DELETE FROM " + conn.quote_identifier(schema) + ".tpubsub_subscribers WHERE " +
                       (numeric ? "subscriber_id = $1::bigint" : "subscriber_name = $1") +
                       " RETURNING subscriber_id",
                   {name_or_id});
    if (!r.ok()) return status::error("cannot remove subscriber: " + r.message());
    return r->rows() > 0;
}

}  // namespace pubsub
