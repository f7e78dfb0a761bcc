#include "bench/pubsub_bench/baselines.h"

#include <libpq-fe.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstring>
#include <mutex>
#include <thread>

#include "bench/pubsub_bench/socket_load.h"
#include "storage/pg.h"

namespace pubsub::bench {

namespace {

using steady = std::chrono::steady_clock;

struct pq_result {
    PGresult* r;
    explicit pq_result(PGresult* res) : r(res) {}
    ~pq_result() { PQclear(r); }
    pq_result(const pq_result&) = delete;
    pq_result& operator=(const pq_result&) = delete;
    bool ok() const {
        auto s = PQresultStatus(r);
        return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
    }
};

std::string prepare(pg::connection& c, const char* name, const std::string& sql, int nparams) {
    pq_result r(PQprepare(c.raw(), name, sql.c_str(), nparams, nullptr));
    return r.ok() ? "" : std::string(name) + ": " + PQerrorMessage(c.raw());
}

std::int64_t to_int(const char* s) {
    std::int64_t v = 0;
    std::from_chars(s, s + std::strlen(s), v);
    return v;
}

// Records the first error of any thread.
class first_error {
  public:
    void set(std::string e) {
        std::lock_guard lock(mu_);
        if (e_.empty()) e_ = std::move(e);
        failed_.store(true, std::memory_order_relaxed);
    }
    bool failed() const { return failed_.load(std::memory_order_relaxed); }
    std::string get() {
        std::lock_guard lock(mu_);
        return e_;
    }

  private:
    std::mutex mu_;
    std::string e_;
    std::atomic<bool> failed_{false};  // relaxed: a hint to stop early; e_ is under mu_
};

// One row per INSERT (autocommit), or insert_batch rows per INSERT from arrays.
void sql_producer(const bench_options& opt, const std::string& dsn, const std::string& table, int p,
                  std::size_t insert_batch, std::vector<event_record>& records, first_error& err) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return err.set(conn.message());
    const bool batched = insert_batch > 1;
    const std::string insert =
        "INSERT INTO " + table + " (event_type, event_source, event_data, priority) ";
    auto e = prepare(*conn, "ins",
                     insert + (batched ? "SELECT $1, $2, d::jsonb, pr FROM unnest($3::text[], "
                                         "$4::smallint[]) WITH ORDINALITY AS u(d, pr, k) "
                                         "ORDER BY k RETURNING event_id"
                                       : "VALUES ($1, $2, $3::jsonb, $4::smallint) "
                                         "RETURNING event_id"),
                     4);
    if (!e.empty()) return err.set(e);
    const std::string source = "bench:" + std::to_string(p);
    const auto step = static_cast<std::size_t>(opt.producers);
    std::vector<std::size_t> batch;
    std::string datas, prios;
    for (std::size_t i = static_cast<std::size_t>(p); i < opt.events && !err.failed();) {
        batch.clear();
        datas = prios = batched ? "{" : "";
        for (; i < opt.events && batch.size() < insert_batch; i += step) {
            int prio = priority_of(opt.priorities, i);
            records[i].priority = static_cast<std::int8_t>(prio);
            records[i].send_us = records[i].intended_us = wall_us();
            if (!batch.empty()) datas += ',', prios += ',';
            if (batched) datas += '"';
            for (char c : event_data_json(i, opt.payload_bytes)) {
                if (batched && (c == '"' || c == '\\')) datas += '\\';  // array element quoting
                datas += c;
            }
            if (batched) datas += '"';
            prios += std::to_string(prio);
            batch.push_back(i);
        }
        if (batched) datas += '}', prios += '}';
        const char* values[4] = {bench_event_type, source.c_str(), datas.c_str(), prios.c_str()};
        pq_result r(PQexecPrepared(conn->raw(), "ins", 4, values, nullptr, nullptr, 0));
        const std::int64_t ack = wall_us();
        if (!r.ok()) return err.set(std::string("insert: ") + PQerrorMessage(conn->raw()));
        for (std::size_t k = 0; k < batch.size() && k < std::size_t(PQntuples(r.r)); ++k) {
            records[batch[k]].ack_us = ack;
            records[batch[k]].event_id = to_int(PQgetvalue(r.r, static_cast<int>(k), 0));
        }
    }
}

void sql_worker(const bench_options& opt, const std::string& dsn, const std::string& table,
                std::atomic<std::size_t>& completed, std::atomic<std::int64_t>& last_us,
                first_error& err) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return err.set(conn.message());
    auto e = prepare(*conn, "claim",
                     "WITH c AS (SELECT event_id FROM " + table +
                         " WHERE status = 'pending' ORDER BY priority DESC, event_id LIMIT $1 "
                         "FOR UPDATE SKIP LOCKED) "
                         "UPDATE " +
                         table +
                         " AS t SET status = 'processing', "
                         "processed_at = clock_timestamp() FROM c WHERE t.event_id = c.event_id "
                         "RETURNING t.event_id, t.event_type, t.event_source, t.event_data",
                     1);
    if (e.empty()) {
        e = prepare(*conn, "done",
                    "UPDATE " + table +
                        " SET status = 'completed', completed_at = "
                        "clock_timestamp() WHERE event_id = ANY($1::bigint[])",
                    1);
    }
    if (!e.empty()) return err.set(e);
    const std::string batch = std::to_string(opt.sql_claim_batch);
    auto until = steady::now() + std::chrono::seconds(opt.timeout_s);
    std::string ids;
    while (completed.load(std::memory_order_relaxed) < opt.events && !err.failed()) {
        if (steady::now() > until) return err.set("sql-queue: timed out");
        const char* claim_args[1] = {batch.c_str()};
        pq_result r(PQexecPrepared(conn->raw(), "claim", 1, claim_args, nullptr, nullptr, 0));
        if (!r.ok()) return err.set(std::string("claim: ") + PQerrorMessage(conn->raw()));
        int n = PQntuples(r.r);
        if (n == 0) {
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
            continue;
        }
        ids = "{";
        for (int row = 0; row < n; ++row) {  // the noop handler: look at the event, succeed
            if (row) ids += ',';
            ids += PQgetvalue(r.r, row, 0);
        }
        ids += '}';
        const char* done_args[1] = {ids.c_str()};
        pq_result d(PQexecPrepared(conn->raw(), "done", 1, done_args, nullptr, nullptr, 0));
        if (!d.ok()) return err.set(std::string("complete: ") + PQerrorMessage(conn->raw()));
        std::int64_t now = wall_us();
        completed.fetch_add(static_cast<std::size_t>(n), std::memory_order_relaxed);
        std::int64_t prev = last_us.load(std::memory_order_relaxed);
        while (now > prev && !last_us.compare_exchange_weak(prev, now)) {
        }
    }
}

status create_table(const std::string& dsn, const std::string& schema, const std::string& name,
                    bool serial_id, bool queue_indexes, std::string& qualified) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.error();
    qualified = conn->quote_identifier(schema) + "." + conn->quote_identifier(name);
    std::string sql = "CREATE SCHEMA IF NOT EXISTS " + conn->quote_identifier(schema) +
                      "; DROP TABLE IF EXISTS " + qualified + "; " +
                      events_table_ddl(qualified, serial_id);
    if (queue_indexes) {
        sql += "; CREATE INDEX ON " + qualified +
               " (priority DESC, event_id) WHERE status = 'pending'; CREATE INDEX ON " + qualified +
               " (event_id) WHERE status IN ('pending', 'processing')";
    }
    return conn->exec(sql);
}

}  // namespace

std::string events_table_ddl(const std::string& t, bool serial_id) {
    return "CREATE TABLE " + t + " (event_id " + (serial_id ? "bigserial" : "bigint") +
           " PRIMARY KEY, event_type text NOT NULL, event_source text NOT NULL DEFAULT '', "
           "event_data jsonb NOT NULL DEFAULT '{}'::jsonb, status text NOT NULL DEFAULT "
           "'pending' CHECK (status IN ('pending', 'processing', 'completed', 'failed', "
           "'cancelled')), priority smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 1 AND "
           "10), created_at timestamptz NOT NULL DEFAULT now(), processed_at timestamptz, "
           "completed_at timestamptz, error_message text, retry_count int NOT NULL DEFAULT 0)";
}

baseline_result run_sql_queue(const bench_options& opt, const std::string& dsn,
                              const std::string& schema, std::size_t insert_batch) {
    baseline_result out;
    const bool batched = insert_batch > 1;
    out.name = batched ? "sql-queue batched" : "sql-queue";
    out.table = batched ? "sqlqb_events" : "sqlq_events";
    out.events = opt.events;
    std::string table;
    if (auto s = create_table(dsn, schema, out.table, true, true, table); !s.ok()) {
        out.error = s.message();
        return out;
    }
    out.records.resize(opt.events);
    first_error err;
    std::atomic<std::size_t> completed{0};
    std::atomic<std::int64_t> last_done{0};
    std::vector<std::thread> threads;
    std::int64_t start = wall_us();
    for (int w = 0; w < opt.sql_workers; ++w) {
        threads.emplace_back([&] { sql_worker(opt, dsn, table, completed, last_done, err); });
    }
    std::vector<std::thread> producers;
    for (int p = 0; p < opt.producers; ++p) {
        producers.emplace_back(
            [&, p] { sql_producer(opt, dsn, table, p, insert_batch, out.records, err); });
    }
    for (auto& t : producers) t.join();
    std::int64_t last_ack = 0;
    for (const auto& r : out.records) last_ack = std::max(last_ack, r.ack_us);
    for (auto& t : threads) t.join();
    out.error = err.get();
    out.ingest_s = (last_ack - start) / 1e6;
    out.e2e_s = (last_done.load() - start) / 1e6;
    return out;
}

namespace {

// One COPY stream of the rows i with i % streams == stream, on its own connection, in one
// transaction; an error text, empty on success.
std::string copy_stream(const bench_options& opt, const std::string& dsn, const std::string& table,
                        std::size_t stream, std::size_t streams) {
    auto conn = pg::connection::open(dsn);
    if (!conn.ok()) return conn.message();
    PGconn* c = conn->raw();
    pq_result begin(PQexec(c, ("COPY " + table + " FROM STDIN").c_str()));
    if (PQresultStatus(begin.r) != PGRES_COPY_IN) return std::string("COPY: ") + PQerrorMessage(c);
    std::string buf;
    const std::size_t flush_at = 256 * 1024;
    for (std::size_t i = stream; i < opt.events; i += streams) {
        std::int64_t now = wall_us();
        buf += std::to_string(i + 1);
        buf += "\tnoop\tbench:0\t";
        pg::append_copy_text(buf, event_data_json(i, opt.payload_bytes));
        buf += "\tcompleted\t";
        buf += std::to_string(priority_of(opt.priorities, i));
        for (int k = 0; k < 3; ++k) {
            buf += '\t';
            pg::append_timestamp(buf, now);
        }
        buf += "\t\\N\t0\n";
        if (buf.size() >= flush_at || i + streams >= opt.events) {
            if (PQputCopyData(c, buf.data(), static_cast<int>(buf.size())) != 1) {
                return std::string("COPY data: ") + PQerrorMessage(c);
            }
            buf.clear();
        }
    }
    if (PQputCopyEnd(c, nullptr) != 1) return std::string("COPY end: ") + PQerrorMessage(c);
    std::string error;
    for (PGresult* r; (r = PQgetResult(c)) != nullptr;) {
        pq_result res(r);
        if (!res.ok()) error = std::string("COPY: ") + PQerrorMessage(c);
    }
    return error;
}

}  // namespace

baseline_result run_copy_limit(const bench_options& opt, const std::string& dsn,
                               const std::string& schema, std::size_t streams) {
    baseline_result out;
    out.name = streams > 1 ? "copy-limit " + std::to_string(streams) + " streams" : "copy-limit";
    out.table = streams > 1 ? "copy" + std::to_string(streams) + "_events" : "copy_events";
    out.events = opt.events;
    std::string table;
    if (auto s = create_table(dsn, schema, out.table, false, false, table); !s.ok()) {
        out.error = s.message();
        return out;
    }
    std::vector<std::string> errors(streams);
    std::vector<std::thread> threads;
    std::int64_t start = wall_us();
    for (std::size_t k = 0; k < streams; ++k) {
        threads.emplace_back([&, k] { errors[k] = copy_stream(opt, dsn, table, k, streams); });
    }
    for (auto& t : threads) t.join();
    out.ingest_s = out.e2e_s = (wall_us() - start) / 1e6;
    for (const std::string& e : errors) {
        if (out.error.empty()) out.error = e;
    }
    return out;
}

}  // namespace pubsub::bench
