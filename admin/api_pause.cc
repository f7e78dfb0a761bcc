// admin_api: pause and resume (SPEC 7.4).
//   POST /api/subscribers/{id or name}/pause|resume
//   POST /api/pools/{job_type}/pause|resume
//   GET  /api/pauses     {"subscribers":[names],"pools":[job types],"held":N}
// Each change commits with its audit entry (actor "http <peer>"); the tables' triggers tell
// every router of the schema.
#include "admin/api.h"
#include "base/json_text.h"
#include "router/subscriber.h"
#include "storage/pause_store.h"

namespace pubsub::admin {

namespace {

http_response change_reply(const pause_change& r, bool paused) {
    std::string out = "{\"ok\":true,\"name\":";
    append_json_string(out, r.name);
    out += std::string(",\"paused\":") + (paused ? "true" : "false") +
           ",\"changed\":" + (r.changed ? "true" : "false") + "}";
    return json_reply(200, std::move(out));
}

}  // namespace

std::optional<http_response> admin_api::route_pause(const http_request& req,
                                                    const parsed_target& t) {
    const auto& s = t.segments;
    if (s.size() == 2 && s[0] == "api" && s[1] == "pauses") {
        if (req.method != "GET" && req.method != "HEAD") return error_reply(405, "use GET");
        return list_pauses();
    }
    if (s.size() != 4 || s[0] != "api" || (s[3] != "pause" && s[3] != "resume")) return {};
    if (s[1] != "subscribers" && s[1] != "pools") return {};
    if (req.method != "POST") return error_reply(405, req.method + " is not allowed; use POST");
    return set_paused(s[1] == "pools", s[2], s[3] == "pause", "http " + req.peer);
}

http_response admin_api::set_paused(bool pool, const std::string& key, bool paused,
                                    const std::string& actor) {
    if (pool && !parse_job_type(key)) {
        return error_reply(
            404, "no job type \"" + key + "\" (import, inbox_processor, report, custom, noop)");
    }
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto r = pool ? set_pool_paused(**c, opts_.schema, key, paused, actor)
                  : set_subscriber_paused(**c, opts_.schema, key, paused, actor);
    if (!r.ok()) return error_reply(500, r.message());
    if (!r->found) return error_reply(404, "no subscriber named or numbered \"" + key + "\"");
    return change_reply(*r, paused);
}

http_response admin_api::list_pauses() {
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto p = load_pause_summary(**c, opts_.schema);
    if (!p.ok()) return error_reply(500, p.message());
    return json_reply(200, pause_summary_json(*p));
}

// The status document with "pauses" added (left out when they cannot be read).
std::string admin_api::with_pauses(pg::connection& c, std::string status_json) {
    auto p = load_pause_summary(c, opts_.schema);
    if (!p.ok() || status_json.empty() || status_json.back() != '}') return status_json;
    status_json.pop_back();
    return status_json + ",\"pauses\":" + pause_summary_json(*p) + "}";
}

}  // namespace pubsub::admin
