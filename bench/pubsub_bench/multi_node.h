// multi_node: pubsub-bench's several-routers mode. Runs 1..N pubsubd on one database and schema
// and reports end-to-end events/s for each count (durable acks, the load split evenly over the
// nodes' sockets, ended when the table shows every event completed), then the failover time:
// kill -9 of one node of N (N >= 2) with --node-dead-after 1, timed from the kill to the start
// of the last orphaned delivery on a survivor, repeated to give p50/p99.
//
// The failover witness is the handler itself: a script that appends "<wall ns> <event id>" to a
// file (one short O_APPEND write per start), read by the bench; no daemon counter is used.
// Single-threaded apart from one load thread per node. Every daemon is gone before return (the
// throughput runs stop theirs with SIGTERM, the failover runs kill theirs).
#pragma once

#include "bench/pubsub_bench/bench_common.h"

namespace pubsub::bench {

struct multi_node_options {
    int max_nodes = 3;        // throughput for 1..max_nodes nodes
    int failover_runs = 5;    // kill -9 repetitions (0: none)
    int failover_nodes = 2;   // nodes in each failover run, one of which is killed
    int failover_events = 8;  // deliveries running on the victim at the kill
};

// Prints the report (table, or one JSON object with opt.json); 0 when nothing failed.
int run_multi_node(const bench_options& opt, const multi_node_options& mo);

}  // namespace pubsub::bench
