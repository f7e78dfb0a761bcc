// The write-behind's data errors: a failed batch is retried, probed or bisected so that only
// the rows PostgreSQL refuses fail, on the writer thread (write_behind_lane.h).
#include <algorithm>
#include <unordered_map>

#include "storage/bisect.h"
#include "storage/write_behind_lane.h"

namespace pubsub {

constexpr int answered_repeats_before_probe = 5;

bool write_behind::lane::settle_failed(std::vector<pending_row>& rows,
                                       std::vector<delivery_record>& deliveries, status s) {
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

status write_behind::lane::isolate(std::vector<pending_row>& rows,
                                   std::vector<delivery_record>& deliveries,
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

void write_behind::lane::reject(pending_row* row, const std::vector<delivery_record>& ds,
                                const std::string& why) {
    {
        std::lock_guard lock(stats_mu);
        ++st.rejected;
    }
    if (!row) {
        log(log_level::error, "write-behind: " + std::to_string(ds.size()) +
                                  " delivery rows of event " + std::to_string(ds.front().event) +
                                  " rejected by PostgreSQL: " + why);
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

}  // namespace pubsub
