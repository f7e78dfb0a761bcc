// embedded_cluster: see embedded_pg.h. Sections: identities and child processes, paths and
// files, postmaster state, then the class itself.
#include "storage/embedded_pg.h"

#include <fcntl.h>
#include <grp.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "storage/pg.h"

namespace fs = std::filesystem;

namespace pubsub {

namespace detail {
struct pg_identity {
    // The OS user that runs initdb, pg_ctl and the server; its name is also the role in dsn().
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string name;
};
}  // namespace detail

namespace {

using identity = detail::pg_identity;

constexpr int k_port = 5432;
constexpr std::size_t k_sun_path_max = 107;  // sizeof(sockaddr_un::sun_path) - 1
constexpr const char* k_socket_name = "/.s.PGSQL.5432";
constexpr int k_switch_failed = 125;  // child exit code: could not become the run-as user

std::string errno_text(int e) { return std::strerror(e); }

// ---- identities and child processes -------------------------------------------------------

result<identity> resolve_identity(const std::string& run_as) {
    identity who;
    std::vector<char> buf(16384);
    passwd pw{};
    passwd* found = nullptr;
    if (geteuid() != 0) {
        getpwuid_r(geteuid(), &pw, buf.data(), buf.size(), &found);
        who.uid = geteuid();
        who.gid = getegid();
        if (found) {
            who.name = found->pw_name;
        } else if (const char* u = std::getenv("USER")) {
            who.name = u;
        } else {
            return status::error("cannot find the name of uid " + std::to_string(geteuid()));
        }
        return who;
    }
    int rc = getpwnam_r(run_as.c_str(), &pw, buf.data(), buf.size(), &found);
    if (!found) {
        return status::error("cannot switch to user " + run_as + ": " +
                             (rc ? errno_text(rc) : "no such user") +
                             " (PostgreSQL refuses to run as root; set the run-as user)");
    }
    who.switch_user = true;
    who.uid = found->pw_uid;
    who.gid = found->pw_gid;
    who.name = found->pw_name;
    int n = 32;
    who.groups.resize(static_cast<std::size_t>(n));
    while (getgrouplist(who.name.c_str(), who.gid, who.groups.data(), &n) < 0) {
        who.groups.resize(static_cast<std::size_t>(n));
    }
    who.groups.resize(static_cast<std::size_t>(n));
    return who;
}

// In the child: becomes `who`. Only async-signal-safe calls (the parent may have threads).
void become(const identity& who) {
    if (!who.switch_user) return;
    const char* step = nullptr;
    if (setgroups(who.groups.size(), who.groups.data()) != 0) {
        step = "setgroups";
    } else if (setgid(who.gid) != 0) {
        step = "setgid";
    } else if (setuid(who.uid) != 0) {
        step = "setuid";
    }
    if (!step) return;
    int e = errno;
    dprintf(2, "cannot switch to user %s: %s: %s\n", who.name.c_str(), step, strerror(e));
    _exit(k_switch_failed);
}

void close_other_fds() {
    if (close_range(3, ~0U, 0) == 0) return;
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = 3; fd < (max > 0 && max < 65536 ? max : 65536); ++fd) close(fd);
}

struct child_result {
    int code = -1;       // exit status, or 128 + signal
    std::string output;  // stdout and stderr, interleaved
};

// Forks; the child becomes `who`, enters `cwd`, and returns body()'s value as its exit code.
// body runs after fork: it must only make async-signal-safe calls (exec, access, ...).
template <class Body>
result<child_result> run_child(const identity& who, const fs::path& cwd, Body body) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) return status::error("pipe: " + errno_text(errno));
    const std::string dir = cwd.string();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(fds[0]);
        close(fds[1]);
        return status::error("fork: " + errno_text(e));
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDONLY);
        if (devnull >= 0) dup2(devnull, 0);
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close_other_fds();
        become(who);
        if (chdir(dir.c_str()) != 0 && chdir("/") != 0) _exit(126);
        _exit(body());
    }
    close(fds[1]);
    child_result out;
    char buf[4096];
    for (;;) {
        ssize_t n = read(fds[0], buf, sizeof buf);
        if (n > 0) {
            out.output.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0 || errno != EINTR) {
            break;
        }
    }
    close(fds[0]);
    int wst = 0;
    while (waitpid(pid, &wst, 0) < 0) {
        if (errno != EINTR) return status::error("waitpid: " + errno_text(errno));
    }
    out.code = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
    return out;
}

// PATH first, then the newest /usr/lib/postgresql/<major>/bin.
result<fs::path> find_pg_binary(const std::string& name) {
    std::error_code ec;
    if (const char* path = std::getenv("PATH")) {
        std::stringstream ss(path);
        std::string dir;
        while (std::getline(ss, dir, ':')) {
            fs::path p = fs::path(dir.empty() ? "." : dir) / name;
            if (access(p.c_str(), X_OK) == 0) return fs::absolute(p, ec);
        }
    }
    fs::path best;
    int best_major = -1;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        int major = std::atoi(e.path().filename().c_str());
        fs::path p = e.path() / "bin" / name;
        if (major > best_major && access(p.c_str(), X_OK) == 0) {
            best = p;
            best_major = major;
        }
    }
    if (best_major >= 0) return best;
    return status::error(name + " not found on PATH or in /usr/lib/postgresql/*/bin");
}

// Runs a PostgreSQL program as `who`; output and exit code come back.
result<child_result> run_program(const identity& who, const fs::path& cwd,
                                 const std::vector<std::string>& args) {
    auto bin = find_pg_binary(args.at(0));
    if (!bin) return bin.error();
    const std::string exe = bin->string();
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    auto r = run_child(who, cwd, [&] {
        execv(exe.c_str(), argv.data());
        dprintf(2, "cannot run %s: %s\n", exe.c_str(), strerror(errno));
        return 127;
    });
    if (r && r->code == k_switch_failed) return status::error(r->output);
    return r;
}

// Whether `who` may search `dir` (and so every parent of it).
bool can_traverse(const identity& who, const fs::path& dir) {
    if (!who.switch_user) return access(dir.c_str(), X_OK) == 0;
    const std::string d = dir.string();
    auto r = run_child(who, "/", [&] { return access(d.c_str(), X_OK) == 0 ? 0 : 1; });
    return r && r->code == 0;
}

// ---- paths and files ------------------------------------------------------------------------

std::string hash8(const std::string& s) {
    std::uint64_t h = 1469598103934665603ULL;  // FNV-1a 64
    for (unsigned char c : s) {
        h ^= c;
        h *= 1099511628211ULL;
    }
    char buf[9];
    std::snprintf(buf, sizeof buf, "%08x", static_cast<unsigned>(h ^ (h >> 32)));
    return buf;
}

// The socket path must fit sun_path and survive pg_ctl's shell and the GUC list syntax.
bool socket_path_ok(const fs::path& root) {
    const std::string s = (root / "sock").string() + k_socket_name;
    if (s.size() > k_sun_path_max) return false;
    return std::all_of(s.begin(), s.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("/._-+@=~", c);
    });
}

std::string tail_lines(const std::string& text, int n) {
    std::size_t end = text.find_last_not_of("\n ");
    if (end == std::string::npos) return "";
    std::size_t pos = end + 1;
    while (n-- > 0 && pos > 0) {
        std::size_t nl = text.rfind('\n', pos - 1);
        pos = nl == std::string::npos ? 0 : nl;
    }
    std::string out = text.substr(pos, end + 1 - pos);
    if (!out.empty() && out[0] == '\n') out.erase(0, 1);
    std::replace(out.begin(), out.end(), '\n', ' ');
    return out;
}

std::string read_text(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

status write_text(const fs::path& p, const std::string& text, const identity& owner,
                  mode_t mode = 0600) {
    const fs::path tmp = p.string() + ".tmp";
    int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0) return status::error("cannot write " + tmp.string() + ": " + errno_text(errno));
    bool ok = write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    ok = fsync(fd) == 0 && ok;
    if (owner.switch_user) ok = fchown(fd, owner.uid, owner.gid) == 0 && ok;
    close(fd);
    if (!ok || rename(tmp.c_str(), p.c_str()) != 0) {
        return status::error("cannot write " + p.string() + ": " + errno_text(errno));
    }
    return status();
}

// A folder owned by `owner`, mode `mode`; created when missing.
status make_dir(const fs::path& dir, mode_t mode, const identity& owner) {
    if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) {
        return status::error("cannot create " + dir.string() + ": " + errno_text(errno));
    }
    if (owner.switch_user && chown(dir.c_str(), owner.uid, owner.gid) != 0) {
        return status::error("cannot give " + dir.string() + " to user " + owner.name + ": " +
                             errno_text(errno));
    }
    return status();
}

// A cluster folder outside the data dir (a fallback under /var/lib/pubsub, ~/.local/share or
// /var/tmp, or what data_dir/pg links to) is used only when it is private to the server user:
// a real directory (not a symlink) owned by that user with mode 0700. Its name is predictable,
// so someone else could create it first and plant a configuration the server would run, or a
// tmp cleaner could remove ours and let another user take the name.
status check_private_dir(const fs::path& dir, const identity& owner) {
    struct stat st {};
    if (lstat(dir.c_str(), &st) != 0) {
        return status::error("cannot inspect " + dir.string() + ": " + errno_text(errno));
    }
    const uid_t want = owner.switch_user ? owner.uid : geteuid();
    std::string problem;
    if (!S_ISDIR(st.st_mode)) {
        problem = S_ISLNK(st.st_mode) ? "is a symlink" : "is not a directory";
    } else if (st.st_uid != want) {
        problem = "is owned by uid " + std::to_string(st.st_uid) + ", not by " +
                  (owner.switch_user ? owner.name : "this user") + " (uid " + std::to_string(want) +
                  ")";
    } else if ((st.st_mode & 07777) != 0700) {
        char mode[8];
        std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
        problem = std::string("has mode ") + mode + ", not 0700";
    }
    if (problem.empty()) return status();
    return status::error("refusing the existing cluster folder " + dir.string() + ": it " +
                         problem +
                         "; if it is yours, fix it (chown, chmod 0700), otherwise "
                         "remove it");
}

// Creates a private cluster folder for owner, or vets the one already there: a folder it did not
// create is never chowned, so another user's cannot pass for ours.
status private_dir(const fs::path& dir, const identity& owner) {
    if (mkdir(dir.c_str(), 0700) == 0) {
        if (owner.switch_user && chown(dir.c_str(), owner.uid, owner.gid) != 0) {
            return status::error("cannot give " + dir.string() + " to user " + owner.name + ": " +
                                 errno_text(errno));
        }
        return status();
    }
    if (errno != EEXIST) {
        return status::error("cannot create " + dir.string() + ": " + errno_text(errno));
    }
    return check_private_dir(dir, owner);
}

std::string conninfo_value(const std::string& v) {
    std::string out = "'";
    for (char c : v) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string make_dsn(const fs::path& root, const std::string& db, const std::string& role) {
    return "host=" + conninfo_value((root / "sock").string()) + " port=" + std::to_string(k_port) +
           " dbname=" + conninfo_value(db) + " user=" + conninfo_value(role);
}

// Holds an exclusive flock on a file for its lifetime.
class file_lock {
  public:
    explicit file_lock(const fs::path& p)
        : fd_(open(p.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600)) {
        if (fd_ >= 0) {
            while (flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
            }
        }
    }
    ~file_lock() {
        if (fd_ >= 0) close(fd_);
    }
    file_lock(const file_lock&) = delete;
    file_lock& operator=(const file_lock&) = delete;
    bool ok() const { return fd_ >= 0; }

  private:
    int fd_;
};

// ---- postmaster state -----------------------------------------------------------------------

PGPing ping(const std::string& dsn) { return PQping((dsn + " connect_timeout=5").c_str()); }

// Pings until the server answers or stops refusing (it is starting or shutting down).
PGPing ping_settled(const std::string& dsn, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    PGPing p = ping(dsn);
    while (p == PQPING_REJECT && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        p = ping(dsn);
    }
    return p;
}

// Server processes (the postmaster and its children) all work in PGDATA: their pids.
std::vector<long> processes_in(const fs::path& pgdata) {
    std::vector<long> pids;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
        const std::string name = e.path().filename().string();
        if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
        if (read_text(e.path() / "comm").rfind("postgres", 0) != 0) continue;
        fs::path cwd = fs::read_symlink(e.path() / "cwd", ec);
        if (!ec && fs::equivalent(cwd, pgdata, ec)) pids.push_back(std::atol(name.c_str()));
    }
    return pids;
}

// Waits up to `limit` for server processes left behind (a killed postmaster's children).
std::vector<long> wait_for_orphans(const fs::path& pgdata, std::chrono::seconds limit) {
    auto until = std::chrono::steady_clock::now() + limit;
    auto pids = processes_in(pgdata);
    while (!pids.empty() && std::chrono::steady_clock::now() < until) {
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
        pids = processes_in(pgdata);
    }
    return pids;
}

enum class pid_state { absent, ours, dead, reused };

// Reads PGDATA/postmaster.pid: is its process alive, a postgres, and working in this PGDATA?
// When we cannot tell (no permission to read its cwd), we assume it is ours.
std::pair<pid_state, long> postmaster_state(const fs::path& pgdata) {
    std::ifstream in(pgdata / "postmaster.pid");
    if (!in) return {pid_state::absent, 0};
    long pid = 0;
    in >> pid;
    if (pid <= 0) return {pid_state::dead, pid};
    if (kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return {pid_state::dead, pid};
    const fs::path proc = "/proc/" + std::to_string(pid);
    // A zombie (no init reaping in some containers) holds nothing, but the server would see
    // its pid alive and refuse to start: treat it like a reused pid.
    std::string stat = read_text(proc / "stat");
    auto close_paren = stat.rfind(')');
    if (close_paren != std::string::npos && stat.compare(close_paren, 4, ") Z ") == 0) {
        return {pid_state::reused, pid};
    }
    std::string comm = read_text(proc / "comm");
    if (!comm.empty() && comm.rfind("postgres", 0) != 0) return {pid_state::reused, pid};
    std::error_code ec;
    fs::path cwd = fs::read_symlink(proc / "cwd", ec);
    if (ec) return {pid_state::ours, pid};
    return {fs::equivalent(cwd, pgdata, ec) ? pid_state::ours : pid_state::reused, pid};
}

constexpr std::uintmax_t k_max_start_log = 10u << 20;

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

constexpr const char* k_pubsub_conf =
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

}  // namespace

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
