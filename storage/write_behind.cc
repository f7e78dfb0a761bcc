#include "storage/write_behind.h"

#include <concurrentqueue/concurrentqueue.h>

#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <optional>
#include <thread>

#include "storage/pg.h"
#include "storage/row_batch.h"

namespace pubsub {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

const std::string commit_suffix = "; COMMIT";

struct write_behind::impl {
    explicit impl(write_behind_options o) : opts(std::move(o)), timer(io), retry_timer(io) {}

    write_behind_options opts;
    asio::io_context io;
    std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
    asio::steady_timer timer;        // linger cut
    asio::steady_timer retry_timer;  // reconnect backoff
    std::thread thread;

    moodycamel::ConcurrentQueue<transition> queue;
    moodycamel::ConcurrentQueue<delivery_record> delivery_queue;
    // true while a wake is posted and not yet run: at most one wake in flight (acq_rel).
    std::atomic<bool> wake_posted{false};
    // Admitted events whose row is not committed (incremented by producers, decremented by
    // the writer after commit). Relaxed: only a bound for admission, never a synchronisation.
    std::atomic<std::int64_t> unpersisted{0};
    std::atomic<bool> healthy{true};

    // Writer-thread state.
    row_batch batch;
    std::optional<pg::connection> conn;
    std::string quoted_schema;
    std::string merge;
    std::string delivery_merge;
    std::string events_copy;
    std::string copy_buf;
    std::string stage_buf;
    std::string delivery_buf;
    bool safe_mode = false;  // the last write failed: use the idempotent path
    bool timer_armed = false;
    bool waiting_retry = false;
    std::chrono::milliseconds backoff{0};
    bool stopping = false;
    steady::time_point deadline{};

    mutable std::mutex stats_mu;
    write_behind_stats st;  // guarded by stats_mu

    void log(int level, const std::string& msg) const {
        if (opts.log) opts.log(level, msg);
    }

    void post_wake() {
        if (!wake_posted.exchange(true, std::memory_order_acq_rel)) {
            asio::post(io, [this] { on_wake(); });
        }
    }

    void drain() {
        transition buf[256];
        std::size_t n;
        std::int64_t now = now_us();
        while ((n = queue.try_dequeue_bulk(buf, 256)) > 0) {
            for (std::size_t i = 0; i < n; ++i) {
                durable_callback ready;
                batch.add(std::move(buf[i]), now, ready);
                if (ready) ready(status());
                buf[i] = transition();
            }
            std::lock_guard lock(stats_mu);
            st.transitions += n;
        }
        delivery_record d;
        while (delivery_queue.try_dequeue(d)) batch.add_delivery(std::move(d), now);
        unpersisted.fetch_sub(batch.take_stale_pending(), std::memory_order_relaxed);
        std::lock_guard lock(stats_mu);
        st.held_rows = batch.size();
    }

    void on_wake() {
        wake_posted.store(false, std::memory_order_release);
        drain();
        maybe_flush();
    }

    void maybe_flush() {
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

    // Writes batches until the buffer is empty or a write fails.
    void flush_all() {
        while (!batch.empty()) {
            auto rows = batch.take(opts.max_batch_rows);
            auto deliveries = batch.take_deliveries();
            if (status s = write(rows, deliveries); !s.ok()) {
                batch.restore(std::move(rows));
                batch.restore_deliveries(std::move(deliveries));
                on_failure(s);
                return;
            }
            on_committed(rows);
            drain();  // what arrived during the write joins the next batch (group commit)
            if (!stopping && !batch.empty() && batch.size() < opts.max_batch_rows &&
                now_us() - batch.oldest_us() < opts.linger.count()) {
                maybe_flush();
                return;
            }
        }
        if (stopping) finish_stop();
    }

    status connect() {
        auto c = pg::connection::open(opts.dsn);
        if (!c.ok()) return c.error();
        if (status s = c->exec(stage_table_sql() + "; " + delivery_stage_table_sql()); !s.ok()) {
            return status::error("cannot create staging table: " + s.message());
        }
        quoted_schema = c->quote_identifier(opts.schema);
        merge = merge_sql(quoted_schema, c->quote_literal(opts.node_id)) + commit_suffix;
        events_copy = events_copy_sql(quoted_schema);
        delivery_merge = delivery_merge_sql(quoted_schema);
        conn.emplace(std::move(*c));
        return status();
    }

    status write(const std::vector<pending_row>& rows,
                 const std::vector<delivery_record>& deliveries) {
        if (!conn || !conn->is_ok()) {
            conn.reset();
            if (status s = connect(); !s.ok()) return s;
        }
        auto t0 = steady::now();
        status s = safe_mode ? write_merged(rows, deliveries) : write_direct(rows, deliveries);
        if (!s.ok()) {
            // Roll back so the connection is usable again (harmless if it is gone). The next
            // attempt takes the idempotent path: this batch's commit outcome may be unknown.
            (void)conn->exec("ROLLBACK");
            if (!conn->is_ok()) conn.reset();
            safe_mode = true;
            return status::error("batch of " + std::to_string(rows.size() + deliveries.size()) +
                                 " rows not written: " + s.message());
        }
        safe_mode = false;
        double ms = std::chrono::duration<double, std::milli>(steady::now() - t0).count();
        std::lock_guard lock(stats_mu);
        st.last_batch_ms = ms;
        st.last_batch_rows = rows.size();
        return status();
    }

    // Fast path: new rows are COPYed straight into tpubsub_events (each row written once);
    // only rows that already exist go through the staging table and the UPDATE.
    status write_direct(const std::vector<pending_row>& rows,
                        const std::vector<delivery_record>& deliveries) {
        copy_buf.clear();
        stage_buf.clear();
        std::size_t fresh = encode_split_rows(rows, opts.node_id, copy_buf, stage_buf);
        if (status s = conn->exec("BEGIN"); !s.ok()) return s;
        if (fresh > 0) {
            if (status s = conn->copy_in(events_copy, copy_buf); !s.ok()) return s;
        }
        if (status s = write_deliveries(deliveries); !s.ok()) return s;
        if (fresh < rows.size()) {
            if (status s = conn->copy_in(stage_copy_sql(), stage_buf); !s.ok()) return s;
            return conn->exec(merge);  // ends with COMMIT
        }
        return conn->exec("COMMIT");
    }

    // Idempotent path (after any failure): every row through the staging table and
    // INSERT ... ON CONFLICT, so rows a lost COMMIT did write are updated, not duplicated.
    status write_merged(const std::vector<pending_row>& rows,
                        const std::vector<delivery_record>& deliveries) {
        copy_buf.clear();
        encode_stage_rows(rows, copy_buf);
        if (status s = conn->exec("BEGIN"); !s.ok()) return s;
        if (status s = conn->copy_in(stage_copy_sql(), copy_buf); !s.ok()) return s;
        // After the events' merge (new rows exist), before its COMMIT.
        if (status s = conn->exec(merge.substr(0, merge.size() - commit_suffix.size())); !s.ok()) {
            return s;
        }
        if (status s = write_deliveries(deliveries); !s.ok()) return s;
        return conn->exec("COMMIT");
    }

    // Inside the batch's transaction; idempotent (the highest version wins).
    status write_deliveries(const std::vector<delivery_record>& deliveries) {
        if (deliveries.empty()) return status();
        delivery_buf.clear();
        encode_delivery_rows(deliveries, delivery_buf);
        if (status s = conn->copy_in(delivery_stage_copy_sql(), delivery_buf); !s.ok()) return s;
        return conn->exec(delivery_merge);
    }

    void on_committed(std::vector<pending_row>& rows) {
        std::int64_t committed_pending = 0;
        for (auto& row : rows) {
            if (row.has_pending) ++committed_pending;
            row.ev->persisted_seq = row.seq;  // writer-thread-only field
        }
        unpersisted.fetch_sub(committed_pending, std::memory_order_relaxed);
        {
            std::lock_guard lock(stats_mu);
            ++st.batches;
            st.rows += rows.size();
            st.last_commit_us = now_us();
            if (!st.healthy) log(1, "database writes recovered; write-behind healthy again");
            st.healthy = true;
            st.last_error.clear();
        }
        healthy.store(true, std::memory_order_relaxed);
        backoff = std::chrono::milliseconds(0);
        for (auto& row : rows) {
            for (auto& ack : row.acks) ack(status());
        }
    }

    void on_failure(const status& s) {
        {
            std::lock_guard lock(stats_mu);
            ++st.failures;
            if (st.healthy || st.last_error != s.message()) {
                log(3, "write-behind: " + s.message() + "; holding " +
                           std::to_string(batch.size()) + " rows and retrying");
            }
            st.healthy = false;
            st.last_error = s.message();
        }
        healthy.store(false, std::memory_order_relaxed);
        backoff =
            backoff.count() == 0 ? opts.reconnect_min : std::min(backoff * 2, opts.reconnect_max);
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

    void begin_stop(steady::time_point d) {
        stopping = true;
        deadline = d;
        drain();
        if (waiting_retry) return;  // the retry timer will flush and finish
        flush_all();
    }

    void finish_stop() {
        drain();
        if (!batch.empty()) {
            auto rows = batch.take(batch.size());
            std::size_t acks = 0;
            for (auto& row : rows) {
                for (auto& ack : row.acks) {
                    ack(status::error("pubsubd stopped before the event was committed"));
                    ++acks;
                }
            }
            log(3, "write-behind stopped with " + std::to_string(rows.size()) +
                       " rows unwritten (" + std::to_string(acks) + " durable acks failed)");
        }
        timer.cancel();
        retry_timer.cancel();
        work.reset();
        io.stop();
    }
};

write_behind::write_behind(write_behind_options opts)
    : impl_(std::make_unique<impl>(std::move(opts))) {}

write_behind::~write_behind() { stop(steady::now()); }

void write_behind::start() {
    if (impl_->thread.joinable()) return;
    impl_->work.emplace(asio::make_work_guard(impl_->io));
    impl_->thread = std::thread([this] { impl_->io.run(); });
}

void write_behind::stop(steady::time_point deadline) noexcept {
    if (!impl_->thread.joinable()) return;
    asio::post(impl_->io, [this, deadline] { impl_->begin_stop(deadline); });
    impl_->thread.join();
}

void write_behind::record(transition t) {
    if (t.status == event_status::pending && !t.ev->from_table) {
        impl_->unpersisted.fetch_add(1, std::memory_order_relaxed);
    }
    impl_->queue.enqueue(std::move(t));
    impl_->post_wake();
}

void write_behind::record_delivery(delivery_record r) {
    impl_->delivery_queue.enqueue(std::move(r));
    impl_->post_wake();
}

status write_behind::admit() const {
    auto held = impl_->unpersisted.load(std::memory_order_relaxed);
    if (held >= static_cast<std::int64_t>(impl_->opts.max_unpersisted_events)) {
        std::string why = "event refused: " + std::to_string(held) +
                          " events are waiting to be written (limit " +
                          std::to_string(impl_->opts.max_unpersisted_events) + ")";
        if (!impl_->healthy.load(std::memory_order_relaxed)) {
            std::lock_guard lock(impl_->stats_mu);
            why += "; database error: " + impl_->st.last_error;
        }
        return status::error(why);
    }
    return status();
}

write_behind_stats write_behind::stats() const {
    std::lock_guard lock(impl_->stats_mu);
    write_behind_stats s = impl_->st;
    s.unpersisted_events =
        static_cast<std::size_t>(std::max<std::int64_t>(0, impl_->unpersisted.load()));
    s.healthy = impl_->healthy.load();
    return s;
}

}  // namespace pubsub
