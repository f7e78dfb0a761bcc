// state_writer: the file watcher's thread that records emitted files in the watch_state_store.
//
// DESIGN: the watcher's io thread push()es ops (never blocks on I/O: a mutex and a vector);
// the writer thread takes everything queued (up to max_batch) and apply()s it as one
// transaction. On failure the batch goes back to the front of the queue, the first error of a
// run of failures is logged, and the thread retries every retry_interval: events were already
// acknowledged, so a database outage only delays the bookkeeping (a crash during it loses
// nothing either: the next start folds the committed events since the last checkpoint in).
// stop() applies what is queued (one last attempt), then joins; idempotent, noexcept.
// Thread-safe: push() and the accessors from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "base/logger.h"
#include "base/service.h"
#include "router/file_watch_state.h"

namespace pubsub {

class state_writer final : public service {
  public:
    state_writer(watch_state_store& store, std::chrono::milliseconds retry_interval, log_sink log);
    ~state_writer() override;
    state_writer(const state_writer&) = delete;
    state_writer& operator=(const state_writer&) = delete;

    std::string_view name() const override { return "file watcher state"; }
    status start() override;  // never fails
    // One last attempt at what is queued, however late: nothing waits for the deadline.
    void stop(clock::time_point deadline) noexcept override;
    void push(file_state_op op);

    std::size_t pending() const;
    std::uint64_t errors() const { return errors_.load(std::memory_order_relaxed); }
    bool failing() const { return failing_.load(std::memory_order_relaxed); }

    static constexpr std::size_t max_batch = 4096;

  private:
    void run();
    bool apply_some(std::unique_lock<std::mutex>& lock);  // false when the store failed

    watch_state_store& store_;
    std::chrono::milliseconds retry_interval_;
    log_sink log_;
    mutable std::mutex mu_;
    std::condition_variable cv_;
    std::deque<file_state_op> queue_;  // guarded by mu_
    bool stopping_ = false;            // guarded by mu_
    std::atomic<std::uint64_t> errors_{0};
    std::atomic<bool> failing_{false};
    std::thread thread_;
};

}  // namespace pubsub
