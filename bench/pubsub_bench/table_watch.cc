#include "bench/pubsub_bench/table_watch.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_map>

#include "storage/pg.h"

namespace pubsub::bench {

namespace {

using steady = std::chrono::steady_clock;

std::string qualified(pg::connection& c, const table_ref& t) {
    return c.quote_identifier(t.schema) + "." + c.quote_identifier(t.table);
}

std::string id_array(const std::vector<std::int64_t>& ids, std::size_t from, std::size_t to) {
    std::string s = "{";
    for (std::size_t i = from; i < to; ++i) {
        if (i > from) s += ',';
        s += std::to_string(ids[i]);
    }
    return s + "}";
}

struct id_range {
    std::int64_t lo = 0, hi = 0;
};

id_range range_of(const std::vector<std::int64_t>& ids) {
    auto [lo, hi] = std::minmax_element(ids.begin(), ids.end());
    return {*lo, *hi};
}

// Rows among the run's ids with status `completed` (or any status when status is empty).
result<std::int64_t> count_rows(pg::connection& c, const table_ref& t,
                                const std::vector<std::int64_t>& ids, const std::string& st) {
    std::string where = st.empty() ? "" : " AND status = '" + st + "'";
    if (t.exclusive) {
        auto r = range_of(ids);
        auto q = c.query(
            "SELECT count(*) FROM " + qualified(c, t) + " WHERE event_id BETWEEN $1 AND $2" + where,
            {std::to_string(r.lo), std::to_string(r.hi)});
        if (!q.ok()) return q.error();
        return q->get_int(0, 0);
    }
    auto q = c.query(
        "SELECT count(*) FROM " + qualified(c, t) + " WHERE event_id = ANY($1::bigint[])" + where,
        {id_array(ids, 0, ids.size())});
    if (!q.ok()) return q.error();
    return q->get_int(0, 0);
}

}  // namespace

completion wait_all_completed(const table_ref& t, const std::vector<std::int64_t>& ids,
                              int timeout_s) {
    completion out;
    if (ids.empty()) {
        out.done = true;
        return out;
    }
    auto conn = pg::connection::open(t.dsn);
    if (!conn.ok()) {
        out.error = conn.message();
        return out;
    }
    auto r = range_of(ids);
    const std::string open_sql = "SELECT count(*) FROM " + qualified(*conn, t) +
                                 " WHERE status IN ('pending', 'processing')"
                                 " AND event_id BETWEEN $1 AND $2";
    const std::vector<std::optional<std::string>> range_params{std::to_string(r.lo),
                                                               std::to_string(r.hi)};
    auto until = steady::now() + std::chrono::seconds(timeout_s);
    while (steady::now() < until) {
        ++out.polls;
        auto open = conn->query(open_sql, range_params);
        if (!open.ok()) {
            out.error = open.message();
            return out;
        }
        if (open->get_int(0, 0) == 0) {
            std::int64_t before = wall_us();
            auto done = count_rows(*conn, t, ids, "completed");
            if (!done.ok()) {
                out.error = done.message();
                return out;
            }
            out.completed = *done;
            if (*done >= static_cast<std::int64_t>(ids.size())) {
                out.done = true;
                out.end_us = before;
                return out;
            }
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    out.error = "timed out after " + std::to_string(timeout_s) + " s with " +
                std::to_string(out.completed) + " of " + std::to_string(ids.size()) + " completed";
    return out;
}

result<std::int64_t> wait_rows_present(const table_ref& t, const std::vector<std::int64_t>& ids,
                                       int timeout_s) {
    auto conn = pg::connection::open(t.dsn);
    if (!conn.ok()) return conn.error();
    auto until = steady::now() + std::chrono::seconds(timeout_s);
    std::int64_t seen = 0;
    while (steady::now() < until) {
        std::int64_t before = wall_us();
        auto n = count_rows(*conn, t, ids, "");
        if (!n.ok()) return n.error();
        seen = *n;
        if (seen >= static_cast<std::int64_t>(ids.size())) return before;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return status::error("only " + std::to_string(seen) + " of " + std::to_string(ids.size()) +
                         " rows written after " + std::to_string(timeout_s) + " s");
}

status fetch_processed(const table_ref& t, std::vector<event_record>& records) {
    auto conn = pg::connection::open(t.dsn);
    if (!conn.ok()) return conn.error();
    std::vector<std::int64_t> ids;
    std::unordered_map<std::int64_t, std::size_t> index;
    index.reserve(records.size());
    for (std::size_t i = 0; i < records.size(); ++i) {
        if (records[i].event_id == 0) continue;
        ids.push_back(records[i].event_id);
        index.emplace(records[i].event_id, i);
    }
    constexpr std::size_t chunk = 50'000;
    const std::string sql =
        "SELECT event_id, (extract(epoch FROM processed_at) * 1000000)::int8, "
        "(extract(epoch FROM created_at) * 1000000)::int8 "
        "FROM " +
        qualified(*conn, t) + " WHERE event_id = ANY($1::bigint[])";
    for (std::size_t from = 0; from < ids.size(); from += chunk) {
        auto q = conn->query(sql, {id_array(ids, from, std::min(ids.size(), from + chunk))});
        if (!q.ok()) return q.error();
        for (int row = 0; row < q->rows(); ++row) {
            auto it = index.find(q->get_int(row, 0));
            if (it == index.end()) continue;
            records[it->second].processed_us = q->get_int(row, 1);
            records[it->second].created_us = q->get_int(row, 2);
        }
    }
    return status();
}

}  // namespace pubsub::bench
