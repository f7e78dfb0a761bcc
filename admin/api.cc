// admin_api: routing, authorization, static files, health, metrics and status.
#include "admin/api.h"

#include <algorithm>
#include <iterator>

#include "admin/http_access.h"
#include "base/json_text.h"

#include "admin/prometheus.h"
#include "admin/web_assets.h"
#include "storage/status_queries.h"

namespace pubsub::admin {

namespace {

// Compares without an early exit, so the time taken does not tell how much of a guess matched.
bool same_secret(std::string_view a, std::string_view b) {
    unsigned char diff = a.size() == b.size() ? 0 : 1;
    for (std::size_t i = 0; i < a.size(); ++i) {
        diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
    }
    return diff == 0;
}

// Routes every client may read whatever --http-auth says: the probes and /metrics (SPEC 7.4).
// /healthz is the old name of /readyz.
constexpr std::string_view open_routes[] = {"livez", "readyz", "healthz", "metrics"};

// Under --http-auth all, whether this read needs no token: the open routes, and the page's own
// files (they hold no data, and a browser cannot send a bearer token when it opens a page).
bool open_read(const parsed_target& t) {
    if (t.segments.empty()) return true;
    if (t.segments.size() != 1) return false;
    if (t.segments[0].find('.') != std::string::npos) return true;  // static file
    return std::find(std::begin(open_routes), std::end(open_routes), t.segments[0]) !=
           std::end(open_routes);
}

bool changes_something(const http_request& req, const parsed_target& t) {
    if (req.method == "GET" || req.method == "HEAD") return false;
    return !(t.segments.size() == 3 && t.segments[0] == "api" && t.segments[1] == "filters" &&
             t.segments[2] == "validate");
}

}  // namespace

std::optional<http_response> admin_api::authorize(const http_request& req, bool change) const {
    if (opts_.token.empty()) {
        if (opts_.allow_unauthenticated) return std::nullopt;
        return error_reply(403, std::string(change ? "changes" : "reads (--http-auth all)") +
                                    " are disabled: pubsubd has no --http-token (or "
                                    "PUBSUB_HTTP_TOKEN); set one" +
                                    (change ? ", or pass --http-allow-unauthenticated" : ""));
    }
    constexpr std::string_view bearer = "Bearer ";
    std::string_view auth = req.authorization;
    if (auth.substr(0, bearer.size()) != bearer ||
        !same_secret(auth.substr(bearer.size()), opts_.token)) {
        auto r = error_reply(
            401, auth.empty() ? "this request needs Authorization: Bearer <token>" : "wrong token");
        r.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"pubsubd\"");
        return r;
    }
    return std::nullopt;
}

std::optional<http_response> admin_api::refuse_cross_site(const http_request& req) const {
    if (!req.origin.empty() && !same_origin(req.origin, req.host)) {
        return error_reply(403, "cross-site change refused: Origin \"" + req.origin +
                                    "\" is not this endpoint (Host \"" + req.host +
                                    "\"); without --http-token only same-origin pages and "
                                    "non-browser clients may change things");
    }
    if ((!req.body.empty() || !req.content_type.empty()) && !json_content_type(req.content_type)) {
        return error_reply(403,
                           "change refused: the body must be sent as Content-Type: "
                           "application/json, got \"" +
                               req.content_type + "\"");
    }
    return std::nullopt;
}

serving_phase admin_api::phase() const {
    return opts_.sources.phase ? opts_.sources.phase() : serving_phase::serving;
}

// No operator change races a start or a drain: the probes, /metrics and the reads answer
// throughout, changes wait for a serving node.
std::optional<http_response> admin_api::refuse_unless_serving() const {
    switch (phase()) {
        case serving_phase::starting:
            return error_reply(503, "pubsubd is starting: changes are refused until it serves");
        case serving_phase::draining:
            return error_reply(503,
                               "pubsubd is draining (stopping): changes are refused; send them "
                               "to another node or after the restart");
        case serving_phase::serving:
            break;
    }
    return std::nullopt;
}

http_response admin_api::handle(const http_request& req) {
    parsed_target t;
    if (!parse_target(req.target, t))
        return error_reply(400,
                           "bad percent-escape in the URL (malformed, or decoding to a NUL byte or "
                           "to bytes that are not UTF-8)");
    if (opts_.loopback_only && !loopback_host(req.host, opts_.allowed_hosts)) {
        return error_reply(421,
                           "this endpoint listens on loopback: use http://127.0.0.1:<port> "
                           "or http://localhost:<port> (or a name given with "
                           "--http-allow-host), not Host \"" +
                               req.host + "\"");
    }
    bool change = changes_something(req, t);
    if (change || (opts_.auth == http_auth::all && !open_read(t))) {
        if (auto denied = authorize(req, change)) return *denied;
    }
    if (change && opts_.token.empty()) {
        if (auto denied = refuse_cross_site(req)) return *denied;
    }
    if (change) {
        if (auto denied = refuse_unless_serving()) return *denied;
    }
    return route(req, t);
}

http_response admin_api::route(const http_request& req, const parsed_target& t) {
    const auto& s = t.segments;
    const std::string& m = req.method;
    auto is = [&](std::size_t n, const char* a = nullptr, const char* b = nullptr) {
        return s.size() == n && (!a || s[0] == a) && (!b || (n > 1 && s[1] == b));
    };
    bool get = m == "GET" || m == "HEAD";
    if (s.empty() || (s.size() == 1 && s[0].find('.') != std::string::npos)) {
        if (!get) return error_reply(405, "method not allowed");
        return static_file(s.empty() ? "index.html" : s[0]);
    }
    if (is(1, "livez") && get) return livez();
    if ((is(1, "readyz") || is(1, "healthz")) && get) return readyz();
    if (is(1, "metrics") && get) return metrics();
    if (is(2, "api", "status") && get) return nodes_status();
    if (is(2, "api", "events") && get) return list_events(t);
    if (is(3, "api", "events") && get) return show_event(s[2]);
    const std::string actor = "http " + req.peer;
    if (is(4, "api", "events") && m == "POST" && (s[3] == "retry" || s[3] == "cancel")) {
        return event_action(s[2], s[3], actor);
    }
    if (is(3, "api", "events") && m == "POST" && (s[2] == "retry" || s[2] == "cancel")) {
        return bulk_events(req.body, s[2], actor);
    }
    if (is(2, "api", "audit") && get) return list_audit(t);
    if (is(2, "api", "history") && get) return history(t);
    if (is(2, "api", "subscribers") && get) return list_subscribers("");
    if (is(2, "api", "subscribers") && m == "POST") return create_subscriber(req.body, actor);
    if (is(3, "api", "subscribers")) {
        if (get) return list_subscribers(s[2]);
        if (m == "PUT" || m == "PATCH") return update_subscriber(s[2], req.body, actor);
        if (m == "DELETE") return delete_subscriber(s[2], actor);
    }
    if (is(4, "api", "subscribers") && m == "POST" && (s[3] == "enable" || s[3] == "disable")) {
        return set_active(s[2], s[3] == "enable", actor);
    }
    if (auto r = route_pause(req, t)) return *r;
    if (is(3, "api", "filters") && s[2] == "validate" && m == "POST") {
        return validate_filter(req.body);
    }
    bool known = is(1, "livez") || is(1, "readyz") || is(1, "healthz") || is(1, "metrics") ||
                 is(2, "api", "status") || is(2, "api", "events") || is(3, "api", "events") ||
                 is(4, "api", "events") || is(2, "api", "subscribers") ||
                 is(3, "api", "subscribers") || is(4, "api", "subscribers") ||
                 is(3, "api", "filters") || is(2, "api", "audit") || is(2, "api", "history");
    if (known) return error_reply(405, m + " is not allowed on " + req.target);
    return error_reply(404, "no such route: " + m + " " + req.target);
}

http_response admin_api::static_file(const std::string& path) const {
    const web_asset* a = find_web_asset(path);
    if (!a) return error_reply(404, "no such file: /" + path);
    http_response r;
    r.content_type = a->content_type;
    r.body = std::string(a->body);
    // The page loads nothing from elsewhere; say so to the browser too.
    r.headers.emplace_back("Content-Security-Policy",
                           "default-src 'self'; connect-src 'self'; img-src 'self' data:; "
                           "frame-ancestors 'none'");
    return r;
}

// Reads every component's counters, each under its own lock: a wedged component blocks this
// answer (and the supervisor's probe times out), the database never does.
http_response admin_api::livez() const {
    (void)collect(opts_.sources);
    return json_reply(200, "{\"status\":\"ok\"}");
}

std::vector<std::string> admin_api::not_ready(db_reading& db, const node_sample& s) {
    std::vector<std::string> reasons;
    switch (phase()) {
        case serving_phase::starting:
            reasons.push_back("starting: not every service is up yet");
            break;
        case serving_phase::draining:
            reasons.push_back(
                "draining: pubsubd is stopping; it finishes what it holds and "
                "takes no new events");
            break;
        case serving_phase::serving:
            break;
    }
    db = probe_.read();
    if (!db.answered) reasons.push_back(db.error);
    if (!s.wb.healthy) reasons.push_back("write-behind failing: " + s.wb.last_error);
    if (!s.wb_admits) {
        reasons.push_back("write-behind full: new events are refused (" +
                          std::to_string(s.wb.unpersisted_events) + " unpersisted)");
    }
    if (double lag = s.write_behind_lag_s(); lag > opts_.max_write_behind_lag_s) {
        reasons.push_back("write-behind lagging: " + std::to_string(s.wb.unpersisted_events) +
                          " events unpersisted, last commit " + std::to_string(lag) + " s ago");
    }
    return reasons;
}

http_response admin_api::readyz() {
    db_reading db;
    auto reasons = not_ready(db, collect(opts_.sources));
    if (reasons.empty()) return json_reply(200, "{\"status\":\"ok\"}");
    std::string body = "{\"status\":\"unhealthy\",\"reasons\":[";
    for (std::size_t i = 0; i < reasons.size(); ++i) {
        if (i) body += ",";
        append_json_string(body, reasons[i]);
    }
    return json_reply(503, body + "]}");
}

http_response admin_api::metrics() {
    node_sample s = collect(opts_.sources);
    health_sample h;
    db_reading db;
    h.ready = not_ready(db, s).empty();
    h.oldest_pending_age_s = db.oldest_pending_age_s;
    h.process = read_process_sample();
    http_response r;
    r.content_type = prometheus_content_type;
    r.body = render_prometheus(s, h);
    return r;
}

http_response admin_api::nodes_status() {
    auto c = pool_.acquire();
    if (!c.ok()) return error_reply(503, "database unreachable: " + c.message());
    auto summary = status_summary_json(**c, opts_.schema);
    if (!summary.ok()) return error_reply(500, summary.message());
    return json_reply(200, with_pauses(**c, std::move(*summary)));
}

}  // namespace pubsub::admin
