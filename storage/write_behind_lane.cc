// One lane of the write-behind: its queues, batching, commit, retry and stop, on its writer
// thread (write_behind_lane.h).
#include <algorithm>

#include "storage/write_behind_lane.h"

namespace pubsub {

using steady = std::chrono::steady_clock;

void write_behind::lane::drain() {
    transition buf[256];
    std::size_t n;
    std::int64_t now = now_us();
    while ((n = queue.try_dequeue_bulk(buf, 256)) > 0) {
        for (std::size_t i = 0; i < n; ++i) {
            if (row_rejected(*buf[i].ev)) {
                drop_rejected(std::move(buf[i]));
            } else {
                durable_callback ready;
                batch.add(std::move(buf[i]), now, ready);
                if (ready) ready(status());
            }
            buf[i] = transition();
        }
        std::lock_guard lock(stats_mu);
        st.transitions += n;
    }
    delivery_record d;
    while (delivery_queue.try_dequeue(d)) batch.add_delivery(std::move(d), now);
    unpersisted.fetch_sub(batch.take_stale_pending(), std::memory_order_relaxed);
    budget.release(batch.take_stale_pending_bytes());
    std::lock_guard lock(stats_mu);
    st.held_rows = batch.size();
}

void write_behind::lane::drop_rejected(transition&& t) {
    if (t.status == event_status::pending && !t.ev->from_table) release_pending(*t.ev);
    if (t.on_durable) {
        t.on_durable(status::error("event " + std::to_string(t.ev->id) +
                                   " was rejected by PostgreSQL earlier; not written"));
    }
}

void write_behind::lane::release_pending(const event& ev) {
    unpersisted.fetch_sub(1, std::memory_order_relaxed);
    budget.release(approx_bytes(ev));
}

void write_behind::lane::on_wake() {
    wake_posted.store(false, std::memory_order_release);
    drain();
    maybe_flush();
}

void write_behind::lane::maybe_flush() {
    if (waiting_retry || batch.empty()) return;
    auto age_us = now_us() - batch.oldest_us();
    bool full = batch.size() >= opts.max_batch_rows;
    if (!full && !stopping && age_us < opts.linger.count()) {
        if (!timer_armed) {
            timer_armed = true;
            timer.expires_after(std::chrono::microseconds(opts.linger.count() - age_us));
            timer.async_wait([this](const boost::system::error_code&) {
                timer_armed = false;
                drain();
                maybe_flush();
            });
        }
        return;
    }
    flush_all();
}

void write_behind::lane::flush_all() {
    while (!batch.empty()) {
        auto rows = batch.take(opts.max_batch_rows);
        auto deliveries = batch.take_deliveries();
        if (status s = write(rows, deliveries); !s.ok()) {
            if (!settle_failed(rows, deliveries, s)) return;
        } else {
            on_committed(rows);
        }
        drain();  // what arrived during the write joins the next batch (group commit)
        if (!stopping && !batch.empty() && batch.size() < opts.max_batch_rows &&
            now_us() - batch.oldest_us() < opts.linger.count()) {
            maybe_flush();
            return;
        }
    }
    if (stopping) finish_stop();
}

void write_behind::lane::on_committed(std::span<pending_row> rows) {
    std::int64_t committed_pending = 0;
    std::size_t committed_bytes = 0;
    for (auto& row : rows) {
        if (row.has_pending) {
            ++committed_pending;
            committed_bytes += approx_bytes(*row.ev);
        }
        set_persisted_seq(*row.ev, row.seq);
        if (row.duplicate_of != 0) row.ev->duplicate_of = row.duplicate_of;
    }
    unpersisted.fetch_sub(committed_pending, std::memory_order_relaxed);
    budget.release(committed_bytes);
    answered_repeats = 0;
    {
        std::lock_guard lock(stats_mu);
        ++st.batches;
        st.rows += rows.size();
        st.last_commit_us = now_us();
        if (!st.healthy)
            log(log_level::info, "database writes recovered; write-behind healthy again");
        st.healthy = true;
        st.last_error.clear();
    }
    healthy.store(true, std::memory_order_relaxed);
    backoff = std::chrono::milliseconds(0);
    for (auto& row : rows) {
        for (auto& ack : row.acks) ack(status());
    }
}

void write_behind::lane::on_failure(const status& s) {
    {
        std::lock_guard lock(stats_mu);
        ++st.failures;
        if (st.healthy || st.last_error != s.message()) {
            log(log_level::error, "write-behind: " + s.message() + "; holding " +
                                      std::to_string(batch.size()) + " rows and retrying");
        }
        st.healthy = false;
        st.last_error = s.message();
    }
    healthy.store(false, std::memory_order_relaxed);
    backoff = backoff.count() == 0 ? opts.reconnect_min : std::min(backoff * 2, opts.reconnect_max);
    if (stopping && steady::now() + backoff > deadline) {
        finish_stop();
        return;
    }
    waiting_retry = true;
    retry_timer.expires_after(backoff);
    retry_timer.async_wait([this](const boost::system::error_code&) {
        waiting_retry = false;
        drain();
        flush_all();
    });
}

void write_behind::lane::begin_stop(steady::time_point d) {
    stopping = true;
    deadline = d;
    drain();
    if (waiting_retry) return;  // the retry timer will flush and finish
    flush_all();
}

void write_behind::lane::finish_stop() {
    drain();
    if (!batch.empty()) {
        auto rows = batch.take(batch.size());
        std::size_t acks = 0;
        for (auto& row : rows) {
            if (row.has_pending) release_pending(*row.ev);
            for (auto& ack : row.acks) {
                ack(status::error("pubsubd stopped before the event was committed"));
                ++acks;
            }
        }
        log(log_level::error, "write-behind stopped with " + std::to_string(rows.size()) +
                                  " rows unwritten (" + std::to_string(acks) +
                                  " durable acks failed)");
    }
    timer.cancel();
    retry_timer.cancel();
    key_sweep_timer.cancel();
    work.reset();
    io.stop();
}

}  // namespace pubsub
