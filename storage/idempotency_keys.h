// idempotency_keys: the SQL of <schema>.tpubsub_idempotency_keys (sql/012_producers.sql,
// sql/018_key_claim.sql), used by the write-behind inside its batch transaction, and the
// background removal of expired keys. Plain functions over a caller-owned connection (not
// thread-safe, like the connection).
//
// A batch's new keyed events claim their keys in two steps. First a plain INSERT of every key
// under a savepoint: when no key is taken (the usual case) that is all, and it costs about half
// of an upsert (no speculative insertion, no RETURNING). A plain INSERT that meets a committed
// key, or a concurrent holder on another node that then commits, fails with unique_violation;
// the batch then goes back to the savepoint and runs the upsert: it inserts the keys not taken,
// takes over keys older than the window, and for a key already taken returns the first event's
// id (ON CONFLICT DO UPDATE waits for a concurrent holder on another node to commit and then
// reads its row, which DO NOTHING plus a SELECT in the same snapshot would not see). Both
// statements take the keys in sorted order, so two nodes lock them in the same order.
#pragma once

#include <chrono>
#include <span>
#include <string>

#include "base/result.h"
#include "storage/pg.h"
#include "storage/row_batch.h"

namespace pubsub {

struct key_claim_statements {
    std::string insert;  // the fast path: fails if any key is taken
    std::string upsert;  // after a conflict: decides every key, returns the holders
};

key_claim_statements key_claim_sql(const std::string& quoted_schema);

// Sets duplicate_of on each new keyed row of `rows` whose key another event holds (0 on every
// other row). No statement when no row carries a key. Inside the caller's transaction; leaves
// it usable (a conflict is rolled back to the claim's own savepoint).
status claim_keys(pg::connection& conn, const key_claim_statements& sql,
                  std::span<pending_row> rows, std::chrono::seconds window);

// Deletes up to `limit` keys older than `window`; returns how many.
result<std::size_t> delete_expired_keys(pg::connection& conn, const std::string& quoted_schema,
                                        std::chrono::seconds window, std::size_t limit);

}  // namespace pubsub
