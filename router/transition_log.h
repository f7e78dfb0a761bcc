// transition_log: where the router reports every state change of every event.
//
// The storage layer implements it with a write-behind (storage/write_behind.h); tests implement
// it in memory. record() is thread-safe, never blocks on I/O and never fails: admission control
// happens earlier, in admit(), so that an event that was accepted is never dropped here.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "router/event.h"
#include "base/result.h"

namespace pubsub {

// Called once the transition it rides on is committed (ok) or can never be (error).
using durable_callback = std::function<void(const status&)>;

struct transition {
    event_ptr ev;  // always set: the row can be (re)inserted from any transition
    event_status status = event_status::pending;
    std::uint32_t seq = 0;  // per-event order; higher wins when transitions are coalesced
    std::int64_t at_us = 0;
    int retry_count = 0;
    std::string error;            // failed/completed-with-note: becomes error_message
    durable_callback on_durable;  // usually only on the pending transition of a durable event
};

class transition_log {
  public:
    virtual ~transition_log() = default;
    // Thread-safe; never blocks on I/O; never loses an admitted event.
    virtual void record(transition t) = 0;
    // Whether a new event may be taken now; the error says why not (e.g. buffer full while the
    // database is unreachable). Thread-safe.
    virtual status admit() const = 0;
};

}  // namespace pubsub
