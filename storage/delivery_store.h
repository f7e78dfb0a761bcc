// delivery_store: reads tpubsub_deliveries for the router (resuming events from the table).
//
// load_delivery_records: a plain function over a caller-owned connection (not thread-safe, like
// the connection); one query per call, whatever the number of events. delivery_columns and
// read_delivery_record let another query (the SQL door's claim) return the same rows beside
// its own, so that both come back in one round trip. Pure, thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "router/delivery.h"
#include "storage/pg.h"

namespace pubsub {

// The delivery rows of these events (any status), for pool_set::add_resume().
result<std::vector<delivery_record>> load_delivery_records(pg::connection& conn,
                                                           const std::string& schema,
                                                           const std::vector<event_id>& ids);

// The select list read_delivery_record expects, over the tpubsub_deliveries alias `alias`:
// delivery_column_count columns.
std::string delivery_columns(std::string_view alias);
inline constexpr int delivery_column_count = 11;

// The delivery row in columns [first, first + delivery_column_count) of row `row`.
delivery_record read_delivery_record(const pg::query_result& r, int row, int first);

}  // namespace pubsub
