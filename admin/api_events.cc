// admin_api: the events routes (list with filters and paging, show, retry, cancel).
#include <ctime>

#include "base/json_text.h"
#include "storage/event_actions.h"
#include "admin/api.h"

namespace pubsub::admin {

namespace {

constexpr const char* event_statuses[] = {"pending", "processing", "completed", "failed",
                                          "cancelled"};

// A glob (`*`, `?`) as a LIKE pattern; other LIKE metacharacters are escaped.
std::string like_pattern(std::string_view glob) {
    std::string out;
    for (char c : glob) {
        if (c == '%' || c == '_' || c == '\\') {
            out += '\\';
            out += c;
        } else if (c == '*') {
            out += '%';
        } else if (c == '?') {
            out += '_';
        } else {
            out += c;
        }
    }
    return out;
}

// "a,b" -> "{a,b}" (a text[] literal), each a known status; else the error.
std::optional<std::string> status_array(const std::string& list, std::string& error) {
    std::string arr = "{";
    std::size_t start = 0;
    for (;;) {
        auto comma = list.find(',', start);
        std::string one = list.substr(start, comma - start);
        bool known = false;
        for (const char* s : event_statuses) known = known || one == s;
        if (!known) {
            error = "status: unknown status \"" + one +
                    "\" (pending, processing, completed, failed, cancelled)";
            return std::nullopt;
        }
        arr += (arr.size() > 1 ? "," : "") + one;
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return arr + "}";
}

std::optional<std::string> param(const parsed_target& t, const char* key) {
    auto it = t.query.find(key);
    if (it == t.query.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

std::string iso_utc(std::int64_t us) {
    if (us == 0) return "null";
    std::time_t secs = static_cast<std::time_t>(us / 1'000'000);
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[48];
    std::snprintf(buf, sizeof buf, "\"%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ\"", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<long long>(us % 1'000'000));
    return buf;
}

std::string deliveries_json(const std::vector<delivery_row>& rows) {
    std::string j = "[";
    for (const auto& d : rows) {
        if (j.size() > 1) j += ",";
        j += "{\"subscriber_id\":" + std::to_string(d.subscriber_id) + ",\"subscriber_name\":";
        append_json_string(j, d.subscriber_name);
        j += ",\"status\":";
        append_json_string(j, d.status);
        j += ",\"attempts\":" + std::to_string(d.attempts) + ",\"last_error\":";
        if (d.last_error.empty()) {
            j += "null";
        } else {
            append_json_string(j, d.last_error);
        }
        j += ",\"next_attempt_at\":" + iso_utc(d.next_attempt_us) +
             ",\"started_at\":" + iso_utc(d.started_us) +
             ",\"finished_at\":" + iso_utc(d.finished_us) + "}";
    }
    return j + "]";
}

}  // namespace

http_response admin_api::list_events(const parsed_target& t) {
    std::optional<std::string> statuses;
    if (auto s = param(t, "status")) {
        std::string err;
        statuses = status_array(*s, err);
        if (!statuses) return error_reply(400, err);
    }
    std::int64_t limit = 100;
    if (auto l = param(t, "limit"); l && (!parse_int64(*l, limit) || limit < 1 || limit > 1000)) {
        return error_reply(400, "limit: expected an integer 1..1000, got \"" + *l + "\"");
    }
    std::int64_t before = 0;
    if (auto b = param(t, "before"); b && (!parse_int64(*b, before) || before < 1)) {
        return error_reply(400, "before: expected an event id, got \"" + *b + "\"");
    }
    std::string order = param(t, "order").value_or("newest");
    if (order != "newest" && order != "queue") {
        return error_reply(400, "order: expected newest or queue, got \"" + order + "\"");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    for (const char* key : {"since", "until"}) {
        if (auto v = param(t, key); v && !(*c)->query("SELECT $1::timestamptz", {*v}).ok()) {
            return error_reply(400, std::string(key) + ": not a timestamp: \"" + *v +
                                        "\" (use ISO 8601, e.g. 2026-01-31T12:00:00Z)");
        }
    }
    auto glob = [&](const char* key) -> std::optional<std::string> {
        if (auto v = param(t, key)) return like_pattern(*v);
        return std::nullopt;
    };
    std::string sort = order == "queue" ? "priority DESC, event_id" : "event_id DESC";
    auto r = (*c)->query(
        "SELECT coalesce(json_agg(e ORDER BY " + sort +
            "), '[]')::text, min(event_id), "
            "count(*) FROM (SELECT event_id, event_type, event_source, status, priority, "
            "created_at, processed_at, completed_at, error_message, retry_count FROM " +
            table(**c, "tpubsub_events") +
            " WHERE ($1::text[] IS NULL OR status = ANY($1::text[])) AND ($2::text IS NULL OR "
            "event_type LIKE $2) AND ($3::text IS NULL OR event_source LIKE $3) AND "
            "($4::timestamptz IS NULL OR created_at >= $4) AND ($5::timestamptz IS NULL OR "
            "created_at < $5) AND ($6::bigint IS NULL OR event_id < $6) ORDER BY " +
            sort + " LIMIT $7::int) e",
        {statuses, glob("type"), glob("source"), param(t, "since"), param(t, "until"),
         before ? std::optional(std::to_string(before)) : std::nullopt, std::to_string(limit)});
    if (!r.ok()) return error_reply(500, r.message());
    bool more = order == "newest" && r->get_int(0, 2) == limit;
    return json_reply(200, "{\"events\":" + std::string(r->get(0, 0)) + ",\"next_before\":" +
                               (more ? std::string(r->get(0, 1)) : "null") + "}");
}

http_response admin_api::show_event(const std::string& id_text) {
    std::int64_t id = 0;
    if (!parse_int64(id_text, id)) {
        return error_reply(404, "no event with id \"" + id_text + "\" (ids are integers)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto r = (*c)->query(
        "SELECT row_to_json(e)::text, (SELECT coalesce(json_agg(x), '[]') FROM (VALUES "
        "('pending', e.created_at), ('processing', e.processed_at), (CASE WHEN e.status IN "
        "('completed', 'failed', 'cancelled') THEN e.status END, e.completed_at)) "
        "AS x(status, at) WHERE x.status IS NOT NULL AND x.at IS NOT NULL)::text FROM (SELECT "
        "event_id, event_type, event_source, event_data, status, priority, created_at, "
        "processed_at, completed_at, error_message, retry_count FROM " +
            table(**c, "tpubsub_events") + " WHERE event_id = $1::bigint) e",
        {std::to_string(id)});
    if (!r.ok()) return error_reply(500, r.message());
    if (r->rows() == 0) return error_reply(404, "no event with id " + std::to_string(id));
    auto deliveries = load_deliveries(**c, opts_.schema, id);
    if (!deliveries.ok()) return error_reply(500, deliveries.message());
    return json_reply(200, "{\"event\":" + std::string(r->get(0, 0)) +
                               ",\"transitions\":" + std::string(r->get(0, 1)) +
                               ",\"deliveries\":" + deliveries_json(*deliveries) + "}");
}

http_response admin_api::event_action(const std::string& id_text, const std::string& action) {
    std::int64_t id = 0;
    if (!parse_int64(id_text, id)) {
        return error_reply(404, "no event with id \"" + id_text + "\" (ids are integers)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto out = action == "retry" ? retry_event(**c, opts_.schema, id)
                                 : cancel_event(**c, opts_.schema, id);
    if (!out.ok()) return error_reply(500, out.message());
    using kind = event_action_outcome::kind;
    if (out->what == kind::not_found) return error_reply(404, out->message);
    if (out->what == kind::not_applicable) return error_reply(409, out->message);
    std::string body = "{\"ok\":true,\"event_id\":" + std::to_string(id) + ",\"message\":";
    append_json_string(body, out->message);
    return json_reply(200, body + ",\"deliveries\":" + std::to_string(out->deliveries) + "}");
}

}  // namespace pubsub::admin
