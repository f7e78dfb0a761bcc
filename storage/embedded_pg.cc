// embedded_cluster: see embedded_pg.h. The start and stop flow; its parts live beside it:
// embedded_pg_user (the server's OS user, running initdb and pg_ctl as it), embedded_pg_files
// (folders, files, the lock), embedded_pg_server (pings, postmaster.pid), embedded_pg_config
// (DSN, server options, pubsub.conf).
#include "storage/embedded_pg.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>

#include "base/errno_text.h"
#include "storage/embedded_pg_config.h"
#include "storage/embedded_pg_files.h"
#include "storage/embedded_pg_server.h"
#include "storage/embedded_pg_user.h"
#include "storage/pg.h"

namespace fs = std::filesystem;

namespace pubsub {

using namespace detail;
using identity = detail::pg_identity;

// ---- embedded_cluster -----------------------------------------------------------------------

embedded_cluster::embedded_cluster(embedded_options options) : opt_(std::move(options)) {
    std::error_code ec;
    data_dir_ = fs::weakly_canonical(fs::absolute(opt_.data_dir, ec), ec);
    if (data_dir_.empty()) data_dir_ = fs::absolute(opt_.data_dir, ec);
}

embedded_cluster::~embedded_cluster() = default;

void embedded_cluster::log(log_level level, const std::string& line) const {
    if (opt_.log) opt_.log(level, line);
}

status embedded_cluster::start() {
    for (const auto& s : opt_.settings) {
        if (s.find('\'') != std::string::npos || s.find('=') == std::string::npos) {
            return status::error("bad server setting '" + s + "': expected name=value without '");
        }
    }
    auto who = resolve_identity(opt_.run_as);
    if (!who) return who.error();
    const mode_t mode = who->switch_user ? 0711 : 0700;
    std::error_code ec;
    if (!fs::exists(data_dir_, ec)) {
        fs::create_directories(data_dir_.parent_path(), ec);
        if (mkdir(data_dir_.c_str(), mode) == 0) {
            chmod(data_dir_.c_str(), mode);  // not reduced by the umask
        } else if (errno != EEXIST) {
            return status::error("cannot create data dir " + data_dir_.string() + ": " +
                                 errno_text(errno));
        }
    }
    file_lock lock(data_dir_ / "pg.lock");
    if (!lock.ok()) {
        return status::error("cannot lock " + (data_dir_ / "pg.lock").string() + ": " +
                             errno_text(errno));
    }
    auto st = start_locked(*who);
    if (!st.ok()) dsn_.clear();
    return st;
}

status embedded_cluster::start_locked(const identity& m) {
    if (auto st = locate_or_create_root(m); !st.ok()) return st;
    if (auto st = ensure_initialised(m); !st.ok()) return st;
    if (auto st = ensure_running(m); !st.ok()) return st;
    if (auto st = ensure_database(m); !st.ok()) return st;
    return write_text(data_dir_ / "pg.dsn", dsn_ + "\n", identity{});
}

// Picks the cluster root: data_dir/pg when the server user can use it, else a short fallback
// folder that data_dir/pg then links to.
status embedded_cluster::locate_or_create_root(const identity& m) {
    const fs::path link = data_dir_ / "pg";
    std::error_code ec;
    auto st = fs::symlink_status(link, ec);
    if (fs::is_symlink(st)) {
        root_ = fs::read_symlink(link, ec);
        if (root_.is_relative()) root_ = data_dir_ / root_;
        if (!fs::exists(fs::symlink_status(root_, ec))) {
            log(log_level::warn, "cluster folder " + root_.string() + " (linked from " +
                                     link.string() + ") is gone; creating a new, empty cluster");
        }
        return private_dir(root_, m);
    }
    if (fs::is_directory(st)) {
        root_ = link;
        if (!can_traverse(m, root_)) {
            return status::error("cluster folder " + root_.string() + " is not reachable by user " +
                                 m.name +
                                 " (a parent folder denies traversal); allow it with "
                                 "chmod o+x on the parents or move the data dir");
        }
        return status();
    }
    std::string why;
    if (!can_traverse(m, data_dir_)) {
        why = "user " + m.name + " cannot traverse " + data_dir_.string();
    } else if (!socket_path_ok(link)) {
        why = "the socket path under " + link.string() + " is too long or has unsafe characters";
    } else {
        root_ = link;
        return make_dir(root_, 0700, m);
    }
    return place_in_fallback(m, why);
}

// Short folders for the cluster root, in order of preference. /var/tmp comes last because tmp
// cleaners (systemd-tmpfiles) may delete files a cluster has not touched for weeks.
static std::vector<fs::path> fallback_candidates(const identity& m, const std::string& data_dir) {
    const std::string tag = std::to_string(geteuid()) + "-" + hash8(data_dir);
    std::vector<fs::path> out;
    if (m.switch_user) {
        out.push_back(fs::path("/var/lib/pubsub") / ("pg-" + tag));
    } else if (const char* home = std::getenv("HOME"); home && *home) {
        out.push_back(fs::path(home) / ".local/share/pubsub" / ("pg-" + tag));
    }
    out.push_back(fs::path("/var/tmp") / ("pubsub-pg-" + tag));
    return out;
}

status embedded_cluster::place_in_fallback(const identity& m, const std::string& why) {
    const fs::path link = data_dir_ / "pg";
    std::error_code ec;
    for (const auto& c : fallback_candidates(m, data_dir_.string())) {
        if (!socket_path_ok(c)) continue;
        const fs::path parent = c.parent_path();
        const bool new_parent = !fs::exists(parent, ec);
        fs::create_directories(parent, ec);
        // run_as must traverse a parent we create as root; it still cannot list it.
        if (new_parent && m.switch_user) chmod(parent.c_str(), 0711);
        if (fs::exists(fs::symlink_status(c, ec))) {
            if (auto st = check_private_dir(c, m); !st.ok()) return st;  // not ours: say so
        } else if (!private_dir(c, m).ok()) {
            continue;
        }
        if (!can_traverse(m, c)) continue;
        fs::create_directory_symlink(c, link, ec);
        if (ec) {
            return status::error("cannot create symlink " + link.string() + ": " + ec.message());
        }
        root_ = c;
        log(log_level::warn, why + "; the cluster lives in " + c.string() + " instead (" +
                                 link.string() + " links to it)");
        return status();
    }
    return status::error(why +
                         ", and no fallback folder was usable (tried /var/lib/pubsub, "
                         "~/.local/share/pubsub, /var/tmp)");
}

status embedded_cluster::ensure_initialised(const identity& m) {
    const fs::path pgdata = root_ / "data";
    std::error_code ec;
    if (fs::exists(pgdata / "PG_VERSION", ec)) return make_dir(root_ / "sock", 0700, m);
    const fs::path tmp = root_ / "data.init";
    fs::remove_all(tmp, ec);
    log(log_level::info, "creating PostgreSQL cluster in " + pgdata.string());
    std::vector<std::string> args = {"initdb",
                                     "-D",
                                     tmp.string(),
                                     "-U",
                                     m.name,
                                     "--auth-local=trust",
                                     "--auth-host=reject",
                                     "--locale=C",
                                     "--encoding=UTF8"};
    if (!opt_.durable) args.push_back("--no-sync");
    auto r = run_program(m, root_, args);
    if (!r) return status::error("initdb failed: " + r.message());
    if (r->code != 0) return status::error("initdb failed: " + tail_lines(r->output, 6));
    if (auto st = write_text(tmp / "pubsub.conf", k_pubsub_conf, m); !st.ok()) return st;
    std::ofstream conf(tmp / "postgresql.conf", std::ios::app);
    conf << "\ninclude_if_exists = 'pubsub.conf'\n";
    conf.close();
    if (!conf) return status::error("cannot append to " + (tmp / "postgresql.conf").string());
    fs::rename(tmp, pgdata, ec);
    if (ec) return status::error("cannot rename " + tmp.string() + ": " + ec.message());
    return make_dir(root_ / "sock", 0700, m);
}

// After a crash: lets the dying children of a killed postmaster exit, and removes a
// postmaster.pid whose pid now belongs to an unrelated process (the server would refuse to
// start). A postmaster.pid whose process is dead stays: the server checks its shared memory.
status embedded_cluster::clear_leftovers(const fs::path& pgdata) {
    auto [state, pid] = postmaster_state(pgdata);
    if (state == pid_state::ours) {
        return status::error("a postgres process (pid " + std::to_string(pid) + ") holds " +
                             pgdata.string() + " but does not answer on " +
                             (root_ / "sock").string() + "; stop it and retry");
    }
    if (state == pid_state::absent) return status();
    auto orphans = wait_for_orphans(pgdata, std::chrono::seconds(15));
    if (!orphans.empty()) {
        return status::error("server processes (pid " + std::to_string(orphans.front()) +
                             ", ...) of a stopped postmaster still use " + pgdata.string() +
                             "; kill them and retry");
    }
    if (state == pid_state::reused) {
        log(log_level::warn,
            "removing stale postmaster.pid (pid " + std::to_string(pid) + " is not its server)");
        std::error_code ec;
        fs::remove(pgdata / "postmaster.pid", ec);
        // The socket lock names the same pid; the socket folder is private to this cluster.
        fs::remove(root_ / "sock" / (std::string(k_socket_name + 1) + ".lock"), ec);
    } else {
        log(log_level::warn, "the server in " + pgdata.string() +
                                 " did not shut down cleanly (pid " + std::to_string(pid) +
                                 " is gone); recovering");
    }
    return status();
}

status embedded_cluster::ensure_running(const identity& m) {
    const fs::path pgdata = root_ / "data";
    const std::string admin = make_dsn(root_, "postgres", m.name);
    started_server_ = false;
    if (ping_settled(admin, std::chrono::seconds(60)) == PQPING_OK) {
        log(log_level::info, "reusing the running PostgreSQL in " + pgdata.string());
        return status();
    }
    if (auto st = clear_leftovers(pgdata); !st.ok()) return st;
    // pg_ctl's own log (what the server says before its log collector runs) is appended to at
    // every start: past k_max_start_log bytes it is moved to postgres.log.1, replacing the last.
    std::error_code size_ec;
    if (fs::file_size(log_file(), size_ec) > k_max_start_log && !size_ec) {
        fs::rename(log_file(), log_file().string() + ".1", size_ec);
    }
    log(log_level::info, "starting PostgreSQL in " + pgdata.string());
    auto r = run_program(m, root_,
                         {"pg_ctl", "start", "-D", pgdata.string(), "-w", "-t", "120", "-l",
                          log_file().string(), "-o", server_options(root_, opt_)});
    if (!r) return status::error("pg_ctl start failed: " + r.message());
    if (r->code != 0 || ping_settled(admin, std::chrono::seconds(10)) != PQPING_OK) {
        return status::error("pg_ctl start failed; see " + log_file().string() + ": " +
                             tail_lines(read_text(log_file()), 5) + " " + tail_lines(r->output, 2));
    }
    started_server_ = true;
    return status();
}

status embedded_cluster::ensure_database(const identity& m) {
    dsn_ = make_dsn(root_, opt_.database, m.name);
    auto conn = pg::connection::open(make_dsn(root_, "postgres", m.name));
    if (!conn) return conn.error();
    const std::string exists = "SELECT 1 FROM pg_database WHERE datname = $1";
    auto q = conn->query(exists, {opt_.database});
    if (!q) return status::error("cannot list databases: " + q.message());
    if (q->rows() > 0) return status();
    log(log_level::info, "creating database " + opt_.database);
    auto st = conn->exec("CREATE DATABASE " + conn->quote_identifier(opt_.database));
    if (st.ok()) return st;
    q = conn->query(exists, {opt_.database});  // someone else may have won the race
    if (q && q->rows() > 0) return status();
    return status::error("cannot create database " + opt_.database + ": " + st.message());
}

status embedded_cluster::stop() noexcept {
    try {
        std::error_code ec;
        const fs::path link = data_dir_ / "pg";
        if (!fs::exists(link / "data" / "PG_VERSION", ec)) return status();
        auto who = resolve_identity(opt_.run_as);
        if (!who) return who.error();
        file_lock lock(data_dir_ / "pg.lock");
        root_ = fs::canonical(link, ec);
        const fs::path pgdata = root_ / "data";
        if (postmaster_state(pgdata).first != pid_state::ours) return status();
        log(log_level::info, "stopping PostgreSQL in " + pgdata.string());
        auto r = run_program(
            *who, root_, {"pg_ctl", "stop", "-D", pgdata.string(), "-m", "fast", "-w", "-t", "60"});
        if (!r) return status::error("pg_ctl stop failed: " + r.message());
        if (r->code != 0 && postmaster_state(pgdata).first == pid_state::ours) {
            return status::error("pg_ctl stop failed: " + tail_lines(r->output, 4));
        }
        return status();
    } catch (const std::exception& e) {
        return status::error(std::string("stopping PostgreSQL failed: ") + e.what());
    }
}

std::optional<std::string> embedded_cluster::find_running(const fs::path& data_dir) {
    std::error_code ec;
    const fs::path file = fs::absolute(data_dir, ec) / "pg.dsn";
    std::string dsn = read_text(file);
    while (!dsn.empty() && (dsn.back() == '\n' || dsn.back() == ' ')) dsn.pop_back();
    if (dsn.empty() || ping(dsn) != PQPING_OK) return std::nullopt;
    return dsn;
}

}  // namespace pubsub
