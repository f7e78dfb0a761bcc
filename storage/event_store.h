// event_store: queries on <schema>.tpubsub_events outside the write-behind's hot path:
// crash recovery at start, and the listings behind pubsubctl.
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <string>
#include <vector>

#include "router/event.h"
#include "router/result.h"
#include "storage/pg.h"

namespace pubsub {

// Events left `pending` or `processing` (by a crash, a stop past its drain deadline, or a
// producer while no router ran), oldest first, as router events (from_table = true,
// attempt = retry_count + 1).
result<std::vector<event_ptr>> load_open_events(pg::connection& conn, const std::string& schema,
                                                std::size_t limit);

}  // namespace pubsub
