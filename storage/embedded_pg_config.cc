// Server configuration of an embedded cluster: see embedded_pg_config.h.
#include "storage/embedded_pg_config.h"

#include "storage/embedded_pg_files.h"

namespace fs = std::filesystem;

namespace pubsub::detail {

namespace {

std::string conninfo_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

}  // namespace

std::string make_dsn(const fs::path& root, const std::string& db, const std::string& role) {
    return "host=" + conninfo_value((root / "sock").string()) + " port=" + std::to_string(k_port) +
           " dbname=" + conninfo_value(db) + " user=" + conninfo_value(role);
}

std::string server_options(const fs::path& root, const embedded_options& opt) {
    std::string o = "-p " + std::to_string(k_port) + " -k '" + (root / "sock").string() +
                    "' -c listen_addresses=''";
    if (!opt.durable) o += " -c fsync=off";
    // A bounded server log: the collector writes ROOT/log/postgresql-HH.log, one file per hour
    // of the day, each emptied when its hour comes round again, so at most 24 hours of log.
    o += " -c logging_collector=on -c log_directory='" + (root / "log").string() +
         "' -c log_filename='postgresql-%H.log' -c log_rotation_age=60 -c log_rotation_size=0"
         " -c log_truncate_on_rotation=on";
    for (const auto& s : opt.settings) o += " -c '" + s + "'";
    return o;
}

const char* const k_pubsub_conf =
    R"(# Written by pubsub at initdb time; edit freely (it is included from postgresql.conf).
# listen_addresses, port and unix_socket_directories are set on the command line at each start.
# Tuned for a write-heavy event router on a small machine.
max_connections = 100
shared_buffers = 128MB
work_mem = 8MB
maintenance_work_mem = 64MB
# Durable acks rely on these two: keep them on.
fsync = on
synchronous_commit = on
# No replicas or archiving for an embedded cluster: less WAL. Set 'replica' (and
# max_wal_senders) to take base backups or stream to a standby; pg_dump works either way.
wal_level = minimal
max_wal_senders = 0
wal_buffers = 16MB
wal_compression = on
checkpoint_timeout = 10min
max_wal_size = 1GB
min_wal_size = 128MB
# Event rows churn (pending -> processing -> completed): vacuum early and often.
autovacuum_naptime = 10s
autovacuum_vacuum_scale_factor = 0.05
autovacuum_analyze_scale_factor = 0.05
autovacuum_vacuum_insert_scale_factor = 0.05
log_line_prefix = '%m [%p] '
log_timezone = 'UTC'
timezone = 'UTC'
)";

}  // namespace pubsub::detail
