// baselines: what pubsubd is compared with, on the same PostgreSQL in the same run.
//
// sql-queue: the design being replaced, done well. P producer connections each INSERT one row
//   per event (autocommit: one commit per event, like a durable ack), while W worker threads
//   claim batches with `FOR UPDATE SKIP LOCKED` (highest priority first), mark them
//   `processing` (commit), run the noop handler, and mark them `completed` (commit). Table
//   shaped like tpubsub_events with the claim index (priority DESC, event_id) WHERE pending and
//   the same open-rows index. End to end stops when the last `completed` commit returns.
//   The batched variant (insert_batch > 1) inserts that many rows per INSERT, one commit per
//   batch, every row acknowledged when its batch commits: durable acks like pubsubd's, whose
//   producers pipeline; the one-row variant is what a plain client of a SQL queue does.
// copy-limit: one COPY of N event-shaped rows (final state, every column filled) into a table
//   with tpubsub_events' columns and primary key, in one transaction: the physical limit of
//   writing one row per event on this PostgreSQL, for one backend; and again with 2 COPYs.
// Both run as fast as possible (no pacing), create their table in `schema` and leave it there
// (the caller drops the schema). Blocking; each uses its own connections and threads.
#pragma once

#include <string>
#include <vector>

#include "bench/pubsub_bench/bench_common.h"

namespace pubsub::bench {

struct baseline_result {
    std::string name;
    std::string table;  // where its rows are (sql-queue)
    std::string error;  // empty when it ran
    std::size_t events = 0;
    double ingest_s = 0;  // first send to last insert committed (sql-queue), COPY time (copy)
    double e2e_s = 0;     // first send to last completed committed
    std::vector<event_record> records;  // sql-queue only: per-event times (for latencies)
};

baseline_result run_sql_queue(const bench_options& opt, const std::string& dsn,
                              const std::string& schema, std::size_t insert_batch);
// streams > 1: that many COPYs at once, each of every streams-th row on its own connection
// (one backend each), timed from the first start to the last commit.
baseline_result run_copy_limit(const bench_options& opt, const std::string& dsn,
                               const std::string& schema, std::size_t streams);

// DDL of a table with tpubsub_events' columns (SPEC 2) under schema.name (quoted identifiers).
std::string events_table_ddl(const std::string& qualified_name, bool serial_id);

}  // namespace pubsub::bench
