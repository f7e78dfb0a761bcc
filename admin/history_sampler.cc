#include "admin/history_sampler.h"

#include "admin/node_sample.h"

namespace pubsub::admin {

namespace {

std::int64_t wall_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

double rate(std::uint64_t now, std::uint64_t before, double secs) {
    return now >= before ? static_cast<double>(now - before) / secs : 0;
}

}  // namespace

history_reading reading_of(const node_sample& s) {
    history_reading r;
    r.received = s.received_total();
    r.finished = s.finished_total();
    for (const auto& p : s.pools) {
        r.failed += p.failed;
        r.queue_depth += static_cast<std::int64_t>(p.queued);
    }
    for (auto d : s.queue_depth) r.queue_depth += static_cast<std::int64_t>(d);
    return r;
}

history_sampler::history_sampler(metric_history& history, read_fn read,
                                 std::chrono::milliseconds interval)
    : history_(history), read_(std::move(read)), interval_(interval) {}

history_sampler::~history_sampler() { stop_now(); }

status history_sampler::start() {
    if (thread_.joinable()) return {};
    {
        std::lock_guard lock(mu_);
        stopping_ = false;
    }
    try {
        thread_ = std::thread([this] { run(); });
    } catch (const std::system_error& e) {
        return status::error(std::string("cannot start the history sampler: ") + e.what());
    }
    return {};
}

void history_sampler::stop(clock::time_point) noexcept {
    if (!thread_.joinable()) return;
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    thread_.join();
}

void history_sampler::run() {
    history_reading prev = read_();
    auto prev_at = clock::now();
    auto next = prev_at + interval_;
    for (;;) {
        {
            std::unique_lock lock(mu_);
            if (wake_.wait_until(lock, next, [this] { return stopping_; })) return;
        }
        history_reading now = read_();
        auto at = clock::now();
        double secs = std::chrono::duration<double>(at - prev_at).count();
        if (secs <= 0) secs = 1;
        history_.add({wall_ms(), rate(now.received, prev.received, secs),
                      rate(now.finished, prev.finished, secs), rate(now.failed, prev.failed, secs),
                      now.queue_depth});
        prev = now;
        prev_at = at;
        // The next whole interval; a tick that overran skips the missed ones.
        next += interval_;
        if (next <= at) next = at + interval_;
    }
}

}  // namespace pubsub::admin
