// intake: turns a validated request from any door into a routed, persisted event.
//
// submit() stamps the id (from an id_source) and the creation time, records the `pending`
// transition with the write-behind, and enqueues the event for routing at once: routing never
// waits for the database. With ack_mode::durable the callback runs after the pending row is
// committed (group commit: the whole batch shares one commit); with ack_mode::queued it runs
// before submit() returns. Errors (no ids, buffer full, shutting down, a full handler pool that
// an event of this type could reach: router::admit) are reported through the callback, and
// such an event is neither persisted nor routed.
// An event with an idempotency key (SPEC 7.2) is acknowledged and routed only once its key is
// committed, whatever its ack_mode: the write-behind decides in its batch whether the key was
// taken; a repeat that arrives while the first is in flight waits for the first's outcome
// (keys_in_flight). A duplicate is neither stored nor routed, and is answered with the first
// event's id. Events without a key take the path described above, unchanged.
// A scheduled event (a run_at) is refused while the router holds --max-scheduled-events; once
// its row is committed the router is told (scheduled_persisted), so it may drop the body.
// Thread-safe: every door may call submit() from its own threads.
#pragma once

#include <atomic>
#include <functional>
#include <string>

#include "base/result.h"
#include "router/event.h"
#include "router/keys_in_flight.h"
#include "router/router.h"
#include "router/transition_log.h"

namespace pubsub {

enum class ack_mode { durable, queued };

struct event_draft {
    std::string type;
    std::string source;
    std::string data_json = "{}";
    int priority = default_priority;
    std::string idempotency_key;  // empty: none
    std::int64_t run_at_us = 0;   // 0: at once (router/scheduled_events.h)
};

class id_source {
  public:
    virtual ~id_source() = default;
    // Thread-safe; never blocks on the network on the fast path.
    virtual result<event_id> next_id() = 0;
};

using ack_callback = std::function<void(const result<event_id>&)>;

class intake {
  public:
    intake(id_source& ids, transition_log& log, router& r) : ids_(ids), log_(log), router_(r) {}

    void submit(event_draft draft, ack_mode mode, ack_callback done);
    // The same, telling a duplicate key apart from a new event.
    void submit(event_draft draft, ack_mode mode, event_ack_callback done);
    // After close(), submit() refuses with "shutting down". Thread-safe, idempotent.
    void close() { closed_.store(true, std::memory_order_release); }

  private:
    void submit_keyed(event_draft draft, event_ack_callback done);
    // Done: ack_callback or event_ack_callback, wrapped once (for the durable ack).
    template <class Done>
    void submit_unkeyed(event_draft&& draft, ack_mode mode, Done&& done);
    status admit(const event_draft& draft) const;
    event_ptr make_event(event_draft&& draft, event_id id) const;
    void note_persisted(const event& ev);

    id_source& ids_;
    transition_log& log_;
    router& router_;
    std::atomic<bool> closed_{false};
    keys_in_flight keys_;
};

}  // namespace pubsub
