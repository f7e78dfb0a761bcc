// delivery_store: reads tpubsub_deliveries for the router (resuming events from the table).
//
// load_delivery_records: a plain function over a caller-owned connection (not thread-safe, like
// the connection); one query per call, whatever the number of events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "router/delivery.h"
#include "base/result.h"
#include "storage/pg.h"

namespace pubsub {

// The delivery rows of these events (any status), for pool_set::add_resume().
result<std::vector<delivery_record>> load_delivery_records(pg::connection& conn,
                                                           const std::string& schema,
                                                           const std::vector<event_id>& ids);

}  // namespace pubsub
