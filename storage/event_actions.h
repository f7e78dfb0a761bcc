// event_actions: the operator's actions on one event (SPEC 4, `pubsubctl events retry|cancel`,
// the HTTP admin) and the per-subscriber deliveries of an event, for `show`.
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection). Each
// action is one transaction that locks the event row (SELECT ... FOR UPDATE), so two operators,
// or an operator and a router's write-behind, never interleave on one event. Safe while routers
// run:
// - retry_event: a `failed` or `cancelled` event goes back to `pending`, unclaimed, with its
//   failed (`dead`) and `cancelled` deliveries reset to `pending` and a fresh retry budget
//   (max_retries more attempts; attempt numbers keep counting up, so handlers can deduplicate).
//   Completed deliveries are kept and are NOT run again. A NOTIFY on `tpubsub_events` wakes the
//   routers; one of them claims the event within milliseconds and runs only the deliveries that
//   are not completed (a matching subscriber without any delivery row also runs: it never got the
//   event).
// - cancel_event: a `pending` or `processing` event becomes `cancelled` at once, with every
//   delivery that is not completed or dead marked `cancelled`. A NOTIFY on
//   `tpubsub_event_actions` ("cancel <id>") tells the owning router, which drops the retries it has
//   scheduled for the event and skips its deliveries still queued in a pool. A handler that is
//   ALREADY RUNNING is left to finish (it is not killed); its outcome is discarded: the event and
//   that delivery stay `cancelled`. The write-behind never overwrites a `cancelled` row.
// Not-found and wrong-state come back in `what` (with a message); database errors as result
// errors.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "router/event.h"
#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

// The channel routers LISTEN on for operator actions (of the default schema; see channels.h);
// payloads are "cancel <id>" and "retry <id>".
inline constexpr const char* event_actions_channel = "tpubsub_event_actions";

struct event_action_outcome {
    enum class kind { done, not_found, not_applicable } what = kind::done;
    std::string message;  // human-readable: what was done, or why not
    int deliveries = 0;   // deliveries re-queued / cancelled
};

// Database errors come back as result errors; not-found / wrong-state as `what`. A done action
// records an audit entry (audit_log.h) by `actor` in its transaction; actor "" records none
// (only for tests and callers that are not an operator).
result<event_action_outcome> retry_event(pg::connection& c, const std::string& schema, event_id id,
                                         const std::string& actor = {});
result<event_action_outcome> cancel_event(pg::connection& c, const std::string& schema, event_id id,
                                          const std::string& actor = {});

// What a router acts on when a `cancel <id>` or `retry <id>` notification arrives: the rows
// themselves (any role may NOTIFY, so the payload is only a hint to look). Ids without a row are
// absent from the result. One query for all ids.
struct event_state {
    event_id id = 0;
    std::string status, claimed_by;  // claimed_by "" when NULL
};
result<std::vector<event_state>> load_event_states(pg::connection& c, const std::string& schema,
                                                   const std::vector<event_id>& ids);

// For `show`: the deliveries of one event. Only deliveries that were ever recorded have a row:
// see router/delivery.h for when a delivery is persisted (an event whose deliveries all
// succeeded on their first attempt has none). Timestamps are microseconds since the epoch, 0
// when NULL. status: pending, retrying, completed, dead, cancelled, held.
struct delivery_row {
    std::int64_t subscriber_id;
    std::string subscriber_name, status, last_error;
    int attempts;
    std::int64_t next_attempt_us, started_us, finished_us;
};
result<std::vector<delivery_row>> load_deliveries(pg::connection& c, const std::string& schema,
                                                  event_id id);

}  // namespace pubsub
