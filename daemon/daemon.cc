#include "daemon/daemon.h"

#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include "ingest/db_door.h"
#include "daemon/fd_limit.h"
#include "handlers/pool_set.h"
#include "handlers/process_job_runner.h"
#include "handlers/process_registry.h"
#include "ingest/file_watcher.h"
#include "ingest/notify_door.h"
#include "ingest/request.h"
#include "ingest/socket_server.h"
#include "daemon/instance_lock.h"
#include "base/logger.h"
#include "daemon/reload.h"
#include "storage/node_info.h"
#include "daemon/reload.h"
#include "router/intake.h"
#include "router/router.h"
#include "daemon/service_notify.h"
#include "storage/config_check.h"
#include "storage/delivery_store.h"
#include "storage/embedded_pg.h"
#include "storage/event_actions.h"
#include "storage/event_store.h"
#include "storage/id_allocator.h"
#include "storage/listener.h"
#include "storage/migrations.h"
#include "storage/subscriber_store.h"
#include "storage/watch_state_store.h"
#include "storage/write_behind.h"
#include "admin/admin_server.h"
#include "admin/heartbeat_info.h"
#include "admin/timed_runner.h"

namespace pubsub {

namespace {

using steady = std::chrono::steady_clock;

std::string q(std::string_view v) { return log_value(v); }

// Connects, retrying until db_wait_s has passed; logs each distinct error once.
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

int wait_for_stop_signal(const sigset_t& set, const std::function<void()>& on_hup) {
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0) continue;
        if (sig == SIGHUP) {
            on_hup();
            continue;
        }
        return sig;
    }
}

}  // namespace

int run_daemon(const daemon_config& cfg) {
    // Signals are handled by sigwait() on this thread; every thread spawned below inherits
    // the blocked mask, so no handler ever runs on a worker.
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal(SIGPIPE, SIG_IGN);

    auto locks = lock_instance(cfg);
    if (!locks.ok()) {
        log_line(log_level::error, locks.message());
        return 1;
    }

    std::optional<embedded_cluster> cluster;
    std::string dsn = cfg.dsn;
    if (dsn.empty()) {
        embedded_options eo;
        eo.data_dir = cfg.data_dir;
        eo.log = [](embedded_log_level l, std::string_view m) {
            log_line(l == embedded_log_level::warning ? log_level::warn : log_level::info,
                     std::string(m), "component=embedded_pg");
        };
        cluster.emplace(eo);
        if (status s = cluster->start(); !s.ok()) {
            log_line(log_level::error, "embedded PostgreSQL failed: " + s.message());
            return 1;
        }
        dsn = cluster->dsn();
    } else {
        std::error_code ec;
        std::filesystem::create_directories(std::filesystem::path(cfg.socket_path).parent_path(),
                                            ec);
    }
    // A server we found running (left by a pubsubd killed with -9, or started by `pubsub-pg
    // start`) is adopted but left running at exit: only the process that started it stops it.
    auto stop_cluster = [&] {
        if (!cluster) return;
        if (cluster->started_server()) {
            (void)cluster->stop();
        } else {
            log_line(log_level::info,
                     "leaving the embedded PostgreSQL running: this process did not start it",
                     "component=embedded_pg");
        }
    };

    auto conn = connect_with_wait(dsn, cfg.db_wait_s);
    if (!conn.ok()) {
        log_line(log_level::error, conn.message());
        stop_cluster();
        return 1;
    }
    auto applied = apply_migrations(*conn, cfg.schema);
    if (!applied.ok()) {
        log_line(log_level::error, "migrations failed: " + applied.message());
        stop_cluster();
        return 1;
    }
    if (*applied > 0)
        log_line(log_level::info, "migrations applied", "count=" + std::to_string(*applied));

    node_identity node = make_node_identity(cfg.node_name, cfg.socket_path);
    // Registered before anything is claimed, so no other node takes our events for a dead
    // node's while we start.
    heartbeat(*conn, cfg.schema, node, "{}", true);

    write_behind_options wo;
    wo.dsn = dsn;
    wo.node_id = node.node_id;
    wo.schema = cfg.schema;
    wo.max_batch_rows = cfg.max_batch_rows;
    wo.linger = std::chrono::microseconds(cfg.linger_us);
    wo.max_unpersisted_events = cfg.max_unpersisted;
    memory_budget budget(cfg.max_unpersisted_bytes);  // one budget; later holders share it
    wo.budget = &budget;
    wo.log = log_hook("write_behind");
    // An event whose row PostgreSQL refuses for good is treated like a cancelled one: its
    // scheduled retries are dropped, a running handler's outcome is discarded. Set before
    // wb.start(), which publishes it to the writer thread.
    pool_set* cancel_rejected = nullptr;
    wo.on_rejected = [&cancel_rejected](event_id id) {
        if (cancel_rejected) cancel_rejected->cancel(id);
    };
    write_behind wb(wo);

    id_allocator ids({dsn, cfg.schema, 16384, std::chrono::milliseconds(2000), log_hook("ids")});
    if (status s = ids.start(); !s.ok()) {
        log_line(log_level::error, s.message());
        stop_cluster();
        return 1;
    }

    pool_set_options po;
    po.retry.base = std::chrono::milliseconds(cfg.retry_base_ms);
    po.retry.cap = std::chrono::milliseconds(std::max(cfg.retry_max_ms, cfg.retry_base_ms));
    po.queue_limit = cfg.queue_limit;
    pool_set pools(po);
    cancel_rejected = &pools;
    config_check configs(dsn, cfg.schema);
    delivery_metrics latencies;  // /metrics histograms, fed by the runners
    // Before any handler runs: kill what a predecessor that died left running (its deliveries
    // are re-run below), then record ours (handlers/process_registry.h).
    auto handler_groups = std::make_shared<process_group_registry>(cfg.data_dir + "/handlers");
    if (status s = handler_groups->open(); s.ok()) {
        handler_groups->kill_orphans([](const std::string& m) { log_line(log_level::warn, m); });
    } else {
        log_line(log_level::warn, "running handlers are not recorded: " + s.message());
        handler_groups.reset();
    }
    // Runners and thread counts of every job type from c: at start, and again on SIGHUP.
    make_runners_fn make_runners =
        [&](const daemon_config& c) -> result<std::vector<runner_setup>> {
        handler_settings hs;
        hs.registry = handler_groups;
        hs.scripts_dirs = c.scripts_dirs;
        hs.job_commands = c.job_commands;
        hs.check_config = [&configs](job_type t, std::optional<std::int32_t> id) {
            return configs.check(t, id);
        };
        std::vector<runner_setup> out;
        for (int t = 0; t < job_type_count; ++t) {
            auto type = static_cast<job_type>(t);
            auto it = c.concurrency.find(type);
            int threads = it != c.concurrency.end() ? it->second : (type == job_type::noop ? 1 : 4);
            auto runner = make_job_runner(type, hs);
            if (!runner.ok()) return runner.error();
            out.push_back({type,
                           std::make_shared<admin::timed_runner>(std::move(*runner), latencies),
                           threads});
        }
        return out;
    };
    auto runners = make_runners(cfg);
    if (!runners.ok()) {
        log_line(log_level::error, runners.message());
        stop_cluster();
        return 2;
    }
    for (auto& r : *runners) pools.configure(r.type, r.runner, r.threads);

    router_options ro;
    ro.deliveries = &wb;
    ro.pressure = &pools;  // a full handler pool refuses the event types that could reach it
    router rt(ro, wb, pools);
    intake in(ids, wb, rt);
    notify_door notify(in, log_hook("notify_door"));
    socket_options so;
    so.path = cfg.socket_path;
    so.mode = cfg.socket_mode;
    so.max_line = cfg.max_line_bytes;
    so.allowed_uids.assign(cfg.socket_allow_uids.begin(), cfg.socket_allow_uids.end());
    so.allowed_gids.assign(cfg.socket_allow_gids.begin(), cfg.socket_allow_gids.end());
    so.max_connections = cfg.max_connections;
    so.budget = &budget;  // unfinished lines too: many near --max-line-bytes add up
    so.log = log_hook("socket");
    socket_server door(so, in);
    std::optional<pg_watch_state_store> watch_store;
    std::optional<file_watcher> watcher;
    if (!cfg.watch_dirs.empty()) {
        watch_store.emplace(dsn, cfg.schema);
        file_watcher_options fo;
        fo.dirs = cfg.watch_dirs;
        if (!cfg.watch_ignore.empty()) fo.ignore = cfg.watch_ignore;
        fo.log = log_hook("file_watcher");
        watcher.emplace(
            fo,
            [&in](event_draft d, ack_callback done) {
                in.submit(std::move(d), ack_mode::durable, std::move(done));
            },
            *watch_store);
    }
    admin::node_sources sources{
        &rt, &wb, &pools, &door, &notify, watcher ? &*watcher : nullptr, {}, &latencies, {}};
    admin::heartbeat_info beat;  // listener thread only
    db_door dbd({cfg.schema, cfg.sweep_interval_ms, cfg.node_dead_after_s, cfg.notify_ingest}, rt, notify, node, [&] { return beat.json(admin::collect(sources)); });
    sources.sql_claimed = [&dbd] { return dbd.claimed(); };
    std::optional<admin::admin_server> http;
    if (!cfg.http_listen.empty()) {
        admin::admin_options ao{cfg.http_listen,
                                cfg.http_token,
                                cfg.http_allow_unauthenticated,
                                dsn,
                                cfg.schema,
                                sources,
                                2,
                                log_hook("http")};
        ao.allowed_hosts = cfg.http_allow_hosts;
        ao.auth = cfg.http_auth == "all" ? admin::http_auth::all : admin::http_auth::changes;
        ao.max_connections = cfg.http_max_connections;
        ao.header_timeout = std::chrono::seconds(cfg.http_header_timeout_s);
        http.emplace(std::move(ao));
    }
    dbd.reload_subscribers(*conn);
    // Events routed from the table carry their delivery rows (skip completed deliveries, keep
    // attempt numbers and scheduled retries); operators' cancels reach the pools.
    auto load_delivery_rows = [&](pg::connection& c, const std::vector<event_ptr>& evs) {
        std::vector<event_id> ids_of;
        ids_of.reserve(evs.size());
        for (const auto& ev : evs) ids_of.push_back(ev->id);
        auto rows = load_delivery_records(c, cfg.schema, ids_of);
        if (!rows.ok()) {
            log_line(log_level::error, rows.message());  // at-least-once: they run again
        } else if (!rows->empty()) {
            pools.add_resume(std::move(*rows));
        }
    };
    dbd.set_delivery_hooks({[&pools] { return pools.full_job_types() == 0; }, load_delivery_rows,
                            [&pools](event_id id, bool cancelled) {
                                if (!cancelled) return pools.forget_cancel(id);
                                pools.cancel(id);
                                log_line(log_level::info, "event action",
                                         log_field("action", "cancel " + std::to_string(id)));
                            }});

    wb.start();
    pools.start();
    rt.start();

    // Resume what a crash or an earlier stop of this node left open; the listener's first
    // sweep then claims what nobody owns.
    auto open = load_own_open_events(*conn, cfg.schema, node.node_id, 10'000'000);
    if (!open.ok()) {
        log_line(log_level::error, open.message());
    } else if (!open->empty()) {
        log_line(log_level::info, "resuming open events", "count=" + std::to_string(open->size()));
        load_delivery_rows(*conn, *open);
        for (auto& ev : *open) rt.enqueue(std::move(ev));
    }

    pg_listener listener(dbd.listener(dsn));
    listener.start();
    // LISTEN before the doors open, so nothing created from then on goes unannounced.
    for (auto until = steady::now() + std::chrono::seconds(cfg.db_wait_s);
         !listener.connected() && steady::now() < until;) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }

    // Room for both doors' connections, plus the database, handlers' pipes and files.
    auto fds = fit_fd_limit(cfg.max_connections +
                            (cfg.http_listen.empty() ? 0 : cfg.http_max_connections) + 256);
    if (fds.after > fds.before) {
        log_line(log_level::info, "raised the open-file limit",
                 "from=" + std::to_string(fds.before) + " to=" + std::to_string(fds.after));
    }
    if (!fds.warning.empty()) log_line(log_level::warn, fds.warning);
    status door_started = door.start();
    if (door_started.ok() && watcher) door_started = watcher->start();
    if (door_started.ok() && http) door_started = http->start();
    if (status s = door_started; !s.ok()) {
        log_line(log_level::error, s.message());
        listener.stop();
        rt.stop(steady::now());
        pools.stop(steady::now());
        wb.stop(steady::now() + std::chrono::seconds(cfg.drain_timeout_s));
        ids.stop();
        stop_cluster();
        return 1;
    }
    if (watcher) {
        log_line(log_level::info, "watching directories",
                 "count=" + std::to_string(cfg.watch_dirs.size()));
    }
    if (http) {
        log_line(log_level::info, "http admin listening",
                 "listen=" + q(cfg.http_listen) + " port=" + std::to_string(http->port()) +
                     (cfg.http_token.empty() ? cfg.http_allow_unauthenticated
                                                   ? " changes=unauthenticated"
                                                   : " changes=refused_no_token"
                                             : " changes=token") +
                     " auth=" + cfg.http_auth);
    }
    log_line(log_level::info, "pubsubd started",
             "socket=" + q(cfg.socket_path) + " schema=" + q(cfg.schema) +
                 " node=" + q(node.node_id) + (cluster ? " embedded=true" : " embedded=false"));
    // systemd (Type=notify): READY now that the doors accept, STATUS and watchdog pings from
    // a sample of our own components (never the database), STOPPING at SIGTERM.
    service_notify systemd([&sources] { return service_status(admin::collect(sources)); });
    systemd.ready();

    daemon_config running = cfg;  // the settings in effect; SIGHUP changes the reloadable ones
    int sig = wait_for_stop_signal(set, [&] {
        log_line(log_level::info, "SIGHUP: reloading subscribers and settings");
        reload_settings(running, pools, make_runners);  // reload.h
        auto c = pg::connection::open(dsn);
        if (c.ok()) dbd.reload_subscribers(*c);
    });
    log_line(log_level::info, "stopping", "signal=" + std::to_string(sig));
    systemd.stopping();

    auto drain_deadline = steady::now() + std::chrono::seconds(cfg.drain_timeout_s);
    // Doors first, synchronously: once they return, no thread can still enqueue into the
    // router, so its drain sees everything that was accepted.
    door.stop_accepting();
    if (http) http->stop();  // before the drain: no operator action races it
    if (watcher) watcher->stop_watching();
    listener.stop();
    in.close();
    rt.stop(drain_deadline);
    pools.stop(drain_deadline);
    wb.stop(drain_deadline + std::chrono::seconds(cfg.drain_timeout_s));
    door.stop();
    if (watcher) watcher->stop();
    ids.stop();
    if (auto c = pg::connection::open(dsn); c.ok()) remove_node(*c, cfg.schema, node);
    auto ws = wb.stats();
    log_line(log_level::info, "stopped",
             "rows=" + std::to_string(ws.rows) + " batches=" + std::to_string(ws.batches) +
                 " unpersisted=" + std::to_string(ws.unpersisted_events));
    conn = status::error("closed");
    stop_cluster();
    return ws.unpersisted_events == 0 ? 0 : 1;
}

}  // namespace pubsub
