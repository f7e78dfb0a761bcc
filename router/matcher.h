// matcher: decides which subscribers an event reaches.
//
// A subscriber_set is an immutable snapshot of the active subscribers plus the matcher compiled
// from them. The router swaps the whole snapshot atomically on reload, so match() never locks
// and a rebuild never pauses routing. match() is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "router/event.h"
#include "base/result.h"
#include "router/subscriber.h"

namespace pubsub {

class matcher {
  public:
    virtual ~matcher() = default;
    // Appends to out the indexes (into the snapshot's subscribers) of every subscriber the
    // event reaches, each at most once. Thread-safe.
    virtual void match(const event& ev, std::vector<std::uint32_t>& out) const = 0;
};

struct subscriber_set {
    std::vector<subscriber> subscribers;
    std::unique_ptr<matcher> compiled;
    // Subscribers refused while compiling (e.g. an invalid stored filter): name and reason.
    std::vector<std::pair<std::string, std::string>> skipped;
};

using subscriber_snapshot = std::shared_ptr<const subscriber_set>;

// Checks a subscriber's event_filter (SPEC 5); the error names the path and the problem.
status validate_subscriber_filter(std::string_view filter_json);

// Builds a snapshot from the active subscribers; a subscriber that cannot be compiled is
// skipped (listed in `skipped`), never fatal.
subscriber_snapshot build_snapshot(std::vector<subscriber> subs);

}  // namespace pubsub
