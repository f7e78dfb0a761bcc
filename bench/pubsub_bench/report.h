// report: percentiles, the printed table and the --json object of one pubsub-bench run.
// Plain values and pure functions; not thread-safe (nothing shared).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "bench/pubsub_bench/bench_common.h"

namespace pubsub::bench {

struct latency_stats {
    // Below this many samples p99.9 is a handful of points, so it is not reported (the table
    // prints "-", the JSON leaves p99_9 out).
    static constexpr std::size_t p999_min_samples = 100000;
    std::size_t n = 0;
    double p50 = 0, p90 = 0, p99 = 0, p999 = 0, max = 0;  // microseconds
    bool has_p999() const { return n >= p999_min_samples; }
};

// Sorts `us` in place. Negative values are kept (they show clock trouble, not hidden).
latency_stats summarize(std::vector<std::int64_t>& us);

struct named_latency {
    std::string name;  // "send->ack", "send->handler start", ...
    latency_stats s;
};

struct rate_line {
    std::string name;  // "pubsub end-to-end", "sql-queue end-to-end", ...
    double per_s = 0;
    double seconds = 0;
    std::string note;  // error, or ratio text
};

struct bench_report {
    std::string config_text;   // one line describing the run
    std::string machine_text;  // nproc, CPU, PostgreSQL
    std::vector<rate_line> rates;
    std::vector<named_latency> latencies;
    std::vector<std::pair<std::string, double>> ratios;      // "end_to_end_vs_sql_queue", 12.3
    std::vector<std::pair<std::string, std::string>> facts;  // other figures, already formatted
    std::vector<std::string> errors;
    std::string json;  // the --json object, filled by make_json()
};

std::string format_table(const bench_report& r);

// A minimal ordered JSON object builder (values are numbers, strings, raw JSON).
class json_object {
  public:
    json_object& num(const std::string& k, double v);
    json_object& str(const std::string& k, const std::string& v);
    json_object& raw(const std::string& k, const std::string& json);
    std::string done() const { return body_ + "}"; }

  private:
    void key(const std::string& k);
    std::string body_ = "{";
};

std::string latency_json(const latency_stats& s);

// send->ack, send->handler start, the daemon's share (below) and, when paced, the client's
// pacing lag of the records with an event id, into the table (names after prefix) and j.
void add_latencies(bench_report& rep, json_object& j, const std::string& prefix,
                   const std::vector<event_record>& recs, bool paced);

// send -> intake (the line in pubsubd: kernel, socket, parse) and intake -> handler start
// (pubsubd's own share: routing, queues, dispatch) beside the client-observed figure; nothing
// when `daemon` is empty. Sorts both.
void add_daemon_share(bench_report& rep, json_object& j, const std::string& prefix,
                      std::vector<std::int64_t>& intake, std::vector<std::int64_t>& daemon);

// nproc, CPU model and the PostgreSQL version, as one line and as JSON.
struct machine_info {
    long nproc = 0;
    std::string cpu;
    std::string pg_version;
    double load1 = 0;
};
machine_info read_machine(const std::string& pg_version);

}  // namespace pubsub::bench
