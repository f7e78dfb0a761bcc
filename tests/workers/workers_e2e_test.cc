// Persistent handlers end to end (SPEC 7.3): the real pubsubd, a real PostgreSQL, and workers
// that append "event_id attempt pid" to a witness file: a Python worker on
// pubsub_client.serve, and shell workers that crash, write junk or go mute on attempt 1.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "handlers/process_registry.h"
#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

const char* python_worker = R"(#!/usr/bin/env python3
import os, sys, time
import pubsub_client

WITNESS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "witness")

def handle(event, delivery):
    with open(WITNESS, "a") as f:
        f.write(f"{event['event_id']} {delivery['attempt']} {os.getpid()}\n")
    print("handling", event["event_id"])
    data = event["event_data"]
    if data.get("crash") and delivery["attempt"] == 1:
        os._exit(3)
    time.sleep(data.get("sleep", 0))
    if delivery["attempt"] == 1:
        time.sleep(data.get("sleep_first", 0))

pubsub_client.serve(handle, concurrency=2)
)";

// A shell worker: answers ok, except on attempt 1, where it does `$1` (junk / mute).
std::string shell_worker(const std::string& on_first) {
    return "#!/bin/sh\n"
           "W=\"$(dirname \"$0\")/witness\"\n"
           "echo '{\"hello\":\"ndjson-1\",\"concurrency\":1}'\n"
           "while read -r line; do\n"
           "  id=$(printf '%s' \"$line\" | sed 's/.*\"id\":\"\\([^\"]*\\)\".*/\\1/')\n"
           "  ev=$(printf '%s' \"$line\" | sed "
           "'s/.*\"delivery\":{[^}]*\"event_id\":\\([0-9]*\\).*/\\1/')\n"
           "  at=$(printf '%s' \"$line\" | sed 's/.*\"attempt\":\\([0-9]*\\).*/\\1/')\n"
           "  echo \"$ev $at $$\" >> \"$W\"\n"
           "  if [ \"$at\" = 1 ]; then " +
           on_first +
           "; continue; fi\n"
           "  echo \"{\\\"id\\\":\\\"$id\\\",\\\"ok\\\":true}\"\n"
           "done\n";
}

struct witness_line {
    std::string event, attempt, pid;
};

class workers_e2e : public e2e_test {
  protected:
    fs::path scripts() const { return tmp().path() / "scripts"; }
    void add_worker(const std::string& name, const std::string& body, int workers,
                    int timeout_s = 30) {
        fs::create_directories(scripts());
        const fs::path script = scripts() / name;
        std::ofstream(script) << body;
        ASSERT_EQ(::chmod(script.c_str(), 0755), 0);
        auto ins = conn().query(
            "INSERT INTO " + conn().quote_identifier(schema()) +
                ".tpubsub_subscribers (subscriber_name, event_type, job_type, script_path, "
                "run_mode, workers, timeout_s, max_retries) VALUES ($1, 'work', 'custom', $2, "
                "'persistent', $3::int, $4::int, 3)",
            {name, script.string(), std::to_string(workers), std::to_string(timeout_s)});
        ASSERT_TRUE(ins.ok()) << ins.message();
    }
    void start() {
        start_daemon({"--scripts-dir", scripts().string(), "--retry-base-ms", "50",
                      "--node-dead-after", "3"});  // a heartbeat (status) every second
    }
    // `pubsubctl status` once its output holds `want` (nodes report every heartbeat).
    std::string status_with(const std::string& want) {
        const fs::path out = tmp().path() / "status.out";
        std::string text;
        for (int i = 0; i < 40 && text.find(want) == std::string::npos; ++i) {
            if (i > 0) std::this_thread::sleep_for(100ms);
            fs::remove(out);
            (void)run_command(
                {bin_dir() + "/pubsubctl", "--dsn", dsn(), "--schema", schema(), "status"}, out,
                10s);
            text = file_tail(out, 100000);
        }
        return text;
    }
    std::vector<std::int64_t> emit(int n, const std::string& data = "{}") {
        auto client = ndjson_client::connect(socket_path());
        EXPECT_TRUE(client.ok()) << client.message();
        std::vector<std::int64_t> ids;
        if (!client.ok()) return ids;
        for (int i = 0; i < n; ++i) {
            EXPECT_TRUE(client->send_line(event_line("work", "t", data, 5, "durable")).ok());
        }
        for (int i = 0; i < n; ++i) {
            auto r = client->read_reply(10s);
            EXPECT_TRUE(r.ok() && r->ok);
            if (r.ok() && r->ok) ids.push_back(r->event_id);
        }
        return ids;
    }
    std::vector<witness_line> witness() const {
        std::vector<witness_line> out;
        std::ifstream in(scripts() / "witness");
        for (std::string l; std::getline(in, l);) {
            std::istringstream w(l);
            witness_line x;
            w >> x.event >> x.attempt >> x.pid;
            out.push_back(x);
        }
        return out;
    }
    void expect_completed(const std::vector<std::int64_t>& ids) {
        status done = wait_completed(dsn(), schema(), ids, 20s);
        EXPECT_TRUE(done.ok()) << done.message() << "\n" << daemon().log_tail();
    }
    void expect_replaced(const std::string& on_first, int timeout_s, const std::string& reason);
    // The Python worker behind a wrapper that sets PYTHONPATH (the environment is scrubbed).
    void add_python(int workers) {
        const char* src = std::getenv("PUBSUB_SOURCE_DIR");
        ASSERT_NE(src, nullptr);
        add_worker("py_worker.sh",
                   std::string("#!/bin/sh\nexec env PYTHONPATH='") + src +
                       "/clients/python' python3 \"$(dirname \"$0\")/py_worker.real\"\n",
                   workers);
        std::ofstream(scripts() / "py_worker.real") << python_worker;
    }
};

TEST_F(workers_e2e, PythonWorkersCompleteEveryEventOnceAndShareTheLoad) {
    add_python(2);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(40, R"({"sleep":0.01})");
    expect_completed(ids);
    auto lines = witness();
    std::set<std::string> events, pids;
    for (auto& l : lines) {
        events.insert(l.event);
        pids.insert(l.pid);
        EXPECT_EQ(l.attempt, "1");
    }
    EXPECT_EQ(lines.size(), 40u);
    EXPECT_EQ(events.size(), 40u);
    EXPECT_EQ(pids.size(), 2u) << "the two workers did not share the load";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

TEST_F(workers_e2e, ShellWorkersCompleteEveryEventOnce) {
    // on_first answers like every other attempt: a well-behaved shell worker.
    add_worker("ok.sh", shell_worker("echo \"{\\\"id\\\":\\\"$id\\\",\\\"ok\\\":true}\""), 2);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(60);
    expect_completed(ids);
    auto lines = witness();
    std::set<std::string> events, pids;
    for (auto& l : lines) events.insert(l.event), pids.insert(l.pid);
    EXPECT_EQ(lines.size(), 60u);
    EXPECT_EQ(events.size(), 60u);
    EXPECT_EQ(pids.size(), 2u) << "the two workers did not share the load";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

// A worker whose program exits at start every time: its deliveries fail (and are retried), the
// error shows in status with growing restarts, and the daemon serves other subscribers on.
TEST_F(workers_e2e, AWorkerThatExitsAtStartEveryTimeLeavesTheDaemonHealthy) {
    add_worker("dies.sh", "#!/bin/sh\necho 'no config file' >&2\nexit 2\n", 1, 1);
    ASSERT_FALSE(HasFatalFailure());
    add_noop_subscriber("other", "other");
    start();
    ASSERT_FALSE(HasFatalFailure());
    std::string status = status_with("no config file");
    EXPECT_NE(status.find("worker dies.sh #0: DOWN"), std::string::npos) << status;
    EXPECT_NE(status.find("exited (exit 2): no config file"), std::string::npos) << status;
    auto client = ndjson_client::connect(socket_path());
    ASSERT_TRUE(client.ok()) << client.message();
    std::vector<std::int64_t> ids;
    for (int i = 0; i < 20; ++i) {
        ASSERT_TRUE(client->send_line(event_line("other", "t", "{}", 5, "durable")).ok());
        auto r = client->read_reply(10s);
        ASSERT_TRUE(r.ok() && r->ok);
        ids.push_back(r->event_id);
    }
    expect_completed(ids);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

TEST_F(workers_e2e, AWorkerThatCrashesIsRestartedAndTheDeliveryRetried) {
    add_python(1);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(1, R"({"crash":true})");
    expect_completed(ids);
    auto lines = witness();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].attempt, "1");
    EXPECT_EQ(lines[1].attempt, "2");
    EXPECT_NE(lines[0].pid, lines[1].pid) << "the worker was not restarted";
    auto row = conn().query("SELECT retry_count FROM " + conn().quote_identifier(schema()) +
                                ".tpubsub_events WHERE event_id = $1::bigint",
                            {std::to_string(ids.at(0))});
    ASSERT_TRUE(row.ok() && row->rows() == 1);
    EXPECT_EQ(row->get(0, 0), "1");
    EXPECT_NE(daemon().log_tail(20000).find("exited (exit 3)"), std::string::npos);
    std::string status = status_with("1 restarts, 1 ok");
    EXPECT_NE(status.find("worker py_worker.sh #0: running, pid " + lines[1].pid +
                          ", 0 in flight, 1 restarts, 1 ok, 0 failed; last error: persistent "
                          "worker " +
                          lines[0].pid + " exited (exit 3): handling " + std::to_string(ids[0])),
              std::string::npos)
        << status;
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

// One event of ten crashes its worker: it runs again as attempt 2 on a new worker, and every
// other event completes exactly once (those in flight on the lost worker run again, attempt 2).
TEST_F(workers_e2e, ACrashAmongOthersLetsTheOthersFinish) {
    add_python(1);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(4, R"({"sleep":0.05})");
    auto crash = emit(1, R"({"crash":true})");
    auto more = emit(5, R"({"sleep":0.05})");
    ids.insert(ids.end(), more.begin(), more.end());
    ids.push_back(crash.at(0));
    expect_completed(ids);
    std::map<std::string, std::set<std::string>> attempts;
    std::set<std::string> pids;
    for (auto& l : witness()) attempts[l.event].insert(l.attempt), pids.insert(l.pid);
    EXPECT_EQ(attempts.size(), 10u);
    EXPECT_EQ(attempts[std::to_string(crash[0])], (std::set<std::string>{"1", "2"}));
    EXPECT_EQ(pids.size(), 2u) << "the worker was not replaced";
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

// One event; attempt 1 misbehaves (`on_first`), the worker is replaced and attempt 2, on the
// new process, completes; the log names the reason.
void workers_e2e::expect_replaced(const std::string& on_first, int timeout_s,
                                  const std::string& reason) {
    add_worker("bad.sh", shell_worker(on_first), 1, timeout_s);
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(1);
    expect_completed(ids);
    auto lines = witness();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[1].attempt, "2");
    EXPECT_NE(lines[0].pid, lines[1].pid);
    EXPECT_NE(daemon().log_tail(20000).find(reason), std::string::npos) << daemon().log_tail();
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

TEST_F(workers_e2e, AMalformedLineRestartsTheWorker) {
    expect_replaced("echo 'this is not json'", 30, "wrote a malformed line");
}

TEST_F(workers_e2e, AWorkerThatOverrunsTimeoutIsRestarted) {
    auto t0 = std::chrono::steady_clock::now();
    expect_replaced(":", 1, "overran timeout_s (1s)");
    EXPECT_GE(std::chrono::steady_clock::now() - t0, 1s);
}

TEST_F(workers_e2e, SigtermDrainsTheDeliveriesInFlight) {
    add_python(1);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(2, R"({"sleep":0.7})");
    for (int i = 0; i < 250 && witness().size() < 2; ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(witness().size(), 2u);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
    auto rows = read_events(dsn(), schema(), ids);
    ASSERT_TRUE(rows.ok()) << rows.message();
    for (auto id : ids) EXPECT_EQ((*rows)[id].status, "completed") << id;
}

TEST_F(workers_e2e, KillNineWithABusyWorkerLeavesNoWorkerBehindAndTheEventCompletes) {
    add_python(1);
    ASSERT_FALSE(HasFatalFailure());
    start();
    ASSERT_FALSE(HasFatalFailure());
    auto ids = emit(1, R"({"sleep_first":30})");
    for (int i = 0; i < 250 && witness().empty(); ++i) std::this_thread::sleep_for(20ms);
    ASSERT_EQ(witness().size(), 1u);
    const std::string worker = witness()[0].pid;
    // py_worker.sh execs python: the worker's pid leads its process group.
    const pid_t pgid = static_cast<pid_t>(std::stol(worker));
    ASSERT_TRUE(daemon().signal(SIGKILL).ok());
    ASSERT_EQ(daemon().wait(10s), std::optional<int>(128 + SIGKILL));
    ASSERT_TRUE(process_group_alive(pgid)) << "the worker did not outlive pubsubd";
    // The next start kills it; attempt 2 runs on a new worker and completes.
    start();
    ASSERT_FALSE(HasFatalFailure());
    EXPECT_FALSE(process_group_alive(pgid)) << "the old daemon's worker still runs";
    for (int i = 0; i < 250 && witness().size() < 2; ++i) std::this_thread::sleep_for(20ms);
    auto lines = witness();
    ASSERT_EQ(lines.size(), 2u) << daemon().log_tail();
    EXPECT_EQ(lines[1].attempt, "2");
    EXPECT_NE(lines[1].pid, worker);
    expect_completed(ids);
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
