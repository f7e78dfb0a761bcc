#include "storage/row_batch.h"

#include <algorithm>
#include <charconv>

#include "router/memory_budget.h"
#include "storage/pg.h"

namespace pubsub {

void row_batch::add(transition&& t, std::int64_t now, durable_callback& ready_ack) {
    const event& ev = *t.ev;
    if (t.seq <= persisted_seq(ev)) {  // already committed by a newer transition
        if (t.on_durable) ready_ack = std::move(t.on_durable);
        if (t.status == event_status::pending && !ev.from_table) {
            ++stale_pending_;
            stale_pending_bytes_ += approx_bytes(ev);
        }
        return;
    }
    auto [it, inserted] = rows_.try_emplace(ev.id);
    pending_row& row = it->second;
    if (inserted) {
        row.ev = t.ev;
        row.first_seen_us = now;
        if (oldest_us_ == 0) oldest_us_ = now;
    }
    if (t.on_durable) row.acks.push_back(std::move(t.on_durable));
    if (t.status == event_status::pending && !ev.from_table) row.has_pending = true;
    if (t.status == event_status::processing) row.processed_us = t.at_us;
    if (t.status == event_status::completed || t.status == event_status::failed ||
        t.status == event_status::cancelled) {
        row.completed_us = t.at_us;
    }
    if (t.seq > row.seq) {
        row.seq = t.seq;
        row.status = t.status;
        row.retry_count = t.retry_count;
        row.error = std::move(t.error);
    }
}

std::vector<pending_row> row_batch::take(std::size_t max) {
    std::vector<pending_row> out;
    out.reserve(std::min(max, rows_.size()));
    auto it = rows_.begin();
    while (it != rows_.end() && out.size() < max) {
        out.push_back(std::move(it->second));
        it = rows_.erase(it);
    }
    oldest_us_ = 0;
    for (const auto& [id, row] : rows_) note_seen(row.first_seen_us);
    note_seen(deliveries_since_us_);
    return out;
}

void row_batch::note_seen(std::int64_t first_seen_us) {
    if (first_seen_us == 0) return;
    if (oldest_us_ == 0 || first_seen_us < oldest_us_) oldest_us_ = first_seen_us;
}

void row_batch::add_delivery(delivery_record&& r, std::int64_t now) {
    auto [it, inserted] = deliveries_.try_emplace({r.event, r.subscriber_id});
    if (inserted || r.version > it->second.version) it->second = std::move(r);
    if (deliveries_since_us_ == 0) deliveries_since_us_ = now;
    note_seen(now);
}

std::vector<delivery_record> row_batch::take_deliveries() {
    std::vector<delivery_record> out;
    out.reserve(deliveries_.size());
    for (auto& [key, r] : deliveries_) out.push_back(std::move(r));
    deliveries_.clear();
    deliveries_since_us_ = 0;
    oldest_us_ = 0;
    for (const auto& [id, row] : rows_) note_seen(row.first_seen_us);
    return out;
}

void row_batch::restore_deliveries(std::vector<delivery_record>&& rows) {
    std::int64_t now = now_us();
    for (auto& r : rows) {
        auto [it, inserted] = deliveries_.try_emplace({r.event, r.subscriber_id});
        if (inserted || r.version > it->second.version) it->second = std::move(r);
    }
    if (!deliveries_.empty() && deliveries_since_us_ == 0) deliveries_since_us_ = now;
    note_seen(deliveries_since_us_);
}

void row_batch::merge(pending_row& into, pending_row&& from) {
    // `from` is older (it was taken before `into` was added).
    for (auto& ack : from.acks) into.acks.push_back(std::move(ack));
    into.has_pending = into.has_pending || from.has_pending;
    if (into.processed_us == 0) into.processed_us = from.processed_us;
    if (into.completed_us == 0) into.completed_us = from.completed_us;
    if (from.seq > into.seq) {
        into.seq = from.seq;
        into.status = from.status;
        into.retry_count = from.retry_count;
        into.error = std::move(from.error);
    }
    into.first_seen_us = std::min(into.first_seen_us, from.first_seen_us);
}

void row_batch::restore(std::vector<pending_row>&& rows) {
    for (auto& row : rows) {
        auto [it, inserted] = rows_.try_emplace(row.ev->id);
        if (inserted) {
            it->second = std::move(row);
        } else {
            merge(it->second, std::move(row));
        }
        note_seen(it->second.first_seen_us);
    }
}

namespace {

void append_int(std::string& out, std::int64_t v) {
    char buf[24];
    auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

// Empty text is written as NULL (error_message, last_error).
void append_text_or_null(std::string& out, std::string_view text) {
    if (text.empty()) {
        out += "\\N";
    } else {
        pg::append_copy_text(out, text);
    }
}

void append_ts_or_null(std::string& out, std::int64_t us) {
    if (us == 0) {
        out += "\\N";
    } else {
        pg::append_timestamp(out, us);
    }
}

}  // namespace

namespace {

bool is_final(event_status s) {
    return s == event_status::completed || s == event_status::failed ||
           s == event_status::cancelled;
}

// One COPY line. Stage columns: event_id, is_new, event_type, event_source, event_data,
// status, priority, created_at, processed_at, completed_at, error_message, retry_count, run_at.
// Events columns (direct insert of a new row): the same without is_new, plus claimed_by.
void encode_row(const pending_row& row, bool for_stage, std::string_view node, std::string& out) {
    const event& ev = *row.ev;
    const bool is_new = row.is_new();
    append_int(out, ev.id);
    if (for_stage) out += is_new ? "\tt" : "\tf";
    out += '\t';
    if (is_new) {
        pg::append_copy_text(out, ev.type);
        out += '\t';
        pg::append_copy_text(out, ev.source);
        out += '\t';
        pg::append_copy_text(out, ev.data_json);
    } else {
        out += "\\N\t\\N\t\\N";
    }
    out += '\t';
    out += to_string(row.status);
    out += '\t';
    append_int(out, ev.priority);
    out += '\t';
    append_ts_or_null(out, is_new ? ev.created_us : 0);
    out += '\t';
    const bool final_state = is_final(row.status);
    // A new row that went straight to a final state (no subscriber) was processed when it
    // completed: keep created_at <= processed_at <= completed_at true for every row.
    std::int64_t processed = row.processed_us;
    if (processed == 0 && is_new && final_state) processed = row.completed_us;
    append_ts_or_null(out, processed);
    out += '\t';
    append_ts_or_null(out, final_state ? row.completed_us : 0);
    out += '\t';
    append_text_or_null(out, row.error);
    out += '\t';
    append_int(out, row.retry_count);
    out += '\t';
    append_ts_or_null(out, is_new ? ev.run_at_us : 0);
    if (!for_stage) {
        out += '\t';
        pg::append_copy_text(out, node);
    }
    out += '\n';
}

}  // namespace

void encode_stage_rows(std::span<const pending_row> rows, std::string& out) {
    for (const auto& row : rows) {
        if (row.duplicate_of == 0) encode_row(row, true, {}, out);
    }
}

std::size_t encode_split_rows(std::span<const pending_row> rows, std::string_view node_id,
                              std::string& new_rows, std::string& existing_rows) {
    std::size_t n = 0;
    for (const auto& row : rows) {
        if (row.duplicate_of != 0) continue;
        if (row.is_new()) {
            encode_row(row, false, node_id, new_rows);
            ++n;
        } else {
            encode_row(row, true, {}, existing_rows);
        }
    }
    return n;
}

std::string events_copy_sql(const std::string& s) {
    return "COPY " + s +
           ".tpubsub_events (event_id, event_type, event_source, event_data, "
           "status, priority, created_at, processed_at, completed_at, error_message, "
           "retry_count, run_at, claimed_by) FROM STDIN";
}

std::string stage_table_sql() {
    return "CREATE TEMP TABLE IF NOT EXISTS pubsub_stage ("
           "event_id bigint, is_new bool, event_type text, event_source text, event_data jsonb, "
           "status text, priority smallint, created_at timestamptz, processed_at timestamptz, "
           "completed_at timestamptz, error_message text, retry_count int, run_at timestamptz) "
           "ON COMMIT DELETE ROWS; "
           // The merge's UPDATE joins the stage to tpubsub_events by event_id. The stage never
           // has statistics, and a new events table has stale ones, so PostgreSQL may read the
           // events in the id range and scan the whole stage for each of them (a nested loop:
           // 12 s for a batch of 16,000 outcomes in the keyed bench). With this index, and
           // sequential scans off for the merge's UPDATE (merge_sql), every such loop is a probe.
           "CREATE INDEX IF NOT EXISTS pubsub_stage_event_id ON pg_temp.pubsub_stage (event_id)";
}

std::string stage_copy_sql() { return "COPY pg_temp.pubsub_stage FROM STDIN"; }

std::string merge_sql(const std::string& s, const std::string& node) {
    return "INSERT INTO " + s +
           ".tpubsub_events AS e (event_id, event_type, event_source, "
           "event_data, status, priority, created_at, processed_at, completed_at, "
           "error_message, retry_count, run_at, claimed_by) "
           "SELECT event_id, event_type, event_source, event_data, status, priority, "
           "created_at, processed_at, completed_at, error_message, retry_count, run_at, " +
           node +
           " "
           "FROM pg_temp.pubsub_stage WHERE is_new "
           "ON CONFLICT (event_id) DO UPDATE SET status = EXCLUDED.status, "
           "processed_at = coalesce(EXCLUDED.processed_at, e.processed_at), "
           "completed_at = coalesce(EXCLUDED.completed_at, e.completed_at), "
           "error_message = coalesce(EXCLUDED.error_message, e.error_message), "
           "retry_count = EXCLUDED.retry_count WHERE e.status <> 'cancelled' AND e.claimed_by = " +
           node +
           "; "
           // Only for this transaction's UPDATE (and what follows it before COMMIT): see the
           // index of stage_table_sql; with sequential scans off, the join probes one side by
           // its index whatever the planner believes of the row counts.
           "SET LOCAL enable_seqscan = off; "
           "UPDATE " +
           s +
           ".tpubsub_events AS e SET status = st.status, "
           "processed_at = coalesce(st.processed_at, e.processed_at, st.completed_at), "
           "completed_at = coalesce(st.completed_at, e.completed_at), "
           "error_message = coalesce(st.error_message, e.error_message), "
           "retry_count = st.retry_count "
           "FROM pg_temp.pubsub_stage st WHERE NOT st.is_new AND e.event_id = st.event_id "
           "AND e.status <> 'cancelled' AND e.claimed_by = " +
           node;
}

std::string existing_rows_range(std::span<const pending_row> rows) {
    event_id lo = 0, hi = 0;
    for (const auto& row : rows) {
        if (row.duplicate_of != 0 || row.is_new()) continue;
        const event_id id = row.ev->id;
        if (lo == 0 || id < lo) lo = id;
        if (id > hi) hi = id;
    }
    if (lo == 0) return {};
    return " AND e.event_id BETWEEN " + std::to_string(lo) + " AND " + std::to_string(hi);
}

void encode_delivery_rows(const std::vector<delivery_record>& rows, std::string& out) {
    for (const auto& r : rows) {
        append_int(out, r.event);
        out += '\t';
        append_int(out, r.subscriber_id);
        out += '\t';
        pg::append_copy_text(out, r.subscriber_name);
        out += '\t';
        out += to_string(r.status);
        out += '\t';
        append_int(out, r.attempts);
        out += '\t';
        append_int(out, r.retry_base);
        out += '\t';
        append_text_or_null(out, r.last_error);
        out += '\t';
        append_ts_or_null(out, r.next_attempt_us);
        out += '\t';
        append_ts_or_null(out, r.started_us);
        out += '\t';
        append_ts_or_null(out, r.finished_us);
        out += '\t';
        append_int(out, r.version);
        out += '\n';
    }
}

namespace {
constexpr const char* delivery_columns =
    "event_id, subscriber_id, subscriber_name, status, attempts, retry_base, last_error, "
    "next_attempt_at, started_at, finished_at, version";
}  // namespace

std::string delivery_stage_table_sql() {
    return "CREATE TEMP TABLE IF NOT EXISTS pubsub_dstage (event_id bigint, subscriber_id bigint, "
           "subscriber_name text, status text, attempts int, retry_base int, last_error text, "
           "next_attempt_at timestamptz, started_at timestamptz, finished_at timestamptz, "
           "version int) ON COMMIT DELETE ROWS";
}

std::string delivery_stage_copy_sql() { return "COPY pg_temp.pubsub_dstage FROM STDIN"; }

std::string delivery_merge_sql(const std::string& s, const std::string& node) {
    return "INSERT INTO " + s + ".tpubsub_deliveries AS d (" + delivery_columns + ") SELECT " +
           delivery_columns + " FROM pg_temp.pubsub_dstage st WHERE NOT EXISTS (SELECT 1 FROM " +
           s +
           ".tpubsub_events e WHERE e.event_id = st.event_id AND (e.status = 'cancelled' OR "
           "e.claimed_by IS DISTINCT FROM " +
           node +
           ")) "
           "ON CONFLICT (event_id, subscriber_id) DO UPDATE SET "
           "subscriber_name = EXCLUDED.subscriber_name, status = EXCLUDED.status, "
           "attempts = EXCLUDED.attempts, retry_base = EXCLUDED.retry_base, "
           "last_error = coalesce(EXCLUDED.last_error, d.last_error), "
           "next_attempt_at = EXCLUDED.next_attempt_at, "
           "started_at = coalesce(EXCLUDED.started_at, d.started_at), "
           "finished_at = coalesce(EXCLUDED.finished_at, d.finished_at), "
           "version = EXCLUDED.version "
           "WHERE d.version < EXCLUDED.version AND d.status <> 'cancelled'";
}

}  // namespace pubsub
