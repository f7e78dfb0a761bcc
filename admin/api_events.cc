// admin_api: the events routes (list with filters and paging, show, retry, cancel).
#include <ctime>

#include "admin/api.h"
#include "base/json_text.h"
#include "storage/event_actions.h"
#include "storage/event_queries.h"

namespace pubsub::admin {

namespace {

constexpr const char* event_statuses[] = {"pending", "processing", "completed", "failed",
                                          "cancelled"};

// "a,b" -> {"a", "b"}, each a known status; else the error.
std::optional<std::vector<std::string>> status_list(const std::string& list, std::string& error) {
    std::vector<std::string> out;
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
        out.push_back(std::move(one));
        if (comma == std::string::npos) break;
        start = comma + 1;
    }
    return out;
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
    event_filter f;
    if (auto s = param(t, "status")) {
        std::string err;
        auto statuses = status_list(*s, err);
        if (!statuses) return error_reply(400, err);
        f.statuses = std::move(*statuses);
    }
    if (auto l = param(t, "limit");
        l && (!parse_int64(*l, f.limit) || f.limit < 1 || f.limit > 1000)) {
        return error_reply(400, "limit: expected an integer 1..1000, got \"" + *l + "\"");
    }
    std::int64_t before = 0;
    if (auto b = param(t, "before"); b && (!parse_int64(*b, before) || before < 1)) {
        return error_reply(400, "before: expected an event id, got \"" + *b + "\"");
    }
    if (before) f.before = before;
    std::string order = param(t, "order").value_or("newest");
    if (order != "newest" && order != "queue") {
        return error_reply(400, "order: expected newest or queue, got \"" + order + "\"");
    }
    f.sort = order == "queue" ? event_filter::order::queue : event_filter::order::newest;
    if (auto v = param(t, "scheduled")) {  // 1: only scheduled events (soonest first); 0: none
        if (*v != "1" && *v != "0") {
            return error_reply(400, "scheduled: expected 1 or 0, got \"" + *v + "\"");
        }
        f.scheduled = *v == "1";
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    for (const char* key : {"since", "until"}) {
        if (auto v = param(t, key); v && !check_timestamp(**c, *v).ok()) {
            return error_reply(400, std::string(key) + ": not a timestamp: \"" + *v +
                                        "\" (use ISO 8601, e.g. 2026-01-31T12:00:00Z)");
        }
    }
    if (auto v = param(t, "type")) f.type_like = like_from_glob(*v);
    if (auto v = param(t, "source")) f.source_like = like_from_glob(*v);
    f.since = param(t, "since");
    f.until = param(t, "until");
    auto page = list_events_json(**c, opts_.schema, f);
    if (!page.ok()) return error_reply(500, page.message());
    return json_reply(200, "{\"events\":" + page->events_json + ",\"next_before\":" +
                               (page->next_before ? std::to_string(*page->next_before) : "null") +
                               "}");
}

http_response admin_api::show_event(const std::string& id_text) {
    std::int64_t id = 0;
    if (!parse_int64(id_text, id)) {
        return error_reply(404, "no event with id \"" + id_text + "\" (ids are integers)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto detail = show_event_json(**c, opts_.schema, id);
    if (!detail.ok()) return error_reply(500, detail.message());
    if (!*detail) return error_reply(404, "no event with id " + std::to_string(id));
    const event_detail& d = **detail;
    return json_reply(200, "{\"event\":" + d.event_json + ",\"transitions\":" + d.transitions_json +
                               ",\"deliveries\":" + deliveries_json(d.deliveries) + "}");
}

http_response admin_api::event_action(const std::string& id_text, const std::string& action,
                                      const std::string& actor) {
    std::int64_t id = 0;
    if (!parse_int64(id_text, id)) {
        return error_reply(404, "no event with id \"" + id_text + "\" (ids are integers)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto out = action == "retry" ? retry_event(**c, opts_.schema, id, actor)
                                 : cancel_event(**c, opts_.schema, id, actor);
    if (!out.ok()) return error_reply(500, out.message());
    using kind = event_action_outcome::kind;
    if (out->what == kind::not_found) return error_reply(404, out->message);
    if (out->what == kind::not_applicable) return error_reply(409, out->message);
    std::string body = "{\"ok\":true,\"event_id\":" + std::to_string(id) + ",\"message\":";
    append_json_string(body, out->message);
    return json_reply(200, body + ",\"deliveries\":" + std::to_string(out->deliveries) + "}");
}

}  // namespace pubsub::admin
