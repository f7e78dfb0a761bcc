// Helpers of the file watcher tests: a temporary directory, a recording submitter that acks
// from its own thread (as the write-behind does for durable acks), file writers, and waits.
//
// Waits poll with a generous hang guard: they turn a hang into a failure and never assert on
// timing. quiet() lets a grace period pass so that an event that should NOT come has had the
// time to show up (several settle periods), then the test counts.
// fake_intake is thread-safe.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "ingest/file_watcher.h"
#include "tests/support/pg_test_env.h"

namespace pubsub::test {

inline constexpr std::chrono::seconds watch_hang_guard{30};

struct submitted {
    event_draft draft;
    std::string path;  // event_data.path
    std::chrono::steady_clock::time_point at;
    event_id id = 0;  // 0 when refused
};

class fake_intake {
  public:
    fake_intake();
    ~fake_intake();
    fake_intake(const fake_intake&) = delete;
    fake_intake& operator=(const fake_intake&) = delete;

    event_submitter submitter();
    void refuse_next(int n);
    std::vector<submitted> accepted() const;
    std::size_t accepted_count() const;
    std::size_t refused_count() const;

  private:
    void run();

    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::vector<submitted> accepted_;
    std::size_t refused_ = 0;
    int refuse_ = 0;
    event_id next_id_ = 1000;
    std::deque<std::pair<ack_callback, result<event_id>>> acks_;
    bool stop_ = false;
    std::thread thread_;
};

// event_data.path of a draft (parsed with simdjson); "" when missing.
std::string path_of(const event_draft& d);

class temp_dir {
  public:
    temp_dir();
    ~temp_dir();
    const std::string& path() const { return path_; }

  private:
    std::string path_;
};

void write_file(const std::string& path, const std::string& content);
bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds guard = watch_hang_guard);
void quiet(std::chrono::milliseconds d = std::chrono::milliseconds(400));

// Fixture: a migrated schema, a temp dir, the PostgreSQL state store and a fake intake.
class watcher_test : public pg_schema_test {
  protected:
    void SetUp() override;
    void TearDown() override;

    file_watcher_options options() const;
    std::unique_ptr<file_watcher> start_watcher(file_watcher_options opts);
    std::unique_ptr<file_watcher> start_watcher() { return start_watcher(options()); }
    std::int64_t state_rows();

    std::unique_ptr<temp_dir> dir_;
    std::unique_ptr<watch_state_store> store_;
    fake_intake intake_;
};

}  // namespace pubsub::test
