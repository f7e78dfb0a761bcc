#include "daemon/database.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "base/logger.h"
#include "storage/migrations.h"

namespace pubsub {

namespace {

using steady = std::chrono::steady_clock;

// Connects, retrying until wait_s has passed; logs each distinct error once.
result<pg::connection> connect_with_wait(const std::string& dsn, int wait_s) {
    auto until = steady::now() + std::chrono::seconds(wait_s);
    std::string last;
    for (;;) {
        auto c = pg::connection::open(dsn);
        if (c.ok() || steady::now() >= until) return c;
        if (c.message() != last)
            log_line(log_level::warn, "waiting for the database: " + c.message());
        last = c.message();
        std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
}

}  // namespace

database::database(const daemon_config& cfg)
    : cfg_(cfg),
      dsn_(cfg.dsn),
      node_(make_node_identity(cfg.node_name, cfg.socket_path)),
      server_(
          "database server", [this] { return start_server(); },
          [this](service::clock::time_point) { stop_server(); }),
      connection_(
          "database connection", [this] { return connect(); },
          [this](service::clock::time_point) { conn_.reset(); }),
      node_row_(
          "node row",
          [this] {
              return heartbeat(*conn_, cfg_.schema, node_, cfg_.node_dead_after_s, "{}", true);
          },
          [this](service::clock::time_point) {
              if (auto c = pg::connection::open(dsn_); c.ok()) remove_node(*c, cfg_.schema, node_);
          }) {
    node_.idempotency_window_s = cfg.idempotency_window_s;  // read by create_event
}

status database::start_server() {
    if (!cfg_.dsn.empty()) {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(cfg_.socket_path).parent_path(),
                                            ec);
        return status();
    }
    embedded_options eo;
    eo.data_dir = cfg_.data_dir;
    eo.log = log_hook("embedded_pg");
    cluster_.emplace(eo);
    if (status s = cluster_->start(); !s.ok())
        return status::error("embedded PostgreSQL failed: " + s.message());
    dsn_ = cluster_->dsn();
    return status();
}

void database::stop_server() noexcept {
    if (!cluster_) return;
    if (cluster_->started_server()) {
        (void)cluster_->stop();
    } else {
        log_line(log_level::info,
                 "leaving the embedded PostgreSQL running: this process did not start it",
                 "component=embedded_pg");
    }
}

status database::connect() {
    auto c = connect_with_wait(dsn_, cfg_.db_wait_s);
    if (!c.ok()) return c.error();
    auto applied = apply_migrations(*c, cfg_.schema);
    if (!applied.ok()) return status::error("migrations failed: " + applied.message());
    if (*applied > 0)
        log_line(log_level::info, "migrations applied", "count=" + std::to_string(*applied));
    conn_ = std::move(*c);
    return status();
}

}  // namespace pubsub
