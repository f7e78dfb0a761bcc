// The write-behind's chunk rows (storage/event_chunks.h): the summary of the events a batch
// writes for the first time, inserted by the same transaction as their rows, on the writer
// thread (write_behind_lane.h).
#include <charconv>

#include "storage/event_chunks.h"
#include "storage/write_behind_lane.h"

namespace pubsub {

namespace {

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

}  // namespace

// A row is summarised on its first write by this node: a new row (inserted here), and an
// existing row this node never wrote (an event created by SQL and claimed, whose row no writer
// summarised; also one resumed or taken over, which gets a second, overlapping chunk: readers
// merge them). A duplicate of an idempotency key is not written, so not summarised.
void write_behind::lane::encode_chunks(std::span<const pending_row> rows) {
    chunk_sql.clear();
    std::vector<chunk_input> in;
    for (const auto& row : rows) {
        if (row.duplicate_of != 0 || persisted_seq(*row.ev) != 0) continue;
        if (in.empty()) in.reserve(rows.size());
        const event& ev = *row.ev;
        in.push_back({ev.id, ev.type, ev.source, ev.created_us});
    }
    if (in.empty()) return;
    // An INSERT sent with the statement that commits costs no round trip of its own (a COPY
    // would cost two: its start and its end). Values are numbers, timestamps and hex digits
    // only, so they need no quoting.
    chunk_sql += "INSERT INTO ";  // appended: the buffer keeps its capacity across batches
    chunk_sql += quoted_schema;
    chunk_sql +=
        ".tpubsub_event_chunks (first_id, last_id, min_created, max_created, n_events, "
        "values_bloom) VALUES ";
    static constexpr char hex[] = "0123456789abcdef";
    bool first = true;
    for (const event_chunk& c : build_chunks(std::move(in))) {
        chunk_sql += first ? "(" : ",(";
        first = false;
        append_int(chunk_sql, c.first_id);
        chunk_sql += ',';
        append_int(chunk_sql, c.last_id);
        chunk_sql += ",'";
        pg::append_timestamp(chunk_sql, c.min_created_us);
        chunk_sql += "'::timestamptz,'";
        pg::append_timestamp(chunk_sql, c.max_created_us);
        chunk_sql += "'::timestamptz,";
        append_int(chunk_sql, c.n_events);
        if (c.bloom.empty()) {
            chunk_sql += ",NULL)";
            continue;
        }
        chunk_sql += ",decode('";
        // Written in place: 2 KiB of digits per chunk, a few instructions per byte.
        const std::size_t at = chunk_sql.size();
        chunk_sql.resize(at + 2 * c.bloom.size());
        char* out = chunk_sql.data() + at;
        for (char ch : c.bloom) {
            const auto u = static_cast<unsigned char>(ch);
            *out++ = hex[u >> 4];
            *out++ = hex[u & 15];
        }
        chunk_sql += "','hex'))";
    }
    chunk_sql += "; ";
}

status write_behind::lane::commit_with_chunks(const std::string& tail) {
    if (chunk_sql.empty()) return conn->exec(tail);
    chunk_sql += tail;
    return conn->exec(chunk_sql);
}

}  // namespace pubsub
