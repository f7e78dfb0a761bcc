// event_store: queries on <schema>.tpubsub_events outside the write-behind's hot path:
// resuming this node's open events at start, and claiming events no live router owns.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
//
// Ownership: tpubsub_events.claimed_by names the node (tpubsub_nodes.node_id) that routes an
// open event. The write-behind inserts socket-door events already claimed by their node; rows
// inserted by SQL (create_event) start unclaimed. A node counts as live while its heartbeat is
// younger than the deadline in its own row (tpubsub_nodes.dead_after_s); the open events of a node
// that is not live may be claimed by another (at-least-once delivery: handlers get the attempt
// number to deduplicate).
#pragma once

#include <chrono>
#include <span>
#include <string>
#include <vector>

#include "base/result.h"
#include "router/delivery.h"
#include "router/event.h"
#include "storage/pg.h"

namespace pubsub {

// Events this node left `pending` or `processing` (a crash, or a stop past its drain
// deadline), oldest first, as router events (from_table = true, attempt = retry_count + 1, and
// one more for a `processing` row without error_message: the run its handler began counts).
// Only ids above `after`: a caller reads them page by page.
result<std::vector<event_ptr>> load_own_open_events(pg::connection& conn, const std::string& schema,
                                                    const std::string& node_id, std::size_t limit,
                                                    event_id after = 0);

// The open events among `ids` that node_id still owns (scheduled events read back when due:
// router/scheduled_rows.h). One query whatever the count.
result<std::vector<event_ptr>> load_own_events(pg::connection& conn, const std::string& schema,
                                               const std::string& node_id,
                                               std::span<const event_id> ids);

// Every open event whatever its owner (operators' views and tests).
result<std::vector<event_ptr>> load_open_events(pg::connection& conn, const std::string& schema,
                                                std::size_t limit);

// Which open events a claim takes: those no router ever claimed (created by SQL), or those of
// nodes that are not live (failover).
enum class claim_kind { unclaimed, orphaned };

// Events a claim took, with the delivery rows those events already have (any status: an
// operator's retry leaves completed ones, a failover the finished ones of the dead node).
struct claimed_events {
    std::vector<event_ptr> events;
    std::vector<delivery_record> deliveries;
};

// Prepares the claims (claim_open_events) on this connection: the server parses and plans a
// claim once per connection, not once per NOTIFY. Again after a claim failed: the claims of an
// earlier call are replaced (a prepared statement whose result columns changed type, by a
// migration say, fails at every EXECUTE until it is prepared anew).
status prepare_claims(pg::connection& conn, const std::string& schema);

// Claims up to `limit` open events of `kind`, with FOR UPDATE SKIP LOCKED, so concurrent
// routers never claim the same row. Most urgent first (priority, then age). An orphan claim
// takes at most an even share: the orphans' count divided by the live nodes' (rounded up).
// The rows are stamped with `claim_token` (sql/007_claim_token.sql): if the reply is lost after
// the UPDATE committed, load_lost_claim() finds them again. One statement, one round trip: the
// claimed events' delivery rows come back with them. Needs prepare_claims() on `conn` first.
result<claimed_events> claim_open_events(pg::connection& conn, const std::string& node_id,
                                         std::size_t limit, std::int64_t claim_token,
                                         claim_kind kind);

// The events other nodes took from node_id (failover: it was not live) within the last `window`,
// whatever their status now. A node back from a stall drops them from memory.
result<std::vector<event_id>> events_taken_from(pg::connection& conn, const std::string& schema,
                                                const std::string& node_id,
                                                std::chrono::milliseconds window);

// The open events that claim `claim_token` of this node took, if it committed (none if not,
// or if another router has claimed them since), with their delivery rows.
result<claimed_events> load_lost_claim(pg::connection& conn, const std::string& schema,
                                       const std::string& node_id, std::int64_t claim_token);

}  // namespace pubsub
