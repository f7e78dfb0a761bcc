// fault_support: see fault_support.h.
#include "tests/e2e/fault_support.h"

#include <signal.h>
#include <unistd.h>

#include <fstream>

#include "storage/migrations.h"

namespace pubsub::e2e {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

std::string line_with_ack(std::size_t i, bool durable) {
    return event_line("e2e_event", "e2e:" + std::to_string(i), "{\"i\":" + std::to_string(i) + "}",
                      1 + static_cast<int>(i % 10), durable ? "durable" : "queued");
}

load_options durable_load(const std::string& socket_path, std::size_t count) {
    load_options lo;
    lo.socket_path = socket_path;
    lo.count = count;
    lo.window = 64;
    lo.reply_timeout = 60s;
    lo.line = [](std::size_t i) { return line_with_ack(i, true); };
    return lo;
}

background_load::background_load(load_options o) : opts(std::move(o)) {
    opts.stop = &stop;
    opts.answered = &answered;
    opts.acked = &acked;
    thread = std::thread([this] { out = run_load(opts); });
}

namespace {

bool wait_count(const std::atomic<std::size_t>& c, std::size_t n, std::chrono::seconds timeout) {
    auto until = std::chrono::steady_clock::now() + timeout;
    while (c.load(std::memory_order_acquire) < n) {
        if (std::chrono::steady_clock::now() >= until) return false;
        std::this_thread::sleep_for(1ms);
    }
    return true;
}

std::string find_pg_ctl() {
    std::error_code ec;
    for (const char* dir : {"/usr/local/bin", "/usr/bin"}) {
        if (fs::exists(fs::path(dir) / "pg_ctl", ec)) return std::string(dir) + "/pg_ctl";
    }
    std::string best;
    for (const auto& e : fs::directory_iterator("/usr/lib/postgresql", ec)) {
        auto p = e.path() / "bin" / "pg_ctl";
        if (fs::exists(p, ec) && p.string() > best) best = p.string();
    }
    return best.empty() ? "pg_ctl" : best;
}

}  // namespace

bool background_load::wait_answered(std::size_t n, std::chrono::seconds timeout) {
    return wait_count(answered, n, timeout);
}

bool background_load::wait_acked(std::size_t n, std::chrono::seconds timeout) {
    return wait_count(acked, n, timeout);
}

void background_load::finish() {
    stop.store(true, std::memory_order_release);
    if (thread.joinable()) thread.join();
}

private_cluster::private_cluster() {
    embedded_options eo;
    eo.data_dir = tmp_.path() / "data";
    cluster_ = std::make_unique<embedded_cluster>(eo);
}

private_cluster& private_cluster::shared() {
    static private_cluster cluster;
    return cluster;
}

status private_cluster::prepare(const std::string& schema) {
    // dsn() is empty until the first start.
    auto c = cluster_->dsn().empty() ? result<pg::connection>(status::error("not started"))
                                     : pg::connection::open(cluster_->dsn());
    if (!c.ok()) {
        if (status s = start(); !s.ok()) return s;
        c = pg::connection::open(cluster_->dsn());
        if (!c.ok()) return c.error();
    }
    auto applied = apply_migrations(*c, schema);
    if (!applied.ok()) return applied.error();
    auto ins = c->query("INSERT INTO " + c->quote_identifier(schema) +
                        ".tpubsub_subscribers (subscriber_name, event_type, job_type) "
                        "VALUES ('e2e_noop', 'e2e_event', 'noop')");
    if (!ins.ok()) return ins.error();
    return status();
}

private_cluster::~private_cluster() { (void)cluster_->stop(); }

// pg_ctl on this cluster's data folder, as postgres when we are root.
status private_cluster::pg_ctl(const std::vector<std::string>& args, const fs::path& log) {
    std::vector<std::string> argv;
    if (geteuid() == 0) argv = {"runuser", "-u", "postgres", "--"};
    argv.push_back(find_pg_ctl());
    argv.insert(argv.end(), args.begin(), args.end());
    argv.insert(argv.end(), {"-D", (cluster_->cluster_dir() / "data").string()});
    auto code = run_command(argv, log, 90s);
    if (!code.ok()) return code.error();
    if (*code != 0) {
        return status::error("pg_ctl " + args.front() + " exited " + std::to_string(*code) + ": " +
                             file_tail(log, 2000));
    }
    return status();
}

status private_cluster::restart_fast(const fs::path& log) {
    return pg_ctl({"restart", "-m", "fast", "-w", "-t", "60", "-l", cluster_->log_file().string()},
                  log);
}

status private_cluster::stop_immediate(const fs::path& log) {
    return pg_ctl({"stop", "-m", "immediate", "-w", "-t", "60"}, log);
}

status private_cluster::stop_fast(const fs::path& log) {
    return pg_ctl({"stop", "-m", "fast", "-w", "-t", "60"}, log);
}

status private_cluster::kill_postmaster() {
    std::ifstream f(cluster_->cluster_dir() / "data" / "postmaster.pid");
    pid_t pid = 0;
    if (!(f >> pid) || pid <= 1) return status::error("no postmaster.pid to read");
    if (::kill(pid, SIGKILL) != 0) return status::error("kill -9 of the postmaster failed");
    auto alive = [pid] {  // a zombie (not reaped yet by whoever adopted it) counts as gone
        std::ifstream st("/proc/" + std::to_string(pid) + "/stat");
        std::string text((std::istreambuf_iterator<char>(st)), std::istreambuf_iterator<char>());
        auto close = text.rfind(')');
        return close != std::string::npos && close + 2 < text.size() && text[close + 2] != 'Z';
    };
    for (int i = 0; i < 500 && alive(); ++i) std::this_thread::sleep_for(10ms);
    return status();
}

status private_cluster::start() {
    status s;
    // After a kill -9 of the postmaster its backends notice and exit within moments; until
    // then the new server refuses to start on the old shared memory.
    for (int i = 0; i < 20; ++i) {
        if ((s = cluster_->start()).ok()) return s;
        std::this_thread::sleep_for(250ms);
    }
    return s;
}

}  // namespace pubsub::e2e
