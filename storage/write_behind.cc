#include "storage/write_behind.h"

#include <concurrentqueue/concurrentqueue.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <unordered_map>

#include "router/memory_budget.h"
#include "storage/bisect.h"
#include "storage/pg.h"
#include "storage/pg_errors.h"
#include "storage/row_batch.h"

namespace pubsub {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

const std::string commit_suffix = "; COMMIT";
constexpr int answered_repeats_before_probe = 5;

struct write_behind::impl {
    explicit impl(write_behind_options o)
        : opts(std::move(o)),
          own_budget(opts.max_unpersisted_bytes),
          budget(opts.budget ? *opts.budget : own_budget),
          timer(io),
          retry_timer(io) {}

    write_behind_options opts;
    memory_budget own_budget;  // used when opts.budget is not given
    memory_budget& budget;     // charged with approx_bytes of every admitted, unwritten event
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
    pg_error_kind last_kind = pg_error_kind::transient;  // of the last failed write
    bool last_answered = false;  // the server sent that error and the connection still stands
    // Failed writes in a row whose "transient" error came from a server that kept answering:
    // a row that always draws such an error (a trigger raising 40001, say) must not hold up
    // the others forever, so after a few the batch is probed by bisection.
    int answered_repeats = 0;
    bool timer_armed = false;
    bool waiting_retry = false;
    std::chrono::milliseconds backoff{0};
    bool stopping = false;
    steady::time_point deadline{};

    mutable std::mutex stats_mu;
    write_behind_stats st;  // guarded by stats_mu

    void log(log_level level, const std::string& msg) const {
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

    // A later transition of an event whose row PostgreSQL refused: not written (it would fail
    // again, or update a row that does not exist); its ack learns why.
    void drop_rejected(transition&& t) {
        if (t.status == event_status::pending && !t.ev->from_table) release_pending(*t.ev);
        if (t.on_durable) {
            t.on_durable(status::error("event " + std::to_string(t.ev->id) +
                                       " was rejected by PostgreSQL earlier; not written"));
        }
    }

    void release_pending(const event& ev) {
        unpersisted.fetch_sub(1, std::memory_order_relaxed);
        budget.release(approx_bytes(ev));
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

    // A batch failed. A transient error keeps the retry-all policy (hold everything, reconnect,
    // retry with backoff). A suspect one is retried once on a fresh connection; a data error,
    // or a suspect one that recurs, is bisected: the bad rows fail alone, the others commit.
    // Returns false when rows are held for a retry (on_failure was called).
    bool settle_failed(std::vector<pending_row>& rows, std::vector<delivery_record>& deliveries,
                       status s) {
        const std::size_t n = rows.size() + deliveries.size();
        if (last_kind == pg_error_kind::suspect) {
            conn.reset();
            if (s = write(rows, deliveries); s.ok()) {
                on_committed(rows);
                return true;
            }
            if (last_kind == pg_error_kind::suspect) last_kind = pg_error_kind::data;
        }
        if (last_kind == pg_error_kind::transient && last_answered &&
            ++answered_repeats >= answered_repeats_before_probe) {
            answered_repeats = 0;
            log(log_level::warn, "write-behind: a batch of " + std::to_string(n) +
                                     " rows keeps failing (" + s.message() +
                                     ") while the server answers; probing it row by row");
            s = isolate(rows, deliveries, s.message(), true);
            if (s.ok()) return true;
        } else if (last_kind == pg_error_kind::data) {
            log(log_level::warn, "write-behind: a batch of " + std::to_string(n) +
                                     " rows failed with a data error (" + s.message() +
                                     "); isolating the rows PostgreSQL refuses");
            s = isolate(rows, deliveries, s.message(), false);
            if (s.ok()) return true;
        } else {
            batch.restore(std::move(rows));
            batch.restore_deliveries(std::move(deliveries));
        }
        on_failure(
            status::error("batch of " + std::to_string(n) + " rows not written: " + s.message()));
        return false;
    }

    // Bisects a batch that failed with a data error (storage/bisect.h). A unit is one event row
    // with its delivery rows, or the delivery rows of one event not in the batch. Returns the
    // transient error that stopped it, if any; the unsettled units are then back in the batch.
    // probe: the batch failed with a recurring "transient" error; such errors count as data
    // errors here, but a unit is rejected only if some other unit committed (proof that the
    // database takes writes), and the search gives up while nothing commits.
    status isolate(std::vector<pending_row>& rows, std::vector<delivery_record>& deliveries,
                   const std::string& error, bool probe) {
        const std::size_t nrows = rows.size();
        std::unordered_map<event_id, std::size_t> unit_of;
        for (std::size_t i = 0; i < nrows; ++i) unit_of.emplace(rows[i].ev->id, i);
        std::vector<std::vector<delivery_record>> dels(nrows);
        for (auto& d : deliveries) {
            auto [it, inserted] = unit_of.try_emplace(d.event, dels.size());
            if (inserted) dels.emplace_back();
            dels[it->second].push_back(std::move(d));
        }
        deliveries.clear();
        auto rows_in = [&](std::size_t lo, std::size_t hi) {
            lo = std::min(lo, nrows);
            return std::span<pending_row>(rows).subspan(lo, std::min(hi, nrows) - lo);
        };
        std::vector<bool> settled(dels.size(), false);
        std::vector<delivery_record> scratch;
        status stopped;
        bool any_committed = false;
        std::size_t fails_before_commit = 0;
        std::size_t max_fails = 2;
        for (std::size_t k = dels.size(); k > 1; k /= 2) max_fails += 2;
        std::vector<std::pair<std::size_t, std::string>> suspects;  // probe: rejected once proven
        bisect_ops ops;
        ops.write = [&](std::size_t lo, std::size_t hi) {
            scratch.clear();
            for (std::size_t u = lo; u < hi; ++u) {
                scratch.insert(scratch.end(), dels[u].begin(), dels[u].end());
            }
            status s = write(rows_in(lo, hi), scratch);
            if (s.ok()) return bisect_write{};
            bool transient = last_kind == pg_error_kind::transient;
            if (probe && last_answered && (any_committed || ++fails_before_commit < max_fails)) {
                transient = false;
            }
            if (transient) stopped = s;
            return bisect_write{false, transient, s.message()};
        };
        ops.committed = [&](std::size_t lo, std::size_t hi) {
            on_committed(rows_in(lo, hi));
            any_committed = true;
            for (std::size_t u = lo; u < hi; ++u) settled[u] = true;
        };
        ops.rejected = [&](std::size_t u, const std::string& why) {
            if (probe) {
                suspects.emplace_back(u, why);
                return;
            }
            reject(u < nrows ? &rows[u] : nullptr, dels[u], why);
            settled[u] = true;
        };
        bool done = bisect_failed_range(0, dels.size(), error, ops);
        // A suspect is rejected only if it fails once more, alone, after other rows committed:
        // the error that found it may have come from a lock or an outage that has ended since.
        for (auto& [u, why] : suspects) {
            if (!any_committed || !stopped.ok()) break;
            bisect_write again = ops.write(u, u + 1);
            if (again.ok) {
                ops.committed(u, u + 1);
            } else if (!again.transient) {
                reject(u < nrows ? &rows[u] : nullptr, dels[u], again.error);
                settled[u] = true;
            }
        }
        if (done && std::find(settled.begin(), settled.end(), false) == settled.end()) {
            return status();
        }
        if (stopped.ok()) stopped = status::error(error);
        std::vector<pending_row> back;
        for (std::size_t u = 0; u < dels.size(); ++u) {
            if (settled[u]) continue;
            if (u < nrows) back.push_back(std::move(rows[u]));
            batch.restore_deliveries(std::move(dels[u]));
        }
        batch.restore(std::move(back));
        return stopped;
    }

    // PostgreSQL refuses this unit for good: its acks fail with PostgreSQL's message, its later
    // transitions are not written (row_rejected), an existing row is marked failed when
    // possible, and the owner hears of it (on_rejected: the daemon cancels its deliveries).
    void reject(pending_row* row, const std::vector<delivery_record>& ds, const std::string& why) {
        {
            std::lock_guard lock(stats_mu);
            ++st.rejected;
        }
        if (!row) {
            log(log_level::error,
                "write-behind: " + std::to_string(ds.size()) + " delivery rows of event " +
                    std::to_string(ds.front().event) + " rejected by PostgreSQL: " + why);
            return;
        }
        const event& ev = *row->ev;
        set_row_rejected(ev);
        std::string msg = "event " + std::to_string(ev.id) + " rejected by PostgreSQL: " + why;
        log(log_level::error, "write-behind: " + msg + " (event_type " + ev.type + ", " +
                                  std::to_string(ds.size()) +
                                  " delivery rows dropped); other rows commit");
        if (row->has_pending) release_pending(ev);
        for (auto& ack : row->acks) ack(status::error(msg));
        row->acks.clear();
        if (!row->is_new()) mark_failed(ev.id, msg);
        if (opts.on_rejected) opts.on_rejected(ev.id);
    }

    // Best effort: a row that exists but refuses its next state ends `failed` with the reason,
    // so it is not resumed (and refused again) after a restart.
    void mark_failed(event_id id, const std::string& msg) {
        if (!conn) return;
        auto r = conn->query("UPDATE " + quoted_schema +
                                 ".tpubsub_events SET status = 'failed', completed_at = now(), "
                                 "processed_at = coalesce(processed_at, now()), "
                                 "error_message = $1 WHERE event_id = $2 "
                                 "AND status NOT IN ('completed', 'failed', 'cancelled')",
                             {msg, std::to_string(id)});
        if (!r.ok())
            log(log_level::error, "write-behind: cannot mark event " + std::to_string(id) +
                                      " failed: " + r.message());
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

    // One transaction; on failure last_kind says what the error means and the message is
    // PostgreSQL's own.
    status write(std::span<const pending_row> rows,
                 const std::vector<delivery_record>& deliveries) {
        if (!conn || !conn->is_ok()) {
            conn.reset();
            if (status s = connect(); !s.ok()) {
                last_kind = pg_error_kind::transient;
                return s;
            }
        }
        auto t0 = steady::now();
        status s = safe_mode ? write_merged(rows, deliveries) : write_direct(rows, deliveries);
        if (!s.ok()) {
            last_kind = classify_pg_error(conn->last_sqlstate(), conn->is_ok());
            last_answered = conn->is_ok() && !conn->last_sqlstate().empty();
            if (!conn->last_server_error().empty()) s = status::error(conn->last_server_error());
            // Roll back so the connection is usable again (harmless if it is gone). The next
            // attempt takes the idempotent path: this batch's commit outcome may be unknown.
            (void)conn->exec("ROLLBACK");
            if (!conn->is_ok()) conn.reset();
            safe_mode = true;
            return s;
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
    status write_direct(std::span<const pending_row> rows,
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
    status write_merged(std::span<const pending_row> rows,
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

    void on_committed(std::span<pending_row> rows) {
        std::int64_t committed_pending = 0;
        std::size_t committed_bytes = 0;
        for (auto& row : rows) {
            if (row.has_pending) {
                ++committed_pending;
                committed_bytes += approx_bytes(*row.ev);
            }
            set_persisted_seq(*row.ev, row.seq);
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

    void on_failure(const status& s) {
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
        impl_->budget.charge(approx_bytes(*t.ev));
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
    std::string why;
    if (held >= static_cast<std::int64_t>(impl_->opts.max_unpersisted_events)) {
        why = "event refused: " + std::to_string(held) +
              " events are waiting to be written (limit " +
              std::to_string(impl_->opts.max_unpersisted_events) + ")";
    } else if (!impl_->budget.has_room()) {
        why = "event refused: the memory budget is full (" + std::to_string(impl_->budget.used()) +
              " bytes held by events not yet written; " + "limit --max-unpersisted-bytes " +
              std::to_string(impl_->budget.limit()) + ")";
    }
    if (!why.empty()) {
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
    s.budget_bytes = impl_->budget.used();
    return s;
}

}  // namespace pubsub
