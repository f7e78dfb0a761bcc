// api: the admin HTTP API and pages of pubsubd (issue 8): routes a request to its handler.
//
//   GET  /                       the admin page (web/index.html, app.js, style.css, embedded)
//   GET  /livez                  200 {"status":"ok"} while the process serves, whatever the
//                                database does (the components' counters answer)
//   GET  /readyz                 200 {"status":"ok"}, or 503 with the reasons: the database
//                                does not answer, the write-behind fails or lags, or the
//                                daemon is starting or draining (a reason names which)
//   GET  /healthz                the same as /readyz (its old name)
//   GET  /metrics                Prometheus text format
//   GET  /api/status             every node of tpubsub_nodes and the events per status
//   GET  /api/events             ?status=a,b&type=&source=&since=&until=&before=&limit=&order=
//   GET  /api/events/{id}        the event, its transitions and its deliveries
//   POST /api/events/{id}/retry  |  POST /api/events/{id}/cancel
//   POST /api/events/retry       |  POST /api/events/cancel: by {"ids":[..]} and/or a filter
//                                {"status","type","source","since","until"}, "dry_run": true
//                                counts only -> {"events":N,"deliveries":M,"batches":B,..}
//   GET  /api/audit              ?limit= (1..1000, default 100): operator changes, newest first
//   GET  /api/history            ?seconds= (1..3600): per-second samples of the last hour
//   GET  /api/subscribers        |  GET /api/subscribers/{id or name}
//   POST /api/subscribers        |  PUT /api/subscribers/{id or name} (only the fields given)
//   POST /api/subscribers/{id or name}/enable|disable  |  DELETE /api/subscribers/{id or name}
//   POST /api/subscribers/{id or name}/pause|resume  |  POST /api/pools/{job_type}/pause|resume
//   GET  /api/pauses             paused subscribers and pools, held deliveries (api_pause.cc)
//   POST /api/filters/validate   {"event_filter": object or JSON text} -> {"valid":..,"error":..}
//
// Authorization: every request that changes something (any method but GET and HEAD, except
// /api/filters/validate, which changes nothing) needs `Authorization: Bearer <token>`; a
// missing or wrong token gets 401. With auth = all, so does every read except /livez, /readyz,
// /healthz, /metrics and the page's static files (api.cc: open_routes). Without a configured
// token such requests get 403 unless allow_unauthenticated is set (an explicit, logged choice
// for a loopback-only setup); then a change is refused (403) when its Origin is another site's
// or its body is not application/json (http_access.h: what a cross-site form can send).
// Bound to a loopback address, a request whose Host is not a loopback name gets 421 (a page
// whose DNS name was rebound to 127.0.0.1 must not read the API through the victim's browser).
// While the daemon starts or drains (node_sources::phase), every change gets 503 naming the
// phase; the probes, /metrics and the reads answer throughout.
// Errors are {"error":"..."} with 400 (bad input, naming the field), 401, 403, 404 (unknown id
// or route), 405, 409 (wrong state, duplicate name), 500 (database) or 503 (unreachable).
// Thread-safety: handle() may run on several threads at once; database work goes through the
// pg_pool (never the router's connections).
#pragma once

#include <chrono>
#include <string>
#include <vector>

#include "admin/db_probe.h"
#include "admin/http_access.h"
#include "admin/http_server.h"
#include "admin/http_util.h"
#include "admin/metric_history.h"
#include "admin/node_sample.h"
#include "admin/pg_pool.h"

namespace pubsub::admin {

struct api_options {
    std::string schema = "dba";
    std::string token;  // empty: no token configured
    bool allow_unauthenticated = false;
    node_sources sources;
    double max_write_behind_lag_s = 10;  // /readyz fails beyond this
    std::string dsn;                     // for the probe's own connection
    // How long /readyz and /metrics reuse one reading of the database (db_probe.h).
    std::chrono::milliseconds db_probe_every{2000};
    // Listening on loopback only: requests must name a loopback Host (127.0.0.1, localhost,
    // [::1]), so a web page whose DNS name was rebound to 127.0.0.1 cannot read the API.
    bool loopback_only = true;
    std::vector<std::string> allowed_hosts;  // more Host names taken as loopback
    http_auth auth = http_auth::changes;
    const metric_history* history = nullptr;  // GET /api/history; null: an empty history
};

class admin_api {
  public:
    admin_api(api_options opts, pg_pool& pool)
        : opts_(std::move(opts)),
          pool_(pool),
          probe_(opts_.dsn, opts_.schema, opts_.db_probe_every) {}

    http_response handle(const http_request& req);
    std::uint64_t probe_errors() const { return probe_.errors(); }  // the probe's connections

  private:
    http_response route(const http_request& req, const parsed_target& t);
    std::optional<http_response> authorize(const http_request& req, bool change) const;
    std::optional<http_response> refuse_cross_site(const http_request& req) const;
    serving_phase phase() const;
    // 503 for a change while the daemon starts or drains.
    std::optional<http_response> refuse_unless_serving() const;

    http_response static_file(const std::string& path) const;
    http_response livez() const;
    http_response readyz();
    // Why this node is not ready (empty: ready); `db` is the database's reading it used.
    std::vector<std::string> not_ready(db_reading& db, const node_sample& s);
    http_response metrics();
    http_response nodes_status();
    http_response list_events(const parsed_target& t);
    http_response show_event(const std::string& id);
    // Changes take the audit's actor: "http <peer>" (actor_of).
    http_response event_action(const std::string& id, const std::string& action,
                               const std::string& actor);
    // api_bulk.cc: retry/cancel by ids or filter, the audit list, the per-second history.
    http_response bulk_events(const std::string& body, const std::string& action,
                              const std::string& actor);
    http_response list_audit(const parsed_target& t);
    http_response history(const parsed_target& t) const;
    http_response list_subscribers(const std::string& key);
    http_response create_subscriber(const std::string& body, const std::string& actor);
    http_response update_subscriber(const std::string& key, const std::string& body,
                                    const std::string& actor);
    http_response set_active(const std::string& key, bool active, const std::string& actor);
    http_response delete_subscriber(const std::string& key, const std::string& actor);
    http_response validate_filter(const std::string& body) const;
    // api_pause.cc: the pause routes (nullopt: not one of them).
    std::optional<http_response> route_pause(const http_request& req, const parsed_target& t);
    http_response set_paused(bool pool, const std::string& key, bool paused,
                             const std::string& actor);
    http_response list_pauses();
    std::string with_pauses(pg::connection& c, std::string status_json);

    api_options opts_;
    pg_pool& pool_;
    db_probe probe_;
};

}  // namespace pubsub::admin
