// worker_set with real worker processes: a Python worker on pubsub_client.serve (the witness
// file gets "event_id attempt pid" per delivery) and small shell workers that misbehave.
#include "handlers/worker_set.h"

#include <gtest/gtest.h>

#include <fstream>
#include <future>
#include <set>
#include <sstream>

#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

using namespace std::chrono_literals;

const char* python_worker = R"(#!/usr/bin/env python3
import os, sys, time
import pubsub_client

def handle(event, delivery):
    data = event["event_data"]
    with open(sys.argv[1], "a") as f:
        f.write(f"{event['event_id']} {delivery['attempt']} {os.getpid()}\n")
    print("handled", event["event_id"])  # must not reach the protocol
    if data.get("crash"):
        os._exit(3)
    time.sleep(data.get("sleep", 0))
    if data.get("fail"):
        raise ValueError("asked to fail")

pubsub_client.serve(handle, concurrency=int(sys.argv[2]))
)";

class worker_set_test : public ::testing::Test {
  protected:
    worker_spec spec(std::vector<std::string> argv, int workers = 1) {
        worker_spec s;
        s.argv = std::move(argv);
        s.env = {"PATH=/usr/local/bin:/usr/bin:/bin",
                 std::string("PYTHONPATH=") + PUBSUB_PYTHON_CLIENT_DIR, "PUBSUB_PROTOCOL=ndjson-1"};
        s.subscriber = "s";
        s.workers = workers;
        s.timeout = 2s;
        s.backoff_min = 50ms;
        s.backoff_max = 400ms;
        return s;
    }
    worker_spec python(int workers, int concurrency) {
        return spec(
            {dir_.write("worker.py", python_worker), witness(), std::to_string(concurrency)},
            workers);
    }
    // One worker that says hello and never answers; timeout_s 1 s.
    worker_spec mute() {
        worker_spec s = spec({dir_.script("mute.sh", R"(echo '{"hello":"ndjson-1","concurrency":1}'
while read -r line; do :; done
)")});
        s.timeout = 1s;
        return s;
    }
    std::string witness() const { return dir_.path() + "/witness"; }
    std::vector<std::string> witness_lines() const {
        std::ifstream in(witness());
        std::vector<std::string> out;
        for (std::string l; std::getline(in, l);) out.push_back(l);
        return out;
    }
    static std::future<run_outcome> submit(worker_set& set, std::int64_t id,
                                           const std::string& data = "{}", int attempt = 1) {
        auto p = std::make_shared<std::promise<run_outcome>>();
        auto f = p->get_future();
        delivery_header h;
        h.event_id = id;
        h.subscriber = "s";
        h.attempt = attempt;
        std::string ev = "{\"event_id\":" + std::to_string(id) +
                         ",\"event_type\":\"t\",\"event_data\":" + data + "}";
        set.submit(h, ev, [p](run_outcome o) { p->set_value(std::move(o)); });
        return f;
    }
    static run_outcome get(std::future<run_outcome>& f) {
        if (f.wait_for(10s) != std::future_status::ready) return {false, "test: no outcome"};
        return f.get();
    }

    testing::temp_dir dir_;
};

TEST_F(worker_set_test, python_workers_share_many_deliveries) {
    worker_set set(python(2, 2));
    ASSERT_TRUE(set.start().ok());
    std::vector<std::future<run_outcome>> fs;
    for (int i = 1; i <= 60; ++i) fs.push_back(submit(set, i, R"({"sleep":0.005})"));
    for (auto& f : fs) {
        auto o = get(f);
        EXPECT_TRUE(o.ok) << o.error;
    }
    auto lines = witness_lines();
    EXPECT_EQ(lines.size(), 60u);
    std::set<std::string> ids, pids;
    for (auto& l : lines) {
        std::istringstream in(l);
        std::string id, attempt, pid;
        in >> id >> attempt >> pid;
        ids.insert(id);
        pids.insert(pid);
    }
    EXPECT_EQ(ids.size(), 60u);  // each exactly once
    EXPECT_EQ(pids.size(), 2u);  // both workers took some
    auto st = set.snapshot();
    ASSERT_EQ(st.size(), 2u);
    EXPECT_TRUE(st[0].running && st[1].running);
    EXPECT_EQ(st[0].restarts + st[1].restarts, 0u);
    set.stop(std::chrono::steady_clock::now() + 5s);
}

TEST_F(worker_set_test, a_failure_raised_by_the_handler_is_the_error) {
    worker_set set(python(1, 1));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1, R"({"fail":true})");
    auto o = get(f);
    EXPECT_FALSE(o.ok);
    EXPECT_EQ(o.error, "ValueError: asked to fail");
    auto g = submit(set, 2);
    EXPECT_TRUE(get(g).ok);
    EXPECT_EQ(set.snapshot()[0].restarts, 0u);
}

TEST_F(worker_set_test, a_worker_that_crashes_is_restarted_and_its_delivery_fails) {
    worker_set set(python(1, 1));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 7, R"({"crash":true})");
    auto o = get(f);
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.not_run);
    EXPECT_NE(o.error.find("exited (exit 3)"), std::string::npos) << o.error;
    auto g = submit(set, 7, "{}", 2);  // the retry, as the pool would send it
    auto o2 = get(g);
    EXPECT_TRUE(o2.ok) << o2.error;
    auto st = set.snapshot();
    EXPECT_EQ(st[0].restarts, 1u);
    EXPECT_NE(st[0].last_error.find("exited"), std::string::npos);
    auto lines = witness_lines();
    ASSERT_EQ(lines.size(), 2u);
    EXPECT_EQ(lines[0].substr(0, 4), "7 1 ");
    EXPECT_EQ(lines[1].substr(0, 4), "7 2 ");
    EXPECT_NE(lines[0].substr(4), lines[1].substr(4));  // another process
}

TEST_F(worker_set_test, a_malformed_line_restarts_the_worker) {
    // Says hello, then answers every delivery with junk.
    worker_set set(spec({dir_.script("junk.sh", R"(echo '{"hello":"ndjson-1","concurrency":1}'
while read -r line; do echo "not json"; done
)")}));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1);
    auto o = get(f);
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("wrote a malformed line"), std::string::npos) << o.error;
    auto g = submit(set, 2);
    EXPECT_FALSE(get(g).ok);
    EXPECT_GE(set.snapshot()[0].restarts, 1u);
}

TEST_F(worker_set_test, a_worker_that_never_answers_is_killed_at_the_timeout) {
    worker_spec s = mute();
    worker_set set(s);
    ASSERT_TRUE(set.start().ok());
    auto t0 = std::chrono::steady_clock::now();
    auto f = submit(set, 5);
    auto o = get(f);
    auto took = std::chrono::steady_clock::now() - t0;
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("overran timeout_s (1s) on event 5"), std::string::npos) << o.error;
    EXPECT_GE(took, 1s);
    EXPECT_LT(took, 3s);
    // It comes back after the backoff.
    for (int i = 0; i < 100 && !set.snapshot()[0].running; ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(set.snapshot()[0].running);
    EXPECT_EQ(set.snapshot()[0].restarts, 1u);
}

TEST_F(worker_set_test, a_worker_that_dies_at_start_backs_off_and_the_error_shows) {
    worker_spec s = spec({dir_.script("dies.sh", "echo 'no config' >&2; exit 2\n")});
    s.timeout = 1s;
    worker_set set(s);
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1);
    auto o = get(f);
    EXPECT_FALSE(o.ok);
    EXPECT_NE(o.error.find("took the delivery within 1s"), std::string::npos) << o.error;
    EXPECT_NE(o.error.find("exited (exit 2): no config"), std::string::npos) << o.error;
    auto st = set.snapshot()[0];
    EXPECT_FALSE(st.running);
    // 50, 100, 200, 400, 400 ms...: a handful of starts in a second, not hundreds.
    EXPECT_GE(st.restarts, 2u);
    EXPECT_LE(st.restarts, 8u);
}

TEST_F(worker_set_test, stop_drains_then_closes_stdin) {
    worker_set set(python(1, 1));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1, R"({"sleep":0.5})");
    std::this_thread::sleep_for(200ms);  // in flight
    set.stop(std::chrono::steady_clock::now() + 5s);
    ASSERT_EQ(f.wait_for(0s), std::future_status::ready);
    auto o = f.get();
    EXPECT_TRUE(o.ok) << o.error;
    EXPECT_EQ(set.snapshot()[0].pid, 0);
    EXPECT_EQ(set.snapshot()[0].restarts, 0u);
}

TEST_F(worker_set_test, stop_kills_at_the_deadline_and_leaves_the_delivery_open) {
    worker_set set(python(1, 1));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1, R"({"sleep":30})");
    std::this_thread::sleep_for(300ms);
    auto t0 = std::chrono::steady_clock::now();
    set.stop(t0 + 300ms);
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
    auto o = get(f);
    EXPECT_TRUE(o.not_run);
}

TEST_F(worker_set_test, a_replaced_set_fails_new_deliveries_so_they_are_retried) {
    worker_set set(python(1, 1));
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1);
    EXPECT_TRUE(get(f).ok);
    set.close(std::chrono::steady_clock::now() + 5s, false);  // the subscriber changed
    auto g = submit(set, 2);
    auto o = get(g);
    EXPECT_FALSE(o.ok);
    EXPECT_FALSE(o.not_run);
    EXPECT_NE(o.error.find("workers were replaced"), std::string::npos) << o.error;
    for (int i = 0; i < 250 && !set.finished(); ++i) std::this_thread::sleep_for(20ms);
    EXPECT_TRUE(set.finished()) << "the worker did not exit after its stdin closed";
}

// An answer for a delivery no longer in flight (here: the same id twice) is logged and ignored;
// the worker is not restarted and goes on serving.
TEST_F(worker_set_test, a_late_answer_is_ignored_and_logged) {
    worker_spec s = spec({dir_.script("twice.sh", R"SH(echo '{"hello":"ndjson-1","concurrency":1}'
while read -r line; do
  id=$(printf '%s' "$line" | sed 's/.*"id":"\([^"]*\)".*/\1/')
  echo "{\"id\":\"$id\",\"ok\":true}"
  echo "{\"id\":\"$id\",\"ok\":true}"
done
)SH")});
    worker_set set(s);
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(set.start().ok());
    auto f = submit(set, 1);
    EXPECT_TRUE(get(f).ok);
    auto g = submit(set, 2);
    EXPECT_TRUE(get(g).ok);
    set.stop(std::chrono::steady_clock::now() + 5s);
    std::string log = ::testing::internal::GetCapturedStderr();
    EXPECT_NE(log.find("answered a delivery no longer in flight"), std::string::npos) << log;
    EXPECT_EQ(set.snapshot()[0].restarts, 0u);
}

// A full set never blocks the submitting (pool) thread: the deliveries wait in the set's queue
// and fail after timeout_s with the reason.
TEST_F(worker_set_test, submit_never_waits_for_room) {
    worker_spec s = mute();
    worker_set set(s);
    ASSERT_TRUE(set.start().ok());
    for (int i = 0; i < 250 && !set.snapshot()[0].running; ++i) std::this_thread::sleep_for(20ms);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::future<run_outcome>> fs;
    for (int i = 1; i <= 3; ++i) fs.push_back(submit(set, i));
    EXPECT_LT(std::chrono::steady_clock::now() - t0, 500ms) << "submit waited for room";
    auto first = get(fs[0]);
    EXPECT_NE(first.error.find("overran timeout_s"), std::string::npos) << first.error;
    for (int i = 1; i < 3; ++i) {
        auto o = get(fs[static_cast<std::size_t>(i)]);
        EXPECT_FALSE(o.ok);
        EXPECT_FALSE(o.not_run);
    }
    set.stop(std::chrono::steady_clock::now());
}

TEST_F(worker_set_test, a_chatty_worker_cannot_flood_the_log) {
    worker_spec s = spec({dir_.script(
        "chatty.sh", R"(i=0; while [ $i -lt 1000 ]; do echo "line $i" >&2; i=$((i+1)); done
echo '{"hello":"ndjson-1","concurrency":1}'
while read -r line; do :; done
)")});
    s.max_stderr_lines_per_s = 5;
    worker_set set(s);
    ::testing::internal::CaptureStderr();
    ASSERT_TRUE(set.start().ok());
    for (int i = 0; i < 250 && !set.snapshot()[0].running; ++i) std::this_thread::sleep_for(20ms);
    set.stop(std::chrono::steady_clock::now());
    std::string log = ::testing::internal::GetCapturedStderr();
    std::size_t lines = 0;
    for (std::size_t p = 0; (p = log.find("persistent worker stderr", p)) != std::string::npos;
         ++p) {
        ++lines;
    }
    EXPECT_GE(lines, 1u);
    EXPECT_LE(lines, 10u) << log;  // 5 a second, over at most a second or two
}

}  // namespace
}  // namespace pubsub
