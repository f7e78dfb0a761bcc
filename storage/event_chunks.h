// event_chunks: the summary rows of tpubsub_event_chunks (sql/016_event_chunks.sql), built by
// the writers of events and read by searches and the pruner.
//
// A chunk covers up to chunk_max_events events that one writer inserted together, in event_id
// order: their id range, their created_at range, and a Bloom filter over their types and
// sources. The filter holds each value exactly and each of its prefixes up to
// chunk_prefix_max bytes, so an exact value and a prefix glob (`import.*`) can both be tested
// without reading the events. A reader turns its condition into bit positions
// (bloom_bits_for_like) and keeps the chunks whose filter has all of them set
// (`get_bit(values_bloom, n) = 1` in SQL: bit n is bit n % 8, least significant first, of
// byte n / 8, as PostgreSQL numbers them). False positives cost a read of a chunk's range;
// there are no false negatives.
//
// Pure functions (thread-safe), except summarize_events, which uses the caller's connection.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "router/event.h"
#include "storage/pg.h"

namespace pubsub {

inline constexpr int chunk_max_events = 256;
// A gap larger than this between consecutive ids of one writer starts a new chunk, so that a
// chunk never spans another node's block of ids.
inline constexpr event_id chunk_max_id_gap = 1024;
// A chunk spans at most this much created_at, so that the pruner, which removes events by
// their chunk's newest time, and time-ranged searches stay close to each event's own time
// (a writer's batch spans milliseconds; rows loaded by other means may not).
inline constexpr std::int64_t chunk_max_span_us = 60'000'000;
inline constexpr int chunk_bloom_bits = 8192;  // 1 KiB per chunk
inline constexpr int chunk_bloom_hashes = 4;
inline constexpr std::size_t chunk_prefix_max = 24;
// A chunk whose values add more entries than this gets no filter (always read): past it the
// filter would answer "maybe" for nearly everything anyway.
inline constexpr int chunk_bloom_max_entries = 2000;

// One event as a chunk sees it.
struct chunk_input {
    event_id id = 0;
    std::string_view type, source;
    std::int64_t created_us = 0;  // microseconds since the Unix epoch
};

struct event_chunk {
    event_id first_id = 0, last_id = 0;
    std::int64_t min_created_us = 0, max_created_us = 0;
    int n_events = 0;
    std::string bloom;  // chunk_bloom_bits / 8 bytes; empty: no filter (NULL)
};

// Sorts `rows` by id and cuts them into chunks (at chunk_max_events rows, an id gap past
// chunk_max_id_gap, or a created_at span past chunk_max_span_us). Rows with the same id are
// summarised once.
std::vector<event_chunk> build_chunks(std::vector<chunk_input> rows);

// COPY text rows for chunks_copy_sql(), one line per chunk.
void encode_chunk_rows(const std::vector<event_chunk>& chunks, std::string& out);
std::string chunks_copy_sql(const std::string& quoted_schema);

enum class chunk_field { type, source };

// The bit positions a chunk's filter has set when one of its events has `field` equal to
// `value`.
std::vector<int> bloom_bits_exact(chunk_field field, std::string_view value);
// The bit positions set when a value of `field` starts with `prefix` (taken to its first
// chunk_prefix_max bytes). Empty for an empty prefix: no condition.
std::vector<int> bloom_bits_prefix(chunk_field field, std::string_view prefix);
// For a LIKE pattern as event_filter holds it (`\` escapes): exact bits when it has no
// wildcard, else the bits of the literal prefix before its first wildcard (empty when it starts
// with one: the pattern cannot narrow the chunks).
std::vector<int> bloom_bits_for_like(chunk_field field, std::string_view like);

// Summarises the events with ids in [from, to] as chunks (reading them in id order, in pages),
// for events inserted by other means than pubsubd's writers (a bulk load, a benchmark's fill).
// Chunks that exist already for these ids are kept: ranges may overlap.
status summarize_events(pg::connection& c, const std::string& schema, event_id from, event_id to);

// Summarises the events with ids in (after, highest chunk's last_id] that no chunk covers
// (rows inserted by other means than pubsubd's writers, below newer summarised events, which
// searches and the pruner would otherwise never see), and returns that last_id: the next call
// starts there. Reads the chunks' ranges and only the uncovered id ranges of the table.
result<event_id> summarize_gaps(pg::connection& c, const std::string& schema, event_id after);

}  // namespace pubsub
