// delivery: one (event, subscriber) pair handed to a handler pool, and the group that tracks
// all deliveries of one event so the event's own status follows SPEC 4.
//
// DESIGN: the router creates one delivery_group per routed event with remaining_ = number of
// deliveries. Each handler thread calls started() when it begins and finished() when done;
// the first started() records `processing`, the last finished() records `completed` (or
// `failed` when any delivery failed). Counters are atomics (see delivery.cc for orders), so
// deliveries of one event may run on different pools at once.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>

#include "router/event.h"
#include "router/subscriber.h"
#include "router/transition_log.h"

namespace pubsub {

class delivery_group {
  public:
    delivery_group(event_ptr ev, int deliveries, int attempt, transition_log& log);

    const event_ptr& ev() const { return ev_; }
    int attempt() const { return attempt_; }

    // Thread-safe. Records `processing` on the first call only.
    void started();
    // Thread-safe. ok=false marks the event failed with `error` (the first error wins).
    // Records the final transition when the last delivery finishes.
    void finished(bool ok, std::string_view error);

  private:
    event_ptr ev_;
    int attempt_;
    transition_log& log_;
    std::atomic<int> remaining_;
    std::atomic<bool> started_{false};
    std::mutex error_mu_;
    std::string first_error_;  // guarded by error_mu_
    bool failed_ = false;      // guarded by error_mu_
};

struct delivery {
    std::shared_ptr<delivery_group> group;
    std::shared_ptr<const subscriber> sub;  // aliases the snapshot it came from
};

// Sequence numbers for the transitions of one event (pending < processing < final).
inline constexpr std::uint32_t seq_pending = 1;
inline constexpr std::uint32_t seq_processing = 2;
inline constexpr std::uint32_t seq_final = 3;

}  // namespace pubsub
