// subscriber_store: reads and writes <schema>.tpubsub_subscribers.
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <string>
#include <vector>

#include "router/result.h"
#include "router/subscriber.h"
#include "storage/pg.h"

namespace pubsub {

// Every subscriber (active or not), ordered by id. A row with an unknown job_type cannot come
// from the table (CHECK constraint), but is skipped defensively with the reason in `skipped`.
result<std::vector<subscriber>> load_subscribers(pg::connection& conn, const std::string& schema,
                                                 std::vector<std::string>* skipped = nullptr);

result<std::int64_t> insert_subscriber(pg::connection& conn, const std::string& schema,
                                       const subscriber& s);
// Removes by name or numeric id; false when nothing matched.
result<bool> remove_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id);

}  // namespace pubsub
