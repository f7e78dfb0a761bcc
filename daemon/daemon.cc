#include "daemon/daemon.h"

#include <chrono>
#include <memory>

#include "base/logger.h"
#include "base/service.h"
#include "daemon/database.h"
#include "daemon/instance_lock.h"
#include "daemon/service_notify.h"
#include "daemon/services.h"
#include "daemon/signals.h"

namespace pubsub {

namespace {

using steady = std::chrono::steady_clock;

// A failed start: the error, then every service started so far stops, at once.
int failed(service_list& running, const std::string& message, int exit_code = 1) {
    log_line(log_level::error, message);
    running.stop(steady::now());
    return exit_code;
}

}  // namespace

int run_daemon(const daemon_config& cfg) {
    sigset_t stop_signals = block_stop_signals();  // before any thread: they all inherit it
    auto locks = lock_instance(cfg);
    if (!locks.ok()) {
        log_line(log_level::error, locks.message());
        return 1;
    }

    database db(cfg);
    std::unique_ptr<node_services> node;
    service_list running;  // declared after what it stops, so it goes first
    if (status s = running.start(db.services()); !s.ok()) return failed(running, s.message());
    auto built = node_services::build(cfg, db);
    if (!built.ok()) return failed(running, built.message(), 2);
    node = std::move(*built);
    if (status s = running.start(node->services()); !s.ok()) return failed(running, s.message());
    node->set_phase(admin::serving_phase::serving);  // before the line that says it started
    node->log_started();

    // systemd (Type=notify): READY now that the doors accept, STATUS and watchdog pings from a
    // sample of our own components (never the database) until everything stopped, STOPPING at
    // SIGTERM.
    service_notify systemd([&node] { return service_status(node->sample()); });
    (void)systemd.start();

    int sig = wait_for_stop_signal(stop_signals, [&node] { node->reload(); });
    log_line(log_level::info, "stopping", "signal=" + std::to_string(sig));
    systemd.stopping();
    node->set_phase(admin::serving_phase::draining);
    running.stop(steady::now() + std::chrono::seconds(cfg.drain_timeout_s));
    systemd.stop(steady::now());
    return node->log_stopped();
}

}  // namespace pubsub
