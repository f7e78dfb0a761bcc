// config: pubsubd's settings from flags, PUBSUB_<NAME> environment variables and a config file
// (flags win over the environment, which wins over the file). Start-up only; throws nothing:
// parse_config() returns the error text (or the help text, with exit code 0).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "router/subscriber.h"
#include "storage/retention.h"

namespace pubsub {

struct daemon_config {
    std::string dsn;  // empty: embedded cluster under data_dir
    std::string schema = "dba";
    std::string data_dir = ".data";
    std::string socket_path;  // default data_dir/pubsub.sock
    unsigned socket_mode = 0660;
    std::vector<unsigned> socket_allow_uids;  // empty: whoever the file mode lets in
    std::vector<unsigned> socket_allow_gids;
    std::size_t max_connections = 1024;  // open socket connections; more are refused
    std::vector<std::string> watch_dirs;
    std::vector<std::string> watch_ignore;  // empty: the watcher's defaults
    std::vector<std::string> scripts_dirs;
    std::map<job_type, std::string> job_commands;
    std::map<job_type, int> concurrency;
    retention_policy retention;  // --retention STATUS=DURATION over the defaults
    std::string config_file;
    std::string log_level = "info";
    std::string log_format = "logfmt";  // or "json": one JSON object per line
    std::string node_name;              // default host:socket path
    std::size_t write_connections = 2;
    std::size_t max_batch_rows = 16384;
    int linger_us = 200;
    std::size_t max_unpersisted = 1'000'000;
    std::size_t max_unpersisted_bytes = std::size_t{256} << 20;  // the memory budget
    std::size_t max_scheduled = 2'500'000;                       // events held until their run_at
    int drain_timeout_s = 10;
    int db_wait_s = 30;
    int sweep_interval_ms = 1000;
    int node_dead_after_s = 30;
    std::string idempotency_window = "24h";         // SPEC 7.2; s, m, h or d
    std::int64_t idempotency_window_s = 24 * 3600;  // parsed from idempotency_window
    std::size_t max_line_bytes = 1 << 20;
    std::string http_listen;  // --http PORT or ADDR:PORT; empty: no HTTP admin endpoint
    std::string http_token;   // bearer token for changes; PUBSUB_HTTP_TOKEN
    bool http_allow_unauthenticated = false;    // changes without a token (else 403)
    std::string http_auth = "changes";          // or "all": the token also for reads
    std::vector<std::string> http_allow_hosts;  // Host names taken as loopback
    std::size_t http_max_connections = 64;
    int http_header_timeout_s = 10;       // to receive a request's header
    int retry_base_ms = 1000;             // first retry delay (handlers/retry_policy.h)
    int retry_max_ms = 300'000;           // longest retry delay
    std::size_t queue_limit = 1'000'000;  // deliveries per handler pool before the door refuses
    int worker_window = 16;               // deliveries in flight per persistent worker, at most
    bool notify_ingest = true;      // --notify-ingest on|off: the pg_notify('tpubsub_ingest') door
    std::vector<std::string> args;  // the command line, parsed again on SIGHUP
};

struct config_outcome {
    std::optional<daemon_config> config;
    std::string message;  // error or help text when config is empty
    int exit_code = 0;
};

config_outcome parse_config(int argc, char** argv);
// parse_config() over a saved command line (daemon_config::args), for SIGHUP: the config file
// and environment are read again.
config_outcome parse_config(const std::vector<std::string>& args);

}  // namespace pubsub
