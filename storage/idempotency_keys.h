// idempotency_keys: the SQL of <schema>.tpubsub_idempotency_keys (sql/012_producers.sql), used
// by the write-behind inside its batch transaction, and the background removal of expired keys.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
//
// A batch's new keyed events claim their keys with one statement: an upsert that inserts the
// keys not taken, takes over keys older than the window, and for a key already taken returns
// the first event's id (ON CONFLICT DO UPDATE waits for a concurrent holder on another node to
// commit and then reads its row, which DO NOTHING plus a SELECT in the same snapshot would not
// see). The keys are sorted, so two nodes lock them in the same order.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include "base/result.h"
#include "storage/pg.h"
#include "storage/row_batch.h"

namespace pubsub {

std::string key_claim_sql(const std::string& quoted_schema);

// Sets duplicate_of on each new keyed row of `rows` whose key another event holds (0 on every
// other row). No statement when no row carries a key. Inside the caller's transaction.
status claim_keys(pg::connection& conn, const std::string& claim_sql, std::span<pending_row> rows,
                  std::chrono::seconds window);

// Deletes up to `limit` keys older than `window`; returns how many.
result<std::size_t> delete_expired_keys(pg::connection& conn, const std::string& quoted_schema,
                                        std::chrono::seconds window, std::size_t limit);

}  // namespace pubsub
