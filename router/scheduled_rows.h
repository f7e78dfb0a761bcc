// scheduled_rows: where the scheduler reads back the stored rows of scheduled events it holds
// only as (id, due time) (router/scheduled_events.h). The storage layer implements it over its
// own connection (storage/scheduled_loader.h); tests implement it in memory.
// Called from one thread only (the scheduler's loader thread); it may block on I/O.
#pragma once

#include <span>
#include <vector>

#include "base/result.h"
#include "router/event.h"

namespace pubsub {

class scheduled_rows {
  public:
    virtual ~scheduled_rows() = default;
    // The events among `ids` that are still this node's and still pending, as router events
    // (from_table). An id left out is no longer to be dispatched by this node (cancelled, taken
    // by another node, removed). An error means nothing is known: the caller tries again later.
    virtual result<std::vector<event_ptr>> load(std::span<const event_id> ids) = 0;
};

}  // namespace pubsub
