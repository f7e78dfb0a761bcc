#include "bench/pubsub_bench/daemon_control.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "base/errno_text.h"
#include "base/unique_fd.h"
#include "storage/migrations.h"
#include "storage/pg.h"

namespace pubsub::bench {

namespace fs = std::filesystem;
using steady = std::chrono::steady_clock;

namespace {

// Starts argv with stdin from /dev/null, stderr appended to the log file, and stdout to a pipe
// (capture) or the log file too.
result<child> start_logged(const std::vector<std::string>& argv, const std::string& log_file,
                           bool capture_stdout) {
    // Opened here, not by the child: a log that cannot be opened (its folder missing) is named
    // as such, where the child's ENOENT read as if the program were missing.
    unique_fd log(::open(log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!log.open()) {
        return status::error("cannot open the log file " + log_file + ": " + errno_text(errno));
    }
    spawn_options o;
    o.argv = argv;
    o.err = stdio::to_fd(log.get());
    o.out = capture_stdout ? stdio::pipe() : stdio::to_fd(log.get());
    return spawn(o);
}

// The exit code (128+signal), -1 while it still runs, -2 when its status was lost.
int exit_code(const result<std::optional<exit_status>>& r) {
    if (!r.ok()) return -2;
    return *r ? (*r)->shell_code() : -1;
}

// Runs argv to completion; its stdout text, or an error (with the log tail).
result<std::string> run_capture(const std::vector<std::string>& argv, const std::string& log,
                                int timeout_s, int* code) {
    auto c = start_logged(argv, log, true);
    if (!c.ok()) return c.error();
    std::string out = read_to_end(c->out());
    int rc = exit_code(c->wait_for(std::chrono::seconds(timeout_s)));
    if (rc == -1) {
        (void)c->signal(SIGKILL);
        (void)c->wait_for(std::chrono::seconds(5));
        return status::error(argv[0] + " did not finish in " + std::to_string(timeout_s) + " s");
    }
    *code = rc;
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

status daemon_process::start(const std::vector<std::string>& prefix,
                             const std::vector<std::string>& args, const std::string& socket_path,
                             const std::string& log_file, int timeout_s) {
    std::vector<std::string> argv = prefix;
    argv.push_back(bin_dir() + "/pubsubd");
    argv.insert(argv.end(), args.begin(), args.end());
    log_ = log_file;
    auto c = start_logged(argv, log_file, false);
    if (!c.ok()) return c.error();
    child_ = std::move(*c);
    auto until = steady::now() + std::chrono::seconds(timeout_s);
    while (steady::now() < until) {
        if (socket_accepts(socket_path)) return status();
        int rc = exit_code(child_.wait_for(std::chrono::milliseconds(0)));
        if (rc != -1) {
            return status::error("pubsubd exited with " + std::to_string(rc) + ":\n" +
                                 file_tail(log_file, 2000));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status::error("pubsubd socket not ready after " + std::to_string(timeout_s) + " s:\n" +
                         file_tail(log_file, 2000));
}

int daemon_process::stop(int timeout_s) {
    if (!child_.running()) return -1;
    (void)child_.signal(SIGTERM);
    int rc = exit_code(child_.wait_for(std::chrono::seconds(timeout_s)));
    if (rc == -1) {
        (void)child_.signal(SIGKILL);
        rc = exit_code(child_.wait_for(std::chrono::seconds(5)));
    }
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
