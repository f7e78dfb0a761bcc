// write_behind: the lanes (write_behind_lane.h) and what they share: routing by event id, the
// admission bound, the memory budget and the summed stats.
#include "storage/write_behind.h"

#include <algorithm>

#include "storage/write_behind_lane.h"

namespace pubsub {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

write_behind::write_behind(write_behind_options opts) {
    if (!opts.budget) {
        own_budget_ = std::make_unique<memory_budget>(opts.max_unpersisted_bytes);
        opts.budget = own_budget_.get();
    }
    const std::size_t n = std::max<std::size_t>(1, opts.connections);
    lanes_.reserve(n);
    // One lane removes expired keys for all: the sweep deletes by age, not by event.
    for (std::size_t i = 0; i < n; ++i) lanes_.push_back(std::make_unique<lane>(opts, i == 0));
}

write_behind::~write_behind() { stop(steady::now()); }

write_behind::lane& write_behind::lane_of(event_id id) const {
    return *lanes_[static_cast<std::size_t>(id) % lanes_.size()];
}

status write_behind::start() {
    for (auto& l : lanes_) {
        if (l->thread.joinable()) continue;
        l->work.emplace(asio::make_work_guard(l->io));
        asio::post(l->io, [l = l.get()] { l->arm_key_sweep(); });
        l->thread = std::thread([l = l.get()] { l->io.run(); });
    }
    return status();
}

void write_behind::stop(steady::time_point deadline) noexcept {
    // Every lane flushes at once, each to the same deadline.
    for (auto& l : lanes_) {
        if (l->thread.joinable())
            asio::post(l->io, [l = l.get(), deadline] { l->begin_stop(deadline); });
    }
    for (auto& l : lanes_) {
        if (l->thread.joinable()) l->thread.join();
    }
}

void write_behind::record(transition t) {
    lane& l = lane_of(t.ev->id);
    if (t.status == event_status::pending && !t.ev->from_table) {
        l.unpersisted.fetch_add(1, std::memory_order_relaxed);
        l.budget.charge(approx_bytes(*t.ev));
    }
    l.queue.enqueue(std::move(t));
    l.post_wake();
}

void write_behind::record_delivery(delivery_record r) {
    // With its event's rows: the lane writes both in one transaction, in order.
    lane& l = lane_of(r.event);
    l.delivery_queue.enqueue(std::move(r));
    l.post_wake();
}

std::int64_t write_behind::unpersisted() const {
    std::int64_t held = 0;
    for (const auto& l : lanes_) held += l->unpersisted.load(std::memory_order_relaxed);
    return held;
}

status write_behind::admit() const {
    const auto held = unpersisted();
    const auto& opts = lanes_.front()->opts;
    memory_budget& budget = lanes_.front()->budget;
    std::string why;
    if (held >= static_cast<std::int64_t>(opts.max_unpersisted_events)) {
        why = "event refused: " + std::to_string(held) +
              " events are waiting to be written (limit " +
              std::to_string(opts.max_unpersisted_events) + ")";
    } else if (!budget.has_room()) {
        why = "event refused: the memory budget is full (" + std::to_string(budget.used()) +
              " bytes held by events not yet written, scheduled, or held by a pause; limit "
              "--max-unpersisted-bytes " +
              std::to_string(budget.limit()) + ")";
    }
    if (why.empty()) return status();
    for (const auto& l : lanes_) {
        if (l->healthy.load(std::memory_order_relaxed)) continue;
        std::lock_guard lock(l->stats_mu);
        why += "; database error: " + l->st.last_error;
        break;
    }
    return status::error(why);
}

write_behind_stats write_behind::stats() const {
    write_behind_stats s;
    for (const auto& l : lanes_) {
        std::lock_guard lock(l->stats_mu);
        const write_behind_stats& ls = l->st;
        s.batches += ls.batches;
        s.rows += ls.rows;
        s.transitions += ls.transitions;
        s.failures += ls.failures;
        s.rejected += ls.rejected;
        s.held_rows += ls.held_rows;
        if (!l->healthy.load() && s.healthy) {
            s.healthy = false;
            s.last_error = ls.last_error;
        }
        if (ls.last_commit_us > s.last_commit_us) {
            s.last_commit_us = ls.last_commit_us;
            s.last_batch_ms = ls.last_batch_ms;
            s.last_batch_rows = ls.last_batch_rows;
        }
    }
    s.unpersisted_events = static_cast<std::size_t>(std::max<std::int64_t>(0, unpersisted()));
    s.budget_bytes = lanes_.front()->budget.used();
    return s;
}

}  // namespace pubsub
