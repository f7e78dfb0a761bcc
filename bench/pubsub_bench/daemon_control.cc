#include "bench/pubsub_bench/daemon_control.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "storage/migrations.h"
#include "storage/pg.h"

extern char** environ;

namespace pubsub::bench {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

// Spawns argv with stdout to `out_fd` (or the log file) and stderr to the log file.
result<pid_t> spawn(const std::vector<std::string>& argv, const std::string& log_file,
                    int out_fd = -1) {
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    // Opened here, not by the child: a log that cannot be opened (its folder missing) is named
    // as such, where posix_spawn's ENOENT read as if the program were missing.
    const int log_fd = ::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log_fd < 0) {
        return status::error("cannot open the log file " + log_file + ": " + std::strerror(errno));
    }
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&fa, log_fd, 2);
    if (out_fd >= 0) {
        posix_spawn_file_actions_adddup2(&fa, out_fd, 1);
    } else {
        posix_spawn_file_actions_adddup2(&fa, 2, 1);
    }
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, args[0], &fa, &attr, args.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    ::close(log_fd);
    if (rc != 0) return status::error("cannot start " + argv[0] + ": " + std::strerror(rc));
    return pid;
}

// Waits for pid up to timeout; the exit code (128+signal), or -1 on timeout.
int wait_pid(pid_t pid, int timeout_ms) {
    auto until = steady::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
        int st = 0;
        pid_t r = ::waitpid(pid, &st, WNOHANG);
        if (r == pid) return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        if (r < 0) return -2;
        if (steady::now() >= until) return -1;
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
}

// Runs argv to completion; its stdout text, or an error (with the log tail).
result<std::string> run_capture(const std::vector<std::string>& argv, const std::string& log,
                                int timeout_s, int* exit_code) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return status::error("pipe failed");
    auto pid = spawn(argv, log, fds[1]);
    ::close(fds[1]);
    if (!pid.ok()) {
        ::close(fds[0]);
        return pid.error();
    }
    std::string out;
    char buf[4096];
    ssize_t n;
    while ((n = ::read(fds[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR)) {
        if (n > 0) out.append(buf, static_cast<std::size_t>(n));
    }
    ::close(fds[0]);
    int rc = wait_pid(*pid, timeout_s * 1000);
    if (rc == -1) {
        ::kill(*pid, SIGKILL);
        wait_pid(*pid, 5000);
        return status::error(argv[0] + " did not finish in " + std::to_string(timeout_s) + " s");
    }
    *exit_code = rc;
    while (!out.empty() && (out.back() == '\n' || out.back() == ' ')) out.pop_back();
    return out;
}

bool socket_accepts(const std::string& path) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path.size() >= sizeof addr.sun_path) return false;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    bool ok = fd >= 0 && ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    if (fd >= 0) ::close(fd);
    return ok;
}

}  // namespace

std::string bin_dir() {
    std::error_code ec;
    auto exe = fs::read_symlink("/proc/self/exe", ec);
    return ec ? std::string(".") : exe.parent_path().string();
}

std::string file_tail(const std::string& path, std::size_t max_bytes) {
    std::ifstream in(path, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    std::string s = ss.str();
    return s.size() > max_bytes ? s.substr(s.size() - max_bytes) : s;
}

result<cluster_handle> ensure_cluster(const std::string& data_dir, int timeout_s) {
    std::error_code ec;
    fs::create_directories(data_dir, ec);
    cluster_handle c;
    c.data_dir = data_dir;
    const std::string tool = bin_dir() + "/pubsub-pg";
    const std::string log = data_dir + "/pubsub-pg.log";
    int rc = 0;
    auto found = run_capture({tool, "dsn", "--data-dir", data_dir, "-q"}, log, 30, &rc);
    if (found.ok() && rc == 0 && !found->empty()) {
        c.dsn = *found;
        return c;
    }
    auto started = run_capture({tool, "start", "--data-dir", data_dir, "-q"}, log, timeout_s, &rc);
    if (!started.ok()) return started.error();
    if (rc != 0 || started->empty()) {
        return status::error("pubsub-pg start failed (exit " + std::to_string(rc) +
                             "): " + file_tail(log, 1500));
    }
    c.dsn = *started;
    c.started_here = true;
    return c;
}

status stop_cluster(const cluster_handle& c, int timeout_s) {
    int rc = 0;
    auto r = run_capture({bin_dir() + "/pubsub-pg", "stop", "--data-dir", c.data_dir, "-q"},
                         c.data_dir + "/pubsub-pg.log", timeout_s, &rc);
    if (!r.ok()) return r.error();
    return rc == 0 ? status() : status::error("pubsub-pg stop exited " + std::to_string(rc));
}

status prepare_schema(const std::string& dsn, const std::string& schema, const std::string& handler,
                      const std::string& script_path) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    auto applied = apply_migrations(*conn, schema);
    if (!applied.ok()) return status::error("migrations: " + applied.message());
    std::string q = conn->quote_identifier(schema);
    if (handler == "noop") {
        return conn->exec("INSERT INTO " + q +
                          ".tpubsub_subscribers (subscriber_name, event_type, job_type) "
                          "VALUES ('noop', 'noop', 'noop')");
    }
    // A sleeping custom handler: saturated with one thread, everything else stays queued.
    return conn->exec("INSERT INTO " + q +
                      ".tpubsub_subscribers (subscriber_name, event_type, job_type, "
                      "script_path, max_retries, timeout_s) VALUES ('sleep', 'noop', 'custom', " +
                      conn->quote_literal(script_path) + ", 0, 3600)");
}

status drop_schema(const std::string& dsn, const std::string& schema) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    return conn->exec("DROP SCHEMA IF EXISTS " + conn->quote_identifier(schema) + " CASCADE");
}

std::string server_version(const std::string& dsn) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return "?";
    auto r = conn->query("SHOW server_version");
    return r.ok() && r->rows() == 1 ? std::string(r->get(0, 0)) : "?";
}

result<std::string> write_sleep_script(const std::string& dir, int sleep_ms) {
    std::error_code ec;
    fs::create_directories(dir, ec);
    std::string path = dir + "/sleep.sh";
    {
        std::ofstream out(path, std::ios::trunc);
        char secs[32];
        std::snprintf(secs, sizeof secs, "%.3f", sleep_ms / 1000.0);
        out << "#!/bin/sh\n# pubsub-bench: a handler that keeps its pool busy\nexec sleep " << secs
            << "\n";
        if (!out) return status::error("cannot write " + path);
    }
    ::chmod(path.c_str(), 0755);
    return path;
}

daemon_process::~daemon_process() {
    if (pid_ > 0) {
        ::kill(pid_, SIGKILL);
        wait_pid(pid_, 5000);
    }
}

status daemon_process::start(const std::vector<std::string>& prefix,
                             const std::vector<std::string>& args, const std::string& socket_path,
                             const std::string& log_file, int timeout_s) {
    std::vector<std::string> argv = prefix;
    argv.push_back(bin_dir() + "/pubsubd");
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = log_file;
    auto pid = spawn(argv, log_file);
    if (!pid.ok()) return pid.error();
    pid_ = *pid;
    auto until = steady::now() + std::chrono::seconds(timeout_s);
    while (steady::now() < until) {
        if (socket_accepts(socket_path)) return status();
        int rc = wait_pid(pid_, 0);
        if (rc >= 0) {
            pid_ = -1;
            return status::error("pubsubd exited with " + std::to_string(rc) + ":\n" +
                                 file_tail(log_file, 2000));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status::error("pubsubd socket not ready after " + std::to_string(timeout_s) + " s:\n" +
                         file_tail(log_file, 2000));
}

int daemon_process::stop(int timeout_s) {
    if (pid_ <= 0) return -1;
    ::kill(pid_, SIGTERM);
    int rc = wait_pid(pid_, timeout_s * 1000);
    if (rc == -1) {
        ::kill(pid_, SIGKILL);
        rc = wait_pid(pid_, 5000);
    }
    pid_ = -1;
    return rc;
}

proc_sample sample_process(pid_t pid) {
    proc_sample s;
    std::ifstream st("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(st, line)) {
        auto num = [&](const char* key, std::int64_t& out) {
            if (line.rfind(key, 0) == 0) out = std::atoll(line.c_str() + std::strlen(key));
        };
        num("VmRSS:", s.rss_kb);
        num("VmHWM:", s.hwm_kb);
        num("Threads:", s.threads);
    }
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    auto close = all.rfind(')');
    if (close != std::string::npos) {
        std::istringstream rest(all.substr(close + 2));
        std::string field;
        long long utime = 0, stime = 0;
        for (int i = 3; i <= 15 && rest >> field; ++i) {
            if (i == 14) utime = std::atoll(field.c_str());
            if (i == 15) stime = std::atoll(field.c_str());
        }
        s.cpu_us = (utime + stime) * 1'000'000 / sysconf(_SC_CLK_TCK);
    }
    return s;
}

}  // namespace pubsub::bench
