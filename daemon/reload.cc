#include "daemon/reload.h"

#include "base/logger.h"

namespace pubsub {

namespace {

template <class T>
void note(std::vector<std::string>& out, const char* flag, const T& a, const T& b) {
    if (!(a == b)) out.emplace_back(flag);
}

}  // namespace

reload_plan plan_reload(const daemon_config& a, const daemon_config& b) {
    reload_plan p;
    p.log_level = a.log_level != b.log_level;
    p.log_format = a.log_format != b.log_format;
    p.handlers = a.job_commands != b.job_commands || a.scripts_dirs != b.scripts_dirs;
    p.concurrency = a.concurrency != b.concurrency;
    p.retention = !(a.retention == b.retention);  // reloadable: set_policy on the pruner
    auto& r = p.need_restart;
    note(r, "dsn", a.dsn, b.dsn);
    note(r, "schema", a.schema, b.schema);
    note(r, "data-dir", a.data_dir, b.data_dir);
    note(r, "socket", a.socket_path, b.socket_path);
    note(r, "socket-mode", a.socket_mode, b.socket_mode);
    note(r, "socket-allow-uid", a.socket_allow_uids, b.socket_allow_uids);
    note(r, "socket-allow-gid", a.socket_allow_gids, b.socket_allow_gids);
    note(r, "watch", a.watch_dirs, b.watch_dirs);
    note(r, "watch-ignore", a.watch_ignore, b.watch_ignore);
    note(r, "node-name", a.node_name, b.node_name);
    note(r, "write-connections", a.write_connections, b.write_connections);
    note(r, "max-batch-rows", a.max_batch_rows, b.max_batch_rows);
    note(r, "linger-us", a.linger_us, b.linger_us);
    note(r, "max-unpersisted", a.max_unpersisted, b.max_unpersisted);
    note(r, "max-unpersisted-bytes", a.max_unpersisted_bytes, b.max_unpersisted_bytes);
    note(r, "max-scheduled-events", a.max_scheduled, b.max_scheduled);
    note(r, "drain-timeout", a.drain_timeout_s, b.drain_timeout_s);
    note(r, "db-wait", a.db_wait_s, b.db_wait_s);
    note(r, "sweep-interval-ms", a.sweep_interval_ms, b.sweep_interval_ms);
    note(r, "node-dead-after", a.node_dead_after_s, b.node_dead_after_s);
    note(r, "idempotency-window", a.idempotency_window, b.idempotency_window);
    note(r, "max-line-bytes", a.max_line_bytes, b.max_line_bytes);
    note(r, "http", a.http_listen, b.http_listen);
    note(r, "http-token", a.http_token, b.http_token);
    note(r, "http-allow-unauthenticated", a.http_allow_unauthenticated,
         b.http_allow_unauthenticated);
    note(r, "retry-base-ms", a.retry_base_ms, b.retry_base_ms);
    note(r, "retry-max-ms", a.retry_max_ms, b.retry_max_ms);
    note(r, "queue-limit", a.queue_limit, b.queue_limit);
    note(r, "worker-window", a.worker_window, b.worker_window);
    note(r, "notify-ingest", a.notify_ingest, b.notify_ingest);
    note(r, "max-connections", a.max_connections, b.max_connections);
    note(r, "http-auth", a.http_auth, b.http_auth);
    note(r, "http-allow-host", a.http_allow_hosts, b.http_allow_hosts);
    note(r, "http-max-connections", a.http_max_connections, b.http_max_connections);
    note(r, "http-header-timeout", a.http_header_timeout_s, b.http_header_timeout_s);
    return p;
}

// SIGHUP (SPEC 7.4): parses the command line again (config file and environment re-read) and
// applies what can change while running; names the settings that need a restart.
void reload_settings(daemon_config& running, pool_set& pools, const make_runners_fn& make_runners) {
    auto fresh = parse_config(running.args);
    if (!fresh.config) {
        log_line(log_level::error, "SIGHUP: settings not reloaded: " + fresh.message);
        return;
    }
    auto plan = plan_reload(running, *fresh.config);
    for (const auto& name : plan.need_restart) {
        log_line(log_level::warn, "setting " + name + " changed; takes effect after a restart",
                 log_field("setting", name));
    }
    log_level level;
    if (plan.log_level && parse_log_level(fresh.config->log_level, level)) {
        set_log_level(level);
        running.log_level = fresh.config->log_level;
        log_line(log_level::info, "log level changed", log_field("level", running.log_level));
    } else if (plan.log_level) {
        log_line(log_level::error, "SIGHUP: --log-level must be debug, info, warn or error",
                 log_field("got", fresh.config->log_level));
    }
    log_format format;
    if (plan.log_format && parse_log_format(fresh.config->log_format, format)) {
        set_log_format(format);
        running.log_format = fresh.config->log_format;
        log_line(log_level::info, "log format changed", log_field("format", running.log_format));
    }
    if (plan.retention) {
        running.retention = fresh.config->retention;
        log_line(log_level::info, "retention changed",
                 log_field("retention", describe(running.retention)));
    }
    if (!plan.handlers && !plan.concurrency) return;
    auto runners = make_runners(*fresh.config);
    if (!runners.ok()) {
        log_line(log_level::error, "SIGHUP: handlers not reloaded: " + runners.message());
        return;
    }
    for (auto& r : *runners) {
        if (plan.handlers) pools.set_runner(r.type, r.runner);
        if (plan.concurrency) pools.set_threads(r.type, r.threads);
    }
    running.job_commands = fresh.config->job_commands;
    running.scripts_dirs = fresh.config->scripts_dirs;
    running.concurrency = fresh.config->concurrency;
    log_line(log_level::info, "handlers reloaded",
             std::string("commands=") + (plan.handlers ? "changed" : "same") +
                 " concurrency=" + (plan.concurrency ? "changed" : "same"));
}

}  // namespace pubsub
