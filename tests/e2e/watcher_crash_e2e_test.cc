// The file watcher across kill -9 (SPEC 3.2): files keep landing while pubsubd is killed again
// and again, and after the last restart every file has exactly one file_received row. A crash
// between an event's commit and the watcher's record of it must not emit the file twice, and a
// file that landed while pubsubd was down must not be lost. The witness is the events table,
// read over the test's own connection.
#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <fstream>
#include <random>
#include <thread>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

using watcher_crash_e2e = e2e_test;

// Renames prepared files into `in` one by one until stopped; `landed` counts them.
struct file_rain {
    file_rain(fs::path staging, fs::path in, std::atomic<int>& next)
        : staging_(std::move(staging)), in_(std::move(in)), next_(next) {
        thread_ = std::thread([this] {
            while (!stop_.load(std::memory_order_acquire)) {
                land_one();
                std::this_thread::sleep_for(300us);
            }
        });
    }
    ~file_rain() {
        stop_.store(true, std::memory_order_release);
        thread_.join();
    }
    void land_one() {
        const std::string name = "f" + std::to_string(next_.fetch_add(1)) + ".txt";
        std::ofstream(staging_ / name) << name << '\n';
        fs::rename(staging_ / name, in_ / name);
    }

    fs::path staging_, in_;
    std::atomic<int>& next_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

TEST_F(watcher_crash_e2e, KillNineWhileFilesLandEmitsEachFileExactlyOnce) {
    const fs::path in = tmp().path() / "in";
    const fs::path staging = tmp().path() / "staging";
    fs::create_directories(in);
    fs::create_directories(staging);
    const std::vector<std::string> args = {"--watch", in.string()};
    std::atomic<int> files{0};
    std::mt19937 rng(13);
    constexpr int rounds = 8;
    for (int round = 0; round < rounds; ++round) {
        start_daemon(args);
        ASSERT_FALSE(HasFatalFailure());
        {
            file_rain rain(staging, in, files);
            std::this_thread::sleep_for(std::chrono::milliseconds(150 + rng() % 450));
            ASSERT_TRUE(daemon().signal(SIGKILL).ok());
            ASSERT_EQ(daemon().wait(10s), std::optional<int>(128 + SIGKILL));
        }
        file_rain(staging, in, files).land_one();  // one more while pubsubd is down
    }
    start_daemon(args);
    ASSERT_FALSE(HasFatalFailure());
    const int total = files.load();

    const std::string table = conn().quote_identifier(schema()) + ".tpubsub_events";
    auto count_paths = [&](std::int64_t& distinct, std::int64_t& rows) {
        auto r = conn().query("SELECT count(DISTINCT event_data->>'path'), count(*) FROM " + table +
                              " WHERE event_type = 'file_received'");
        ASSERT_TRUE(r.ok()) << r.message();
        distinct = r->get_int(0, 0);
        rows = r->get_int(0, 1);
    };
    std::int64_t distinct = 0, rows = 0;
    for (auto until = std::chrono::steady_clock::now() + 60s;
         std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
        count_paths(distinct, rows);
        if (distinct >= total) break;
    }
    std::this_thread::sleep_for(1500ms);  // a late duplicate (a settled rescan) shows up here
    count_paths(distinct, rows);
    std::printf("[ watcher e2e ] %d kill -9 rounds, %d files: %lld rows for %lld paths\n", rounds,
                total, static_cast<long long>(rows), static_cast<long long>(distinct));
    EXPECT_EQ(distinct, total) << "files lost across kill -9\n" << daemon().log_tail();
    auto dup = conn().query("SELECT event_data->>'path', count(*) FROM " + table +
                            " WHERE event_type = 'file_received' GROUP BY 1 HAVING count(*) > 1"
                            " ORDER BY 1 LIMIT 5");
    ASSERT_TRUE(dup.ok()) << dup.message();
    std::string some;
    for (int i = 0; i < dup->rows(); ++i) {
        some += " " + std::string(dup->get(i, 0)) + " x" + std::string(dup->get(i, 1));
    }
    EXPECT_EQ(rows, total) << "files emitted twice across kill -9:" << some;
    EXPECT_EQ(stop_daemon(), std::optional<int>(0));
}

}  // namespace
}  // namespace pubsub::e2e
