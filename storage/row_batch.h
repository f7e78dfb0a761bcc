// row_batch: the write-behind's coalescing buffer, and the COPY encoding of a batch.
//
// Holds at most one pending_row per event id; add() merges each transition into it (the highest
// seq decides status, timestamps are kept from every transition), so a batch writes one row per
// event whatever the number of its transitions. Delivery records (router/delivery.h) are held
// the same way, one per (event, subscriber), the highest version winning. Not thread-safe:
// owned by the writer thread.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "router/delivery.h"
#include "router/transition_log.h"
#include "storage/row_state.h"

namespace pubsub {

struct pending_row {
    event_ptr ev;
    std::uint32_t seq = 0;  // highest seq merged; 0 = only acks, no state change
    event_status status = event_status::pending;
    std::int64_t processed_us = 0;
    std::int64_t completed_us = 0;
    int retry_count = 0;
    std::string error;
    std::vector<durable_callback> acks;
    std::int64_t first_seen_us = 0;
    bool has_pending = false;  // the event's `pending` transition is merged here
    // Set inside a write's transaction (storage/idempotency_keys.h): the event's key is held by
    // this other event, so the row is not written. Meaningful only once that write commits.
    event_id duplicate_of = 0;

    // The row must be inserted (not only updated) when it was never committed.
    bool is_new() const { return persisted_seq(*ev) == 0 && !ev->from_table; }
};

class row_batch {
  public:
    // Merges t. A transition older than what is already committed changes nothing; its ack (if
    // any) is returned through `ready_ack` to be called at once, since its row is durable.
    void add(transition&& t, std::int64_t now, durable_callback& ready_ack);

    // Moves up to max rows out of the batch (oldest insertion order is not guaranteed).
    std::vector<pending_row> take(std::size_t max);
    // Puts rows back after a failed write, merging with anything added meanwhile.
    void restore(std::vector<pending_row>&& rows);

    // Delivery records: add keeps the highest version per (event, subscriber); take_deliveries
    // moves all of them out; restore_deliveries puts them back after a failed write.
    void add_delivery(delivery_record&& r, std::int64_t now);
    std::vector<delivery_record> take_deliveries();
    void restore_deliveries(std::vector<delivery_record>&& rows);
    std::size_t delivery_count() const { return deliveries_.size(); }

    std::size_t size() const { return rows_.size(); }  // event rows
    bool empty() const { return rows_.empty() && deliveries_.empty(); }
    std::int64_t oldest_us() const { return oldest_us_; }
    // Number of `pending` transitions found already committed since the last call, and their
    // events' approx_bytes (router/memory_budget.h), to give back to the budget.
    std::int64_t take_stale_pending() { return std::exchange(stale_pending_, 0); }
    std::size_t take_stale_pending_bytes() { return std::exchange(stale_pending_bytes_, 0); }

  private:
    void merge(pending_row& into, pending_row&& from);
    void note_seen(std::int64_t first_seen_us);
    std::unordered_map<event_id, pending_row> rows_;
    std::map<std::pair<event_id, std::int64_t>, delivery_record> deliveries_;
    std::int64_t deliveries_since_us_ = 0;  // when the oldest held delivery record arrived
    std::int64_t oldest_us_ = 0;            // first_seen of the oldest row, 0 when empty
    std::int64_t stale_pending_ = 0;
    std::size_t stale_pending_bytes_ = 0;
};

// Rows that are duplicates (duplicate_of) are left out by both encoders.
// Appends the COPY text-format lines of every row for the staging table.
void encode_stage_rows(std::span<const pending_row> rows, std::string& out);
// The fast path: rows never written go to new_rows in tpubsub_events' own column order (for a
// direct COPY, claimed by node_id), the others to existing_rows in staging format. Returns the
// number of new rows written to new_rows.
std::size_t encode_split_rows(std::span<const pending_row> rows, std::string_view node_id,
                              std::string& new_rows, std::string& existing_rows);
std::string events_copy_sql(const std::string& quoted_schema);

// SQL of the staging table (with its index) and of the merge that moves it into
// <schema>.tpubsub_events.
std::string stage_table_sql();
std::string stage_copy_sql();
// node_literal: this node's id as a quoted SQL literal; new rows are inserted claimed by it, and
// existing rows are updated only while it owns them (claimed_by), so a node that lost an event
// to another (declared dead) never overwrites the new owner's state. Ends with the UPDATE's
// WHERE clause, so that existing_rows_range() can be appended.
std::string merge_sql(const std::string& quoted_schema, const std::string& node_literal);
// " AND e.event_id BETWEEN <lowest> AND <highest>" over the rows that exist already (not
// duplicates), "" when there is none. Appended to merge_sql, it lets the UPDATE read those rows
// by a range of the primary key: without it, the staging table having no statistics, PostgreSQL
// hashes the whole events table for every batch (seq scan). With statistics showing a range that
// covers most of the table, it still chooses the scan.
std::string existing_rows_range(std::span<const pending_row> rows);

// Delivery records: COPY text lines for the delivery staging table, its DDL and COPY, and the
// upsert into <schema>.tpubsub_deliveries (an older version never overwrites a newer one; rows
// of cancelled events, and of events another node owns, are left alone).
void encode_delivery_rows(const std::vector<delivery_record>& rows, std::string& out);
std::string delivery_stage_table_sql();
std::string delivery_stage_copy_sql();
std::string delivery_merge_sql(const std::string& quoted_schema, const std::string& node_literal);

}  // namespace pubsub
