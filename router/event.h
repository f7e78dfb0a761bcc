// The event: the value that flows from a door through the router to the handlers.
//
// An event is immutable once the intake has stamped its id and creation time; it is shared
// between the router queue, the handler pools and the write-behind through event_ptr
// (shared_ptr<const event>), so every reader may use it from any thread without locking.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace pubsub {

using event_id = std::int64_t;

// Wall-clock microseconds since the Unix epoch: what the timestamptz columns store.
std::int64_t now_us();

enum class event_status : std::uint8_t { pending, processing, completed, failed, cancelled };
std::string_view to_string(event_status s);

inline constexpr int min_priority = 1;
inline constexpr int max_priority = 10;  // 10 is the most urgent (SPEC 2)
inline constexpr int default_priority = 5;

struct event {
    event_id id = 0;
    int priority = default_priority;
    int attempt = 1;  // 1 for a new event; resumed: retry_count + 1 (+ 1 if a run was under way)
    bool from_table = false;  // the row already exists (resumed, or inserted by SQL)
    std::int64_t created_us = 0;
    std::string type;
    std::string source;
    std::string data_json;  // a JSON object, compact text, as it will be stored in event_data
    // SPEC 7.2: empty when the producer gave none. A keyed event is routed only once its key
    // is committed (router/intake.h).
    std::string idempotency_key;
    std::int64_t run_at_us = 0;  // not dispatched before (wall clock); 0: at once

    // The write-behind found the key already taken: the first event's id (this event is not
    // stored and never routed). Written by the write-behind's thread before it calls the
    // pending transition's ack, read only by that ack.
    mutable event_id duplicate_of = 0;

    // Opaque to the core: one word the transition_log's writer thread keeps about this
    // event's stored row (the write-behind: storage/row_state.h), so that merging a transition
    // needs no lookup by id. IMPORTANT: only that thread reads or writes it.
    mutable std::uint64_t log_slot = 0;
};

using event_ptr = std::shared_ptr<const event>;

}  // namespace pubsub
