// keys_in_flight: the idempotency keys of events this node accepted and whose key is not
// committed yet, each with the acks waiting for its outcome. A repeat that arrives meanwhile
// joins the first instead of becoming a second event (the database decides only across
// batches, nodes and doors; SPEC 7.2).
// Thread-safe (one mutex; held only to look up, insert or remove one key).
#pragma once

#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/result.h"
#include "router/event.h"

namespace pubsub {

struct event_ack {
    event_id id = 0;
    bool duplicate = false;  // the key was taken: id is the first event's
};

using event_ack_callback = std::function<void(const result<event_ack>&)>;

class keys_in_flight {
  public:
    // True when key was not in flight: the caller goes on with its event, and `done` is its
    // first waiter. False: `done` waits for the first event's outcome.
    bool join(const std::string& key, event_ack_callback done);
    // Removes key; returns its waiters, the first event's own ack first.
    std::vector<event_ack_callback> finish(const std::string& key);
    std::size_t size() const;

  private:
    mutable std::mutex mu_;
    std::unordered_map<std::string, std::vector<event_ack_callback>> waiting_;  // guarded by mu_
};

}  // namespace pubsub
