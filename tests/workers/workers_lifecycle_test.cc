// Persistent workers follow the subscribers (SPEC 7.3), end to end with the real pubsubd and
// PostgreSQL: they start with the daemon and when a subscriber appears, before any event; a
// removed, disabled, switched or shrunk subscriber's workers exit. The witness is each worker's
// own pid file plus /proc, never the daemon's counters. And a set whose worker never answers
// holds no pool thread: process-mode deliveries of the same job type still run.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <set>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// Appends its pid to pids.<name> at start, then answers every delivery ok ("mute": never).
std::string pid_worker(bool mute) {
    return std::string("#!/bin/sh\n"
                       "echo $$ >> \"$(dirname \"$0\")/pids.$(basename \"$0\")\"\n"
                       "echo '{\"hello\":\"ndjson-1\",\"concurrency\":1}'\n"
                       "while read -r line; do\n") +
           (mute ? "  :\n"
                 : "  id=$(printf '%s' \"$line\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')\n"
                   "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"ok\\\":true}\"\n") +
           "done\n";
}

bool alive(pid_t pid) { return fs::exists("/proc/" + std::to_string(pid)); }

class workers_lifecycle : public e2e_test {
  protected:
    fs::path scripts() const { return tmp().path() / "scripts"; }
    std::string table() { return conn().quote_identifier(schema()) + ".tpubsub_subscribers"; }
    void write_script(const std::string& name, const std::string& body) {
        fs::create_directories(scripts());
        const fs::path script = scripts() / name;
        std::ofstream(script) << body;
        ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
    }
    void add(const std::string& name, const std::string& event_type, const std::string& mode,
             int workers, int timeout_s = 30) {
        auto ins = conn().query(
            "INSERT INTO " + table() +
                " (subscriber_name, event_type, job_type, script_path, run_mode, workers, "
                "timeout_s, max_retries) VALUES ($1, $2, 'custom', $3, $4, $5::int, $6::int, 0)",
            {name, event_type, (scripts() / name).string(), mode, std::to_string(workers),
             std::to_string(timeout_s)});
        ASSERT_TRUE(ins.ok()) << ins.message();
    }
    void sql(const std::string& q) {
        auto r = conn().query(q, {});
        ASSERT_TRUE(r.ok()) << r.message();
    }
    void start(const std::vector<std::string>& more = {}) {
        std::vector<std::string> args{"--scripts-dir", scripts().string()};
        args.insert(args.end(), more.begin(), more.end());
        start_daemon(args);
    }
    // The pids the workers of `name` wrote, in start order.
    std::vector<pid_t> pids(const std::string& name) const {
        std::vector<pid_t> out;
        std::ifstream in(scripts() / ("pids." + name));
        for (long p; in >> p;) out.push_back(static_cast<pid_t>(p));
        return out;
    }
    // Waits until `name` has written at least n pids.
    std::vector<pid_t> wait_pids(const std::string& name, std::size_t n, std::chrono::seconds t) {
        auto until = std::chrono::steady_clock::now() + t;
        while (pids(name).size() < n && std::chrono::steady_clock::now() < until) {
            std::this_thread::sleep_for(20ms);
        }
        return pids(name);
    }
    static bool wait_gone(const std::vector<pid_t>& ps, std::chrono::seconds t) {
        auto until = std::chrono::steady_clock::now() + t;
        for (;;) {
            bool any = false;
            for (auto p : ps) any = any || alive(p);
            if (!any) return true;
            if (std::chrono::steady_clock::now() >= until) return false;
            std::this_thread::sleep_for(20ms);
        }
    }
    std::vector<std::int64_t> emit(const std::string& type, int n) {
        auto client = ndjson_client::connect(socket_path());
        EXPECT_TRUE(client.ok()) << client.message();
        std::vector<std::int64_t> ids;
        if (!client.ok()) return ids;
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(client->send_line(event_line(type, "t", "{}", 5, "durable")).ok());
        }
        for (int i = 0; i < n; ++i) {
            auto r = client->read_reply(10s);
            EXPECT_TRUE(r.ok() && r->ok);
            if (r.ok() && r->ok) ids.push_back(r->event_id);
        }
        return ids;
    }
};

TEST_F(workers_lifecycle, WorkersStartWithTheDaemonAndWhenASubscriberAppears) {
    write_script("early.sh", pid_worker(false));
    write_script("late.sh", pid_worker(false));
    add("early.sh", "work", "persistent", 2);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    // No event was sent: both workers run anyway.
    auto early = wait_pids("early.sh", 2, 10s);
    ASSERT_EQ(early.size(), 2u) << daemon().log_tail();
    EXPECT_TRUE(alive(early[0]) && alive(early[1]));
    add("late.sh", "other", "persistent", 1);  // the NOTIFY reloads the subscribers
    ASSERT_FALSE(HasFatalFailure());
    auto late = wait_pids("late.sh", 1, 10s);
    ASSERT_EQ(late.size(), 1u) << daemon().log_tail();
    EXPECT_TRUE(alive(late[0]));
    EXPECT_EQ(pids("early.sh").size(), 2u) << "an unrelated reload restarted the workers";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
    EXPECT_TRUE(wait_gone({early[0], early[1], late[0]}, 5s));
}

TEST_F(workers_lifecycle, RemovedDisabledSwitchedOrShrunkSubscribersLoseTheirWorkers) {
    for (auto n : {"removed.sh", "disabled.sh", "switched.sh", "shrunk.sh"}) {
        write_script(n, pid_worker(false));
        add(n, "work", "persistent", 2);
        ASSERT_FALSE(HasFatalFailure());
    }
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto first = emit("work", 1);  // one delivery on each: the workers are in use
    status ran = wait_completed(dsn(), schema(), first, 20s);
    ASSERT_TRUE(ran.ok()) << ran.message() << "\n" << daemon().log_tail();
    std::map<std::string, std::vector<pid_t>> before;
    for (auto n : {"removed.sh", "disabled.sh", "switched.sh", "shrunk.sh"}) {
        before[n] = wait_pids(n, 2, 10s);
        ASSERT_EQ(before[n].size(), 2u) << n << "\n" << daemon().log_tail();
    }
    sql("DELETE FROM " + table() + " WHERE subscriber_name = 'removed.sh'");
    sql("UPDATE " + table() + " SET is_active = false WHERE subscriber_name = 'disabled.sh'");
    sql("UPDATE " + table() + " SET run_mode = 'process' WHERE subscriber_name = 'switched.sh'");
    sql("UPDATE " + table() + " SET workers = 1 WHERE subscriber_name = 'shrunk.sh'");
    ASSERT_FALSE(HasFatalFailure());
    for (auto n : {"removed.sh", "disabled.sh", "switched.sh", "shrunk.sh"}) {
        EXPECT_TRUE(wait_gone(before[n], 10s)) << n << " still runs\n" << daemon().log_tail();
    }
    // The shrunk subscriber runs on one new worker; the others on none.
    auto shrunk = wait_pids("shrunk.sh", 3, 10s);
    ASSERT_EQ(shrunk.size(), 3u);
    EXPECT_TRUE(alive(shrunk[2]));
    EXPECT_EQ(pids("removed.sh").size(), 2u);
    EXPECT_EQ(pids("disabled.sh").size(), 2u);
    EXPECT_EQ(pids("switched.sh").size(), 2u);
    // The switched subscriber's events now run one process each (its worker script answers
    // nothing useful on stdin as a process, but exits 0 once stdin ends).
    auto ids = emit("work", 2);
    status done = wait_completed(dsn(), schema(), ids, 20s);
    EXPECT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
    EXPECT_TRUE(wait_gone({shrunk[2]}, 5s));
}

// One pool thread for `custom`; a persistent subscriber whose single worker takes one
// delivery and never answers, with three more of its events waiting behind it for 30 s; the
// process-mode subscriber's events still complete at once.
TEST_F(workers_lifecycle, AStuckWorkerSetHoldsNoPoolThread) {
    write_script("mute.sh", pid_worker(true));
    write_script("quick.sh", "#!/bin/sh\ncat > /dev/null\n");
    add("mute.sh", "stuck", "persistent", 1, 30);
    add("quick.sh", "fast", "process", 1);
    ASSERT_FALSE(HasFatalFailure());
    start({"--concurrency", "custom=1", "--drain-timeout", "1"});
    ASSERT_FALSE(HasFatalFailure());
    auto stuck = emit("stuck", 4);
    ASSERT_EQ(wait_pids("mute.sh", 1, 10s).size(), 1u);
    std::this_thread::sleep_for(200ms);  // they reach the pool first
    const auto t0 = std::chrono::steady_clock::now();
    auto fast = emit("fast", 3);
    status done = wait_completed(dsn(), schema(), fast, 20s);
    EXPECT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 15s)
        << "the process-mode deliveries waited behind the stuck worker set";
    auto rows = read_events(dsn(), schema(), stuck);
    ASSERT_TRUE(rows.ok());
    for (auto id : stuck) EXPECT_NE((*rows)[id].status, "completed");
    EXPECT_EQ(stop_daemon(5s), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
