// state_writer: see file_watch_writer.h.
#include "ingest/file_watch_writer.h"

#include <vector>

namespace pubsub {

state_writer::state_writer(watch_state_store& store, std::chrono::milliseconds retry_interval,
                           log_sink log)
    : store_(store), retry_interval_(retry_interval), log_(std::move(log)) {}

state_writer::~state_writer() { stop_now(); }

status state_writer::start() {
    if (thread_.joinable()) return status();
    thread_ = std::thread([this] { run(); });
    return status();
}

void state_writer::stop(clock::time_point) noexcept {
    {
        std::lock_guard lock(mu_);
        if (stopping_) return;
        stopping_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
    std::unique_lock lock(mu_);
    while (!queue_.empty()) {
        if (!apply_some(lock)) break;
    }
    if (!queue_.empty() && log_) {
        log_(log_level::warn,
             "file watcher: " + std::to_string(queue_.size()) +
                 " state changes not recorded at shutdown; the next start recovers the "
                 "emitted files from the events table");
    }
}

void state_writer::push(file_state_op op) {
    {
        std::lock_guard lock(mu_);
        queue_.push_back(std::move(op));
    }
    cv_.notify_one();
}

std::size_t state_writer::pending() const {
    std::lock_guard lock(mu_);
    return queue_.size();
}

bool state_writer::apply_some(std::unique_lock<std::mutex>& lock) {
    const std::size_t n = std::min(queue_.size(), max_batch);
    std::vector<file_state_op> batch(std::make_move_iterator(queue_.begin()),
                                     std::make_move_iterator(queue_.begin() + n));
    queue_.erase(queue_.begin(), queue_.begin() + n);
    lock.unlock();
    status st = store_.apply(batch);
    lock.lock();
    if (st.ok()) {
        if (failing_.exchange(false, std::memory_order_relaxed) && log_) {
            log_(log_level::info, "file watcher: state store recovered");
        }
        return true;
    }
    errors_.fetch_add(1, std::memory_order_relaxed);
    if (!failing_.exchange(true, std::memory_order_relaxed) && log_) {
        log_(log_level::error, "file watcher: " + st.message() + " (retrying every " +
                                   std::to_string(retry_interval_.count()) + " ms)");
    }
    queue_.insert(queue_.begin(), std::make_move_iterator(batch.begin()),
                  std::make_move_iterator(batch.end()));
    return false;
}

void state_writer::run() {
    std::unique_lock lock(mu_);
    while (!stopping_) {
        cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
        if (stopping_) break;
        if (!apply_some(lock)) {
            cv_.wait_for(lock, retry_interval_, [this] { return stopping_; });
        }
    }
}

}  // namespace pubsub
