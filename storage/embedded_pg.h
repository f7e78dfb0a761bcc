// embedded_cluster: a private PostgreSQL cluster kept under the data directory, for pubsubd's
// embedded mode, the pubsub-pg tool and the integration-test fixture.
//
// Layout (data_dir belongs to the caller; pg/ to the user that runs the server):
//   data_dir/pg/              cluster root: a folder, or a symlink to a fallback folder (below)
//   data_dir/pg/data/         PGDATA (initdb --auth-local=trust --locale=C --encoding=UTF8)
//   data_dir/pg/sock/         the only way in: a Unix socket (listen_addresses='', port 5432)
//   data_dir/pg/postgres.log  what the server says before its log collector starts (pg_ctl -l;
//                             moved to postgres.log.1 at a start once over 10 MB)
//   data_dir/pg/log/          the server log, postgresql-HH.log: one file per hour of the day,
//                             emptied when its hour comes round, so at most 24 hours kept
//   data_dir/pg.dsn           DSN of the last successful start(), read by find_running()
//   data_dir/pg.lock          flock held while starting or stopping
// Server tunables live in data/pubsub.conf (written once by the first start, edit freely);
// the socket directory, port and listen_addresses are passed on the command line at each
// start so they always match dsn(). fsync and synchronous_commit stay on: durable acks rely on
// them.
//
// Users: PostgreSQL refuses to run as root. When we are root, the cluster root is owned by
// options.run_as (default `postgres`), initdb and pg_ctl run as that user (fork, setgroups,
// setgid, setuid, exec) and dsn() connects as the `postgres` superuser role. Otherwise
// everything runs as the current user and dsn() uses that user's role (initdb creates it).
//
// Fallback: when run_as cannot traverse data_dir (e.g. it is under /root, mode 0700), or the
// socket path would not fit sun_path (107 bytes), or the path holds characters unsafe for the
// server's option parsing, the cluster root goes to a short folder -- as root
// /var/lib/pubsub/pg-<uid>-<hash>, else ~/.local/share/pubsub/pg-<uid>-<hash>, and finally
// /var/tmp/pubsub-pg-<uid>-<hash> (<hash>: 8 hex digits of the absolute data_dir) -- and
// data_dir/pg becomes a symlink to it. The choice is logged as a warning. A fallback folder (or
// a link target) that already exists is used only when it is a real directory owned by the
// server user with mode 0700; otherwise start() fails naming it (the names are predictable, so
// another user could have made it first). A new data_dir is
// created with mode 0700, or 0711 when we are root so that run_as can reach data_dir/pg
// (others may traverse data_dir but not list it).
//
// Lifetime: the server outlives this object. The destructor does not stop it (pubsub-pg start
// starts it and exits); call stop(). A server left running (say the daemon was killed with -9)
// is reused by the next start(); a postmaster.pid left by a machine crash is detected as stale
// and removed before pg_ctl starts the server, which then runs crash recovery.
//
// Thread-safety: none; use one object from one thread. Several processes may start() or stop()
// the same data_dir at once: they serialise on data_dir/pg.lock.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/logger.h"
#include "base/result.h"

namespace pubsub {

namespace detail {
struct pg_identity;  // the OS user that runs the server (embedded_pg_user.h)
}

struct embedded_options {
    std::filesystem::path data_dir = ".data";
    std::string database = "pubsub";  // created by start() when missing
    std::string run_as = "postgres";  // the OS user that runs the server when we are root
    // Extra server settings ("name=value"), passed with -c at each start; they override
    // pubsub.conf. Values may not contain a single quote.
    std::vector<std::string> settings;
    // false: initdb --no-sync and fsync=off, for throwaway clusters in tests. Never for data
    // that matters: a machine crash can corrupt such a cluster.
    bool durable = true;
    // Receives one line per notable step (initdb, start, reuse, fallback). May be empty.
    log_sink log;  // info and warn only
};

class embedded_cluster {
  public:
    explicit embedded_cluster(embedded_options options);
    ~embedded_cluster();  // does not stop the server; see "Lifetime" above
    embedded_cluster(const embedded_cluster&) = delete;
    embedded_cluster& operator=(const embedded_cluster&) = delete;

    // Creates data_dir and the cluster on first use, starts the server (or reuses a running
    // one), creates the database if missing and records the DSN. Blocks for up to ~2 minutes
    // (initdb, crash recovery). Safe to call again.
    [[nodiscard]] status start();

    // pg_ctl stop -m fast -w. Ok when nothing is running or nothing was ever created.
    // Idempotent; usable without start() (it locates the cluster from data_dir).
    status stop() noexcept;

    // libpq connection string: host=<socket dir> port=5432 dbname=<database> user=<role>.
    // Empty before a successful start().
    const std::string& dsn() const { return dsn_; }
    // True when the last start() launched the server, false when it reused one already running
    // (left by another process, or by `pubsub-pg start`). Only the process that started a
    // server should stop it.
    bool started_server() const { return started_server_; }
    // The resolved cluster root (after start()), and the server log inside it.
    const std::filesystem::path& cluster_dir() const { return root_; }
    std::filesystem::path log_file() const { return root_ / "postgres.log"; }

    // The DSN of a server already running for data_dir (recorded by its start() and answering
    // a ping), or nullopt. Never starts anything.
    static std::optional<std::string> find_running(const std::filesystem::path& data_dir);

  private:
    using identity = detail::pg_identity;
    status start_locked(const identity& who);
    status locate_or_create_root(const identity& who);
    status place_in_fallback(const identity& who, const std::string& why);
    status ensure_initialised(const identity& who);
    status ensure_running(const identity& who);
    status clear_leftovers(const std::filesystem::path& pgdata);
    status ensure_database(const identity& who);
    void log(log_level level, const std::string& line) const;

    embedded_options opt_;
    std::filesystem::path data_dir_;  // absolute
    std::filesystem::path root_;      // cluster root, symlinks resolved
    std::string dsn_;
    bool started_server_ = false;
};

}  // namespace pubsub
