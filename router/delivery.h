// delivery: one (event, subscriber) pair handed to a handler pool; the group that tracks all
// deliveries of one event so the event's own status follows SPEC 4; and the delivery records
// that persist what is worth remembering about a delivery (tpubsub_deliveries).
//
// DESIGN: the router creates one delivery_group per routed event with one slot per matching
// subscriber. A pool thread calls started() when a delivery begins, then exactly one of
// completed(), retrying() (a failed attempt with retries left; the delivery comes back later
// through the retry scheduler), dead() (failed, no retries left) or abandoned() (cancelled, or
// known completed from its row). The first started() records `processing`; a retrying() records
// `processing` again with the failure in error_message and the retry count (seq rises with every
// transition, so the write-behind keeps the newest); when the last delivery ends, the group
// records `completed` (every delivery completed) or `failed` (one is dead; the first dead
// delivery's error wins). After cancel() nothing more is recorded: the operator's action already
// wrote the final state. All state is under one mutex per group (uncontended for the usual
// single-delivery event), and transitions are recorded under it, so they are recorded in order.
//
// Delivery records: a delivery is recorded only when its event row does not imply its fate (it
// failed, or completed beside a failure), so an event whose deliveries all succeed at once
// writes no delivery row. The group decides this, as it alone sees the siblings' outcomes.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "router/event.h"
#include "router/subscriber.h"
#include "router/transition_log.h"

namespace pubsub {

// held: waiting for its paused subscriber or pool to be resumed (router/pause_state.h).
enum class delivery_status : std::uint8_t { pending, retrying, completed, dead, cancelled, held };
std::string_view to_string(delivery_status s);
std::optional<delivery_status> parse_delivery_status(std::string_view s);

// One row of tpubsub_deliveries. Timestamps in microseconds since the epoch, 0 for NULL.
struct delivery_record {
    event_id event = 0;
    std::int64_t subscriber_id = 0;
    std::string subscriber_name;
    delivery_status status = delivery_status::pending;
    int attempts = 0;    // attempts started over the delivery's life
    int retry_base = 0;  // attempts made before the last operator retry (budget starts there)
    std::string last_error;
    std::int64_t next_attempt_us = 0, started_us = 0, finished_us = 0;
    std::uint32_t version = 0;  // rises with every record of one event; the newest wins
};

// Where delivery records go (the write-behind). Thread-safe; never blocks on I/O.
class delivery_log {
  public:
    virtual ~delivery_log() = default;
    virtual void record_delivery(delivery_record r) = 0;
};

class delivery_group;

struct delivery {
    std::shared_ptr<delivery_group> group;
    std::shared_ptr<const subscriber> sub;  // aliases the snapshot it came from
    int attempt = 0;                        // this attempt's number; 0 = the group's attempt()
    int retry_base = 0;                     // see delivery_record
    bool has_row = false;                   // a delivery row exists (must be kept up to date)
    std::int64_t started_us = 0;            // set by started(d)
    std::int64_t finished_us = 0;           // set when a completion is remembered for later
};

// The attempt number of d: its own, or its group's when it has none yet.
int attempt_of(const delivery& d);

class delivery_group {
  public:
    // dlog may be null (no delivery rows, e.g. router unit tests).
    delivery_group(event_ptr ev, int deliveries, int attempt, transition_log& log,
                   delivery_log* dlog = nullptr);

    const event_ptr& ev() const { return ev_; }
    // The attempt number of the event's deliveries that have no history of their own: 1, or
    // retry_count + 1 for an event resumed from the table.
    int attempt() const { return attempt_; }

    // Thread-safe. Records `processing` on the first call only; stamps d.started_us.
    void started(delivery& d);
    void started();

    // Thread-safe. Exactly one of these per delivery that was submitted (a retried delivery
    // counts once, when it finally ends).
    void completed(const delivery& d);
    void retrying(const delivery& d, std::string_view error, std::int64_t next_attempt_us);
    void dead(const delivery& d, std::string_view error);
    // Ends a delivery without running or recording it: skipped because its row says completed
    // (ok) or dead (!ok, with that row's error), or dropped because the event was cancelled.
    void abandoned(bool ok, std::string_view error);
    // The delivery API without a delivery (kept for callers that need no rows): ok -> completed,
    // else dead with `error`.
    void finished(bool ok, std::string_view error);

    // Thread-safe. Records d as `held` (its subscriber or pool is paused) or, once released,
    // `pending` again; attempts counts those started so far. Not an end: d runs later.
    void held(const delivery& d, bool now_held);

    // Thread-safe. After cancel(), nothing more is recorded for this event.
    void cancel();
    bool cancelled() const;
    // Thread-safe. Later delivery records of this group get versions above v (rows resumed
    // from the table carry their own versions).
    void note_version(std::uint32_t v);

  private:
    void end_one(bool ok, std::string_view error);  // mu_ held
    void record_row(const delivery& d, delivery_status st, std::string_view error,
                    std::int64_t next_attempt_us);   // mu_ held
    void first_failure();                            // mu_ held
    void record_processing(std::string_view error);  // mu_ held

    event_ptr ev_;
    int attempt_;
    transition_log& log_;
    delivery_log* dlog_;
    mutable std::mutex mu_;
    // Everything below is guarded by mu_.
    const int total_;
    int remaining_;
    bool started_ = false;
    bool any_failure_ = false;
    bool dead_ = false;
    bool cancelled_ = false;
    // Mirrors cancelled_ for cancelled(), read on every delivery start (release/acquire: set
    // under mu_ after cancelled_; a reader that sees true also sees what cancel() published).
    std::atomic<bool> cancelled_flag_{false};
    std::string first_dead_error_;
    std::string latest_error_;
    int retry_count_;
    std::uint32_t seq_ = 0;
    std::uint32_t version_ = 0;
    // Completed before any failure, in a group of several: recorded if a sibling fails.
    std::vector<delivery> completed_quietly_;  // without their group (no cycle)
};

// Sequence numbers for the transitions of one event (pending < processing < final). A group
// records processing updates and its final transition with seqs above seq_processing, so an
// event without failures ends at seq_final.
inline constexpr std::uint32_t seq_pending = 1;
inline constexpr std::uint32_t seq_processing = 2;
inline constexpr std::uint32_t seq_final = 3;

}  // namespace pubsub
