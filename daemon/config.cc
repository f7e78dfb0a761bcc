#include "daemon/config.h"

#include <CLI/CLI.hpp>

#include "admin/admin_server.h"
#include "base/build_info/build_info.h"

namespace pubsub {

namespace {

// "24h", "90m", "3600s", "7d" (a bare number is seconds); 0 when malformed.
std::int64_t parse_window_s(const std::string& text) {
    std::size_t used = 0;
    long long n = 0;
    try {
        n = std::stoll(text, &used);
    } catch (...) {
        return 0;
    }
    const std::string unit = text.substr(used);
    std::int64_t scale = unit.empty() || unit == "s" ? 1
                         : unit == "m"               ? 60
                         : unit == "h"               ? 3600
                         : unit == "d"               ? 86400
                                                     : 0;
    if (n <= 0 || n > 365LL * 86400) return 0;
    return n * scale;
}

// Splits "TYPE=VALUE" and checks TYPE names a job type.
std::optional<std::string> split_typed(const std::string& item, job_type& type, std::string& value,
                                       const char* flag) {
    auto eq = item.find('=');
    if (eq == std::string::npos) {
        return std::string(flag) + " expects TYPE=VALUE, got \"" + item + "\"";
    }
    auto t = parse_job_type(item.substr(0, eq));
    if (!t) {
        return std::string(flag) + ": unknown job type \"" + item.substr(0, eq) +
               "\" (import, inbox_processor, report, custom, noop)";
    }
    type = *t;
    value = item.substr(eq + 1);
    return std::nullopt;
}

}  // namespace

config_outcome parse_config(int argc, char** argv) {
    daemon_config c;
    CLI::App app{"pubsubd: the pubsub event router daemon", "pubsubd"};
    std::vector<std::string> job_commands, concurrency, retention;
    std::string socket_mode = "0660";
    app.set_config("--config", "", "Config file (TOML or INI, keys are the long flag names)")
        ->envname("PUBSUB_CONFIG");
    app.set_version_flag("--version", version_line("pubsubd"),
                         "Print the version and git revision");
    // A misspelt key in the config file is an error, not a setting silently left at its default.
    app.allow_config_extras(CLI::config_extras_mode::error);
    app.add_option("--dsn", c.dsn, "PostgreSQL connection string (default: embedded cluster)")
        ->envname("PUBSUB_DSN");
    app.add_option("--schema", c.schema, "Schema of the pubsub tables")->envname("PUBSUB_SCHEMA");
    app.add_option("--data-dir", c.data_dir,
                   "Embedded mode folder; also records running handlers (handlers/)")
        ->envname("PUBSUB_DATA_DIR");
    app.add_option("--socket", c.socket_path, "Unix socket path (default DATA_DIR/pubsub.sock)")
        ->envname("PUBSUB_SOCKET");
    app.add_option("--socket-mode", socket_mode, "Socket file mode, octal")
        ->envname("PUBSUB_SOCKET_MODE");
    app.add_option("--socket-allow-uid", c.socket_allow_uids,
                   "Only these peer uids (and root and our own uid) may use the socket")
        ->envname("PUBSUB_SOCKET_ALLOW_UID");
    app.add_option("--socket-allow-gid", c.socket_allow_gids, "Peer gids allowed on the socket")
        ->envname("PUBSUB_SOCKET_ALLOW_GID");
    app.add_option("--max-connections", c.max_connections,
                   "Open socket connections at most; one more gets an error line and is closed")
        ->envname("PUBSUB_MAX_CONNECTIONS")
        ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
    app.add_option("--watch", c.watch_dirs, "Directory to watch (repeatable)")
        ->envname("PUBSUB_WATCH");
    app.add_option("--watch-ignore", c.watch_ignore,
                   "File name glob the watcher ignores (repeatable; replaces the defaults: "
                   "dot files, *.tmp, *.part, *.swp)")
        ->envname("PUBSUB_WATCH_IGNORE");
    app.add_option("--scripts-dir", c.scripts_dirs, "Allowlisted folder for custom scripts")
        ->envname("PUBSUB_SCRIPTS_DIR");
    app.add_option("--retention", retention,
                   "STATUS=DURATION: finished events kept that long after completed_at, then "
                   "removed with their deliveries (repeatable; 30s, 15m, 12h, 7d; 0 keeps "
                   "forever; defaults completed=7d cancelled=7d failed=30d)")
        ->envname("PUBSUB_RETENTION");
    app.add_option("--job-command", job_commands, "TYPE=COMMAND for import/inbox_processor/report")
        ->envname("PUBSUB_JOB_COMMAND");
    app.add_option("--concurrency", concurrency, "TYPE=N threads for a job type's pool")
        ->envname("PUBSUB_CONCURRENCY");
    app.add_option("--log-level", c.log_level, "debug, info, warn or error")
        ->envname("PUBSUB_LOG_LEVEL");
    app.add_option("--log-format", c.log_format,
                   "logfmt (key=value lines) or json (one JSON object per line)")
        ->envname("PUBSUB_LOG_FORMAT")
        ->check(CLI::IsMember({"logfmt", "json"}));
    app.add_option("--node-name", c.node_name, "Name of this node in tpubsub_nodes")
        ->envname("PUBSUB_NODE_NAME");
    app.add_option("--write-connections", c.write_connections,
                   "PostgreSQL connections the write-behind writes on at once (events are split "
                   "over them by id)")
        ->envname("PUBSUB_WRITE_CONNECTIONS")
        ->check(CLI::Range(1, 16));
    app.add_option("--max-batch-rows", c.max_batch_rows,
                   "Rows per write-behind transaction (per write connection)")
        ->envname("PUBSUB_MAX_BATCH_ROWS");
    app.add_option("--linger-us", c.linger_us, "Longest wait to fill a write-behind batch")
        ->envname("PUBSUB_LINGER_US");
    app.add_option("--max-unpersisted", c.max_unpersisted,
                   "Events held in memory while the database lags; beyond, new events are refused")
        ->envname("PUBSUB_MAX_UNPERSISTED");
    app.add_option("--max-unpersisted-bytes", c.max_unpersisted_bytes,
                   "Memory budget in bytes for events not yet written (and other held work); "
                   "beyond, new events are refused")
        ->envname("PUBSUB_MAX_UNPERSISTED_BYTES");
    app.add_option("--max-scheduled-events", c.max_scheduled,
                   "Events held until their run_at (about 100 bytes each once written); beyond, "
                   "new scheduled events are refused")
        ->envname("PUBSUB_MAX_SCHEDULED_EVENTS");
    app.add_option("--drain-timeout", c.drain_timeout_s, "Seconds to drain work on SIGTERM")
        ->envname("PUBSUB_DRAIN_TIMEOUT");
    app.add_option("--db-wait", c.db_wait_s, "Seconds to wait for the database at start")
        ->envname("PUBSUB_DB_WAIT");
    app.add_option("--sweep-interval-ms", c.sweep_interval_ms,
                   "How often to look for events no router has claimed")
        ->envname("PUBSUB_SWEEP_INTERVAL_MS");
    app.add_option("--node-dead-after", c.node_dead_after_s,
                   "Seconds without heartbeat before another node takes over a node's events "
                   "(at least 1; the heartbeat runs every third of it)")
        ->envname("PUBSUB_NODE_DEAD_AFTER");
    app.add_option("--idempotency-window", c.idempotency_window,
                   "How long an idempotency key stays unique after its first event "
                   "(e.g. 24h, 90m, 7d)")
        ->envname("PUBSUB_IDEMPOTENCY_WINDOW");
    app.add_option("--max-line-bytes", c.max_line_bytes, "Longest request line on the socket")
        ->envname("PUBSUB_MAX_LINE_BYTES");
    app.add_option("--http", c.http_listen,
                   "HTTP admin endpoint (page, API, /metrics, /livez, /readyz): PORT (loopback) or "
                   "ADDR:PORT; off when unset")
        ->envname("PUBSUB_HTTP");
    app.add_option("--http-token", c.http_token,
                   "Bearer token required by every HTTP request that changes something (prefer "
                   "the environment variable: flags show in ps)")
        ->envname("PUBSUB_HTTP_TOKEN");
    app.add_flag("--http-allow-unauthenticated", c.http_allow_unauthenticated,
                 "Without --http-token, allow changes over HTTP anyway (default: refused, 403)")
        ->envname("PUBSUB_HTTP_ALLOW_UNAUTHENTICATED");
    app.add_option("--http-auth", c.http_auth,
                   "Which HTTP requests need the token: changes (default) or all (every route "
                   "but /livez, /readyz, /healthz, /metrics and the page's files)")
        ->envname("PUBSUB_HTTP_AUTH")
        ->check(CLI::IsMember({"changes", "all"}));
    app.add_option("--http-allow-host", c.http_allow_hosts,
                   "Host name the loopback HTTP endpoint also answers to, besides 127.0.0.0/8, "
                   "[::1] and localhost (repeatable)")
        ->envname("PUBSUB_HTTP_ALLOW_HOST");
    app.add_option("--http-max-connections", c.http_max_connections,
                   "Open HTTP connections at most; one more gets 503 and is closed")
        ->envname("PUBSUB_HTTP_MAX_CONNECTIONS")
        ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}));
    app.add_option("--http-header-timeout", c.http_header_timeout_s,
                   "Seconds a client has to send a request's header (slow clients are cut)")
        ->envname("PUBSUB_HTTP_HEADER_TIMEOUT")
        ->check(CLI::Range(1, 3600));
    app.add_option("--retry-base-ms", c.retry_base_ms,
                   "Delay before a failed delivery's first retry; doubles per retry, with jitter")
        ->envname("PUBSUB_RETRY_BASE_MS")
        ->check(CLI::Range(1, 86'400'000));
    app.add_option("--retry-max-ms", c.retry_max_ms, "Longest delay between retries")
        ->envname("PUBSUB_RETRY_MAX_MS")
        ->check(CLI::Range(1, 86'400'000));
    app.add_option("--queue-limit", c.queue_limit,
                   "Deliveries per handler pool before new events that could reach it are "
                   "refused (0: none)")
        ->envname("PUBSUB_QUEUE_LIMIT");
    app.add_option("--worker-window", c.worker_window,
                   "Deliveries in flight per persistent worker at most (and at most its hello's "
                   "concurrency)")
        ->envname("PUBSUB_WORKER_WINDOW")
        ->check(CLI::Range(1, 10'000));
    std::string notify_ingest = "on";
    app.add_option("--notify-ingest", notify_ingest,
                   "on|off: take events from pg_notify('tpubsub_ingest', ...), which any role "
                   "that can connect to the database may send")
        ->envname("PUBSUB_NOTIFY_INGEST")
        ->check(CLI::IsMember({"on", "off"}));
    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp&) {
        return {std::nullopt, app.help(), 0};
    } catch (const CLI::CallForVersion& v) {
        return {std::nullopt, v.what(), 0};
    } catch (const CLI::ParseError& e) {
        return {std::nullopt, "pubsubd: " + std::string(e.what()) + "\nRun with --help for usage.",
                e.get_exit_code() == 0 ? 2 : e.get_exit_code()};
    }
    config_outcome out;
    out.exit_code = 2;
    try {
        std::size_t used = 0;
        c.socket_mode = static_cast<unsigned>(std::stoul(socket_mode, &used, 8));
        if (used != socket_mode.size() || c.socket_mode > 0777) throw std::invalid_argument("");
    } catch (...) {
        out.message =
            "pubsubd: --socket-mode must be an octal mode like 0660, got \"" + socket_mode + "\"";
        return out;
    }
    for (const auto& item : job_commands) {
        job_type t;
        std::string v;
        if (auto e = split_typed(item, t, v, "--job-command")) {
            out.message = "pubsubd: " + *e;
            return out;
        }
        c.job_commands[t] = v;
    }
    for (const auto& item : concurrency) {
        job_type t;
        std::string v;
        if (auto e = split_typed(item, t, v, "--concurrency")) {
            out.message = "pubsubd: " + *e;
            return out;
        }
        int n = 0;
        try {
            n = std::stoi(v);
        } catch (...) {
        }
        if (n < 1 || n > 1024) {
            out.message = "pubsubd: --concurrency " + item + ": N must be 1..1024";
            return out;
        }
        c.concurrency[t] = n;
    }
    if (auto r = parse_retention(retention); r.ok()) {
        c.retention = *r;
    } else {
        out.message = "pubsubd: " + r.message();
        return out;
    }
    if (!c.http_listen.empty()) {
        if (auto l = admin::parse_listen(c.http_listen); !l.ok()) {
            out.message = "pubsubd: " + l.message();
            return out;
        }
    }
    if (c.node_dead_after_s < 1) {
        out.message =
            "pubsubd: --node-dead-after must be a whole number of seconds, at least 1, "
            "got " +
            std::to_string(c.node_dead_after_s);
        return out;
    }
    if (auto w = parse_window_s(c.idempotency_window); w > 0) {
        c.idempotency_window_s = w;
    } else {
        out.message =
            "pubsubd: --idempotency-window must be a positive duration such as 24h, "
            "90m, 3600s or 7d, got " +
            c.idempotency_window;
        return out;
    }
    c.notify_ingest = notify_ingest == "on";
    c.args.assign(argv, argv + argc);
    if (c.http_auth == "all" && c.http_token.empty()) {
        out.message =
            "pubsubd: --http-auth all needs a token: set --http-token (or "
            "PUBSUB_HTTP_TOKEN)";
        return out;
    }
    if (c.socket_path.empty()) c.socket_path = c.data_dir + "/pubsub.sock";
    out.config = std::move(c);
    out.exit_code = 0;
    return out;
}

config_outcome parse_config(const std::vector<std::string>& args) {
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    return parse_config(static_cast<int>(args.size()), argv.data());
}

}  // namespace pubsub
