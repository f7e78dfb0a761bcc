// File watcher: complete files only, exactly once, recursive, ignore patterns; the binding to
// the real intake; and (informational, printed) burst throughput and close-to-submit latency.
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>
#include <filesystem>
#include <set>
#include <thread>

#include "router/intake.h"
#include "router/router.h"
#include "tests/router/memory_log.h"
#include "tests/watcher/watch_fixture.h"

namespace pubsub::test {
namespace {

namespace fs = std::filesystem;

std::multiset<std::string> paths(const std::vector<submitted>& v) {
    std::multiset<std::string> out;
    for (const auto& s : v) out.insert(s.path);
    return out;
}

TEST_F(watcher_test, eight_concurrent_writers_1000_files_give_exactly_1000_events) {
    auto w = start_watcher();
    std::set<std::string> written;
    std::mutex mu;
    std::vector<std::thread> writers;
    for (int t = 0; t < 8; ++t) {
        writers.emplace_back([&, t] {
            const std::string sub = dir_->path() + "/w" + std::to_string(t % 4);
            fs::create_directories(sub);
            for (int i = 0; i < 125; ++i) {
                const std::string p =
                    sub + "/f" + std::to_string(t) + "_" + std::to_string(i) + ".csv";
                write_file(p, "row " + std::to_string(i) + "\n");
                std::lock_guard lock(mu);
                written.insert(p);
            }
        });
    }
    for (auto& th : writers) th.join();
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1000; }))
        << intake_.accepted_count();
    quiet();
    auto got = paths(intake_.accepted());
    EXPECT_EQ(got.size(), 1000u);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), written);
    ASSERT_TRUE(wait_until([&] { return state_rows() == 1000; })) << state_rows();
    EXPECT_EQ(w->counters().files_emitted, 1000u);
}

TEST_F(watcher_test, temp_file_renamed_into_place_gives_one_event_for_the_final_name) {
    auto w = start_watcher();
    const std::string tmp = dir_->path() + "/report.csv.tmp";
    const std::string fin = dir_->path() + "/report.csv";
    write_file(tmp, "a,b\n1,2\n");
    ASSERT_EQ(::rename(tmp.c_str(), fin.c_str()), 0);
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1; }));
    quiet();
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].path, fin);
    EXPECT_EQ(got[0].draft.type, "file_received");
    EXPECT_EQ(got[0].draft.source, "file_watcher:" + dir_->path());
    EXPECT_NE(got[0].draft.data_json.find("\"size\":8"), std::string::npos)
        << got[0].draft.data_json;
}

TEST_F(watcher_test, slow_writer_gives_one_event_after_close) {
    auto w = start_watcher();
    const std::string p = dir_->path() + "/slow.csv";
    const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ASSERT_GE(fd, 0);
    for (int i = 0; i < 4; ++i) {
        ASSERT_EQ(::write(fd, "0123456789", 10), 10);
        quiet(std::chrono::milliseconds(150));  // longer than settle_time
    }
    EXPECT_EQ(intake_.accepted_count(), 0u) << "an event before the writer closed the file";
    ASSERT_EQ(::close(fd), 0);
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1; }));
    quiet();
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_NE(got[0].draft.data_json.find("\"size\":40"), std::string::npos)
        << got[0].draft.data_json;
}

TEST_F(watcher_test, file_written_right_after_mkdir_p_is_not_missed) {
    auto w = start_watcher();
    std::set<std::string> written;
    for (int i = 0; i < 30; ++i) {
        const std::string d = dir_->path() + "/n" + std::to_string(i) + "/b/c/d";
        fs::create_directories(d);
        write_file(d + "/f.csv", "x");
        written.insert(d + "/f.csv");
    }
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 30; }))
        << intake_.accepted_count();
    quiet();
    auto got = paths(intake_.accepted());
    EXPECT_EQ(got.size(), 30u);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), written);
}

TEST_F(watcher_test, ignore_patterns_are_respected) {
    auto opts = options();
    opts.ignore = default_ignore_patterns();
    opts.ignore.push_back("*.lock");
    opts.ignore.push_back("archive/*");
    auto w = start_watcher(opts);
    const std::string& d = dir_->path();
    fs::create_directories(d + "/.staging");
    fs::create_directories(d + "/archive");
    for (const char* n : {"/.hidden", "/x.tmp", "/y.part", "/.z.swp", "/q.lock", "/.staging/f.csv",
                          "/archive/old.csv"}) {
        write_file(d + n, "ignored");
    }
    write_file(d + "/kept.csv", "kept");
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1; }));
    quiet();
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(got[0].path, d + "/kept.csv");
}

TEST_F(watcher_test, state_is_recorded_only_after_the_real_intake_acks_durably) {
    memory_log log;
    struct null_sink final : delivery_sink {
        void submit(delivery) override {}
    } sink;
    struct counting_ids final : id_source {
        result<event_id> next_id() override { return ++n; }
        std::atomic<event_id> n{0};
    } ids;
    router rt{{}, log, sink};  // not started: the event waits in its queue
    intake in{ids, log, rt};
    event_submitter bind = [&in](event_draft d, ack_callback done) {
        in.submit(std::move(d), ack_mode::durable, std::move(done));
    };
    file_watcher w(options(), bind, *store_);
    ASSERT_TRUE(w.start().ok());
    write_file(dir_->path() + "/a.csv", "1");
    ASSERT_TRUE(wait_until([&] { return log.held_acks() == 1; }));
    quiet(std::chrono::milliseconds(200));
    EXPECT_EQ(state_rows(), 0) << "recorded before the durable ack";
    EXPECT_EQ(w.counters().in_flight, 1u);
    log.fire_acks(status());
    ASSERT_TRUE(wait_until([&] { return state_rows() == 1; }));
    auto c = w.counters();
    EXPECT_EQ(c.files_emitted, 1u);
    EXPECT_EQ(c.in_flight, 0u);
    auto all = log.all();
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].ev->type, "file_received");
    w.close();
}

// Informational: a burst of 10,000 small files. They are written first into a staging
// directory beside the watched one (creating files is slow on a busy machine and would measure
// the writers), then 4 threads rename them into place as fast as they can (IN_MOVED_TO).
// Prints events/s from the first rename to the last submit, and the rename-to-submit latency
// under that backlog; asserts only the count.
TEST_F(watcher_test, burst_of_10000_files_throughput_and_latency) {
    constexpr int writers = 4, per = 2500;
    temp_dir staging;
    for (int t = 0; t < writers; ++t) {
        for (int i = 0; i < per; ++i) {
            write_file(
                staging.path() + "/b" + std::to_string(t) + "_" + std::to_string(i) + ".json",
                "{\"n\":1}\n");
        }
    }
    auto w = start_watcher();
    std::vector<std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>>> closed(
        writers);
    const auto t0 = std::chrono::steady_clock::now();
    std::vector<std::thread> ts;
    for (int t = 0; t < writers; ++t) {
        ts.emplace_back([&, t] {
            for (int i = 0; i < per; ++i) {
                const std::string name =
                    "/b" + std::to_string(t) + "_" + std::to_string(i) + ".json";
                const std::string p = dir_->path() + name;
                if (::rename((staging.path() + name).c_str(), p.c_str()) != 0) std::abort();
                closed[t].emplace_back(p, std::chrono::steady_clock::now());
            }
        });
    }
    for (auto& th : ts) th.join();
    const double write_secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= writers * per; }))
        << intake_.accepted_count() << " overflows=" << w->counters().overflows;
    auto got = intake_.accepted();
    const auto last =
        std::max_element(got.begin(), got.end(), [](auto& a, auto& b) { return a.at < b.at; })->at;
    std::map<std::string, std::chrono::steady_clock::time_point> at;
    for (const auto& s : got) at.emplace(s.path, s.at);
    std::vector<double> lat_us;
    for (const auto& v : closed) {
        for (const auto& [p, t] : v) {
            if (auto it = at.find(p); it != at.end()) {
                lat_us.push_back(std::chrono::duration<double, std::micro>(it->second - t).count());
            }
        }
    }
    std::sort(lat_us.begin(), lat_us.end());
    const double secs = std::chrono::duration<double>(last - t0).count();
    std::printf(
        "[ watcher  ] burst: %zu files in %.3f s = %.0f events/s (renames done after "
        "%.3f s); rename->submit under that backlog p50 %.0f us, p99 %.0f us\n",
        got.size(), secs, got.size() / secs, write_secs, lat_us[lat_us.size() / 2],
        lat_us[lat_us.size() * 99 / 100]);
    quiet();
    EXPECT_EQ(intake_.accepted_count(), static_cast<std::size_t>(writers * per));
}

// Informational: files written one at a time, 1 ms apart (no backlog); latency from close()
// returning to submit(). Prints, asserts only the count.
TEST_F(watcher_test, paced_files_close_to_submit_latency) {
    auto w = start_watcher();
    constexpr int n = 1000;
    std::vector<std::pair<std::string, std::chrono::steady_clock::time_point>> closed;
    for (int i = 0; i < n; ++i) {
        const std::string p = dir_->path() + "/p" + std::to_string(i) + ".csv";
        write_file(p, "x\n");
        closed.emplace_back(p, std::chrono::steady_clock::now());
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= n; }));
    std::map<std::string, std::chrono::steady_clock::time_point> at;
    for (const auto& s : intake_.accepted()) at.emplace(s.path, s.at);
    std::vector<double> lat_us;
    for (const auto& [p, t] : closed) {
        lat_us.push_back(std::chrono::duration<double, std::micro>(at[p] - t).count());
    }
    std::sort(lat_us.begin(), lat_us.end());
    std::printf(
        "[ watcher  ] paced: close->submit p50 %.0f us, p99 %.0f us, max %.0f us "
        "(negative: submitted before the writer read its clock)\n",
        lat_us[n / 2], lat_us[n * 99 / 100], lat_us.back());
    EXPECT_EQ(at.size(), static_cast<std::size_t>(n));
}

}  // namespace
}  // namespace pubsub::test
