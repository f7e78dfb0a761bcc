// admin_server: pubsubd's HTTP admin endpoint as one object: parses --http, owns the HTTP
// server, the database pool of the HTTP threads and the API. See api.h for the routes and the
// authorization rules, http_server.h for the threads.
// Lifecycle: the daemon's first service up and last down (daemon/services.h), so the probes and
// /metrics answer through a start and a drain; the API reads the daemon's phase from
// node_sources. stop() is idempotent and noexcept; the destructor stops. Thread-safety:
// start()/stop() from the owner thread only.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "admin/http_access.h"
#include "admin/metric_history.h"
#include "admin/node_sample.h"
#include "base/logger.h"
#include "base/result.h"
#include "base/service.h"

namespace pubsub::admin {

struct admin_options {
    std::string listen;  // "PORT", "ADDR:PORT" or "[V6ADDR]:PORT"; PORT alone means loopback
    std::string token;
    bool allow_unauthenticated = false;
    std::string dsn;
    std::string schema = "dba";
    node_sources sources;
    int threads = 2;  // HTTP threads, and as many database connections
    log_sink log;
    std::vector<std::string> allowed_hosts;  // Host names taken as loopback besides localhost
    http_auth auth = http_auth::changes;
    std::size_t max_connections = 64;
    std::chrono::milliseconds header_timeout{10'000};
    const metric_history* history = nullptr;  // GET /api/history (history_sampler fills it)
};

// ("127.0.0.1", 8080) from "8080"; the error names the bad part.
result<std::pair<std::string, std::uint16_t>> parse_listen(const std::string& listen);

class admin_server final : public service {
  public:
    explicit admin_server(admin_options opts);
    ~admin_server() override;
    admin_server(const admin_server&) = delete;
    admin_server& operator=(const admin_server&) = delete;

    std::string_view name() const override { return "http admin"; }
    status start() override;
    void stop(clock::time_point deadline) noexcept override;  // as http_server's
    std::uint16_t port() const;                               // the bound port (useful with port 0)

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

}  // namespace pubsub::admin
