// subscriber_store: reads and writes <schema>.tpubsub_subscribers.
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "router/subscriber.h"
#include "storage/pg.h"

namespace pubsub {

// Every subscriber (active or not), ordered by id. A row with an unknown job_type cannot come
// from the table (CHECK constraint), but is skipped defensively with the reason in `skipped`.
result<std::vector<subscriber>> load_subscribers(pg::connection& conn, const std::string& schema,
                                                 std::vector<std::string>* skipped = nullptr);

// Refuses an invalid run_mode and workers (check_run_mode) before writing.
result<std::int64_t> insert_subscriber(pg::connection& conn, const std::string& schema,
                                       const subscriber& s);
// Removes by name or numeric id; false when nothing matched.
result<bool> remove_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id);

// The fields of a subscriber to change; absent fields keep their stored value.
// script_path "" stores NULL. config_id cannot be cleared through a patch.
struct subscriber_patch {
    std::optional<std::string> name;
    std::optional<std::string> event_type;
    std::optional<std::string> filter_json;  // validated (SPEC 5) before anything is written
    std::optional<job_type> job;
    std::optional<std::int32_t> config_id;
    std::optional<std::string> script_path;
    std::optional<bool> is_active;
    std::optional<int> max_retries;
    std::optional<int> timeout_s;
    std::optional<run_mode> mode;
    std::optional<int> workers;
};

// Changes only the fields set in `patch` (and updated_at) of the subscriber with that name or
// numeric id, in one transaction. true: updated; false: no such subscriber. An error for an
// invalid filter (`invalid event_filter: <path>: <problem>`), for a result that would be a
// custom job without script_path or an invalid run_mode and workers (check_run_mode), for
// values the table refuses, or for a database failure.
// The table's trigger wakes the routers (SPEC 5: effective within a second). Runs in its own
// transaction, or in the caller's when one is open.
result<bool> update_subscriber(pg::connection& conn, const std::string& schema,
                               const std::string& name_or_id, const subscriber_patch& patch);

// The read side shared by the HTTP admin API and pubsubctl. The subscribers (all when
// name_or_id is empty, else the one with that name or numeric id) as a JSON array ordered by
// id, with whether each is paused (SPEC 7.4), created_at and updated_at.
result<std::string> list_subscribers_json(pg::connection& conn, const std::string& schema,
                                          const std::string& name_or_id);
// Every subscriber as rows, ordered by id: the columns of the JSON above but the timestamps.
result<pg::query_result> list_subscribers_rows(pg::connection& conn, const std::string& schema);

// Sets is_active; same results as update_subscriber.
result<bool> set_subscriber_active(pg::connection& conn, const std::string& schema,
                                   const std::string& name_or_id, bool active);

}  // namespace pubsub
