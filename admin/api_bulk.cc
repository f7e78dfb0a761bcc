// admin_api: retry and cancel by filter (storage/event_bulk.h), the operator audit list and the
// per-second history of the Service Status charts.
#include <simdjson.h>

#include <cstdio>

#include "admin/api.h"
#include "base/json_last_occurrences.h"
#include "base/json_text.h"
#include "ingest/json_type_name.h"
#include "storage/audit_log.h"
#include "storage/event_bulk.h"
#include "storage/event_queries.h"

namespace pubsub::admin {

namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;

struct bulk_body {
    bulk_selection selection;
    bool dry_run = false;
};

status text_field(element v, const std::string& key, std::optional<std::string>& out) {
    if (v.type() != element_type::STRING) {
        return status::error(key + ": expected a string, got " + json_type_name(v.type()));
    }
    out = std::string(v.get_string().value());
    return {};
}

// "status": "failed" | "failed,cancelled" | ["failed", "cancelled"].
status status_field(element v, std::vector<std::string>& out) {
    if (v.type() == element_type::STRING) {
        std::string list(v.get_string().value());
        std::size_t start = 0;
        for (;;) {
            auto comma = list.find(',', start);
            out.push_back(list.substr(start, comma - start));
            if (comma == std::string::npos) return {};
            start = comma + 1;
        }
    }
    if (v.type() != element_type::ARRAY) {
        return status::error("status: expected a string or an array of strings, got " +
                             json_type_name(v.type()));
    }
    const simdjson::dom::array items = v.get_array().value();
    for (element s : items) {
        if (s.type() != element_type::STRING) {
            return status::error("status: expected strings, got " + json_type_name(s.type()));
        }
        out.emplace_back(s.get_string().value());
    }
    return {};
}

status ids_field(element v, std::vector<event_id>& out) {
    if (v.type() != element_type::ARRAY) {
        return status::error("ids: expected an array of event ids, got " +
                             json_type_name(v.type()));
    }
    const simdjson::dom::array items = v.get_array().value();
    for (element id : items) {
        if (id.type() != element_type::INT64 && id.type() != element_type::UINT64) {
            return status::error("ids: expected integers, got " + json_type_name(id.type()));
        }
        std::int64_t n = 0;
        if (id.get_int64().get(n) || n <= 0) return status::error("ids: not an event id");
        out.push_back(n);
    }
    if (out.size() > 100'000) return status::error("ids: at most 100000 per request");
    return {};
}

status read_bulk_field(const std::string& key, element v, bulk_body& b) {
    auto& s = b.selection;
    if (key == "ids") return ids_field(v, s.ids);
    if (key == "status") return status_field(v, s.statuses);
    if (key == "type") return text_field(v, key, s.type_glob);
    if (key == "source") return text_field(v, key, s.source_glob);
    if (key == "since") return text_field(v, key, s.since);
    if (key == "until") return text_field(v, key, s.until);
    if (key == "dry_run") {
        if (v.type() != element_type::BOOL) {
            return status::error("dry_run: expected a boolean, got " + json_type_name(v.type()));
        }
        b.dry_run = v.get_bool().value();
        return {};
    }
    return status::error("unknown field \"" + key +
                         "\" (ids, status, type, source, since, until, dry_run)");
}

result<bulk_body> parse_bulk_body(const std::string& body) {
    simdjson::dom::parser parser;
    element doc;
    if (auto err = parser.parse(body).get(doc); err) {
        return status::error(std::string("malformed JSON body: ") + simdjson::error_message(err));
    }
    if (doc.type() != element_type::OBJECT) {
        return status::error("the body must be a JSON object, got " + json_type_name(doc.type()));
    }
    bulk_body b;
    const simdjson::dom::object obj = doc.get_object().value();
    for (const auto& field : last_occurrences(obj)) {
        if (status s = read_bulk_field(std::string(field.key), field.value, b); !s.ok()) return s;
    }
    return b;
}

// A rate with at most 3 decimals, without trailing zeros.
void append_number(std::string& out, double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", v);
    std::string s(buf);
    while (!s.empty() && s.back() == '0') s.pop_back();
    if (!s.empty() && s.back() == '.') s.pop_back();
    out += s;
}

}  // namespace

http_response admin_api::bulk_events(const std::string& body, const std::string& action,
                                     const std::string& actor) {
    auto b = parse_bulk_body(body.empty() ? "{}" : body);
    if (!b.ok()) return error_reply(400, b.message());
    const bulk_action a = action == "retry" ? bulk_action::retry : bulk_action::cancel;
    if (status s = check_selection(a, b->selection); !s.ok()) return error_reply(400, s.message());
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    for (const auto* t : {&b->selection.since, &b->selection.until}) {
        if (*t && !check_timestamp(**c, **t).ok()) {
            return error_reply(400, std::string(t == &b->selection.since ? "since" : "until") +
                                        ": not a timestamp: \"" + **t +
                                        "\" (use ISO 8601, e.g. 2026-01-31T12:00:00Z)");
        }
    }
    bulk_options o;
    o.dry_run = b->dry_run;
    o.actor = actor;
    auto out = run_bulk(**c, opts_.schema, a, b->selection, o);
    if (!out.ok()) return error_reply(500, out.message());
    return json_reply(
        200, "{\"ok\":true,\"action\":\"" + action + "\",\"dry_run\":" +
                 (b->dry_run ? "true" : "false") + ",\"events\":" + std::to_string(out->events) +
                 (b->dry_run ? std::string(",\"more\":") + (out->more ? "true" : "false")
                             : std::string()) +
                 ",\"deliveries\":" + std::to_string(out->deliveries) +
                 ",\"batches\":" + std::to_string(out->batches) + "}");
}

http_response admin_api::list_audit(const parsed_target& t) {
    std::int64_t limit = 100;
    if (auto it = t.query.find("limit");
        it != t.query.end() && (!parse_int64(it->second, limit) || limit < 1 || limit > 1000)) {
        return error_reply(400, "limit: expected an integer 1..1000, got \"" + it->second + "\"");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto rows = recent_audit(**c, opts_.schema, static_cast<int>(limit));
    if (!rows.ok()) return error_reply(500, rows.message());
    std::string j = "{\"audit\":[";
    for (const auto& r : *rows) {
        if (j.back() != '[') j += ",";
        j += "{\"audit_id\":" + std::to_string(r.audit_id) + ",\"at\":";
        append_json_string(j, r.at);
        for (auto [k, v] : {std::pair{"actor", &r.entry.actor},
                            {"action", &r.entry.action},
                            {"target", &r.entry.target}}) {
            j += ",\"";
            j += k;
            j += "\":";
            append_json_string(j, *v);
        }
        j += ",\"rows\":" + std::to_string(r.entry.rows) +
             ",\"detail\":" + (r.entry.detail_json.empty() ? "null" : r.entry.detail_json) + "}";
    }
    return json_reply(200, j + "]}");
}

http_response admin_api::history(const parsed_target& t) const {
    std::int64_t seconds = 3600;
    if (auto it = t.query.find("seconds");
        it != t.query.end() &&
        (!parse_int64(it->second, seconds) || seconds < 1 || seconds > 3600)) {
        return error_reply(400, "seconds: expected an integer 1..3600, got \"" + it->second + "\"");
    }
    std::vector<history_point> points;
    if (opts_.history) points = opts_.history->last(static_cast<std::size_t>(seconds));
    // Columns, not objects: an hour is 3,600 points per series.
    std::string at = "[", in = "[", out = "[", failed = "[", queue = "[";
    for (const auto& p : points) {
        if (at.size() > 1) {
            for (auto* col : {&at, &in, &out, &failed, &queue}) *col += ",";
        }
        at += std::to_string(p.at_ms);
        append_number(in, p.in_per_s);
        append_number(out, p.out_per_s);
        append_number(failed, p.failed_per_s);
        queue += std::to_string(p.queue_depth);
    }
    return json_reply(200, "{\"interval_s\":1,\"at_ms\":" + at + "],\"in_per_s\":" + in +
                               "],\"out_per_s\":" + out + "],\"failed_per_s\":" + failed +
                               "],\"queue_depth\":" + queue + "]}");
}

}  // namespace pubsub::admin
