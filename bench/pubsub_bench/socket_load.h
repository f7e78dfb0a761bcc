// socket_load: P producers over pubsubd's Unix-socket door, pipelined, at a fixed offered rate
// or as fast as possible (SPEC 3.1). Each producer owns one connection, a writer thread and a
// reader thread: the writer keeps at most `window` lines unanswered, the reader matches replies
// to lines by order (the door answers in order) and stamps ack times.
//
// Pacing: with rate R in total, line k of producer p is due at t0 + (k * P + p) / R; the writer
// sleeps until the next line is due (timer slack 1 ns, so the sleep ends on time without
// spinning) and sends every line already due in one write(). send_us
// is taken just before that write(); intended_us is the schedule slot, so the client's own lag
// (pacing_lag = send - intended) is visible apart from the daemon's latency.
// Blocks the caller until every line is answered, the peer closes, or timeout.
#pragma once

#include <string>
#include <vector>

#include "bench/pubsub_bench/bench_common.h"
#include "bench/pubsub_bench/producers.h"  // the lines' SPEC 7.2 fields; main.cc uses it too

namespace pubsub::bench {

struct socket_load_result {
    std::vector<event_record> records;  // one per line, in global index order
    std::size_t ok = 0;
    std::size_t errors = 0;
    std::string first_error;  // first error reply or connection failure
    std::int64_t first_send_us = 0;
    std::int64_t last_ack_us = 0;
};

// A connected blocking Unix stream socket (close-on-exec), or -1 with `error` set.
int connect_unix(const std::string& path, std::string& error);

// Event type of every line (the noop subscriber's event_type).
inline constexpr const char* bench_event_type = "noop";

socket_load_result run_socket_load(const bench_options& opt, const std::string& socket_path);

// Priority of global line i under the weighted mix (deterministic, interleaved).
int priority_of(const std::vector<priority_weight>& mix, std::size_t i);

// The event_data object of line i, about payload_bytes long (shared with the baselines).
std::string event_data_json(std::size_t i, std::size_t payload_bytes);

}  // namespace pubsub::bench
