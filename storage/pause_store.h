// pause_store: the pause state of a schema (SPEC 7.4): tpubsub_subscribers.paused and the
// paused job types in tpubsub_paused_pools (sql/014_pause.sql), and the held delivery rows.
// A change commits with its audit entry in one transaction; the tables' triggers wake every
// router of the schema, which reloads the state with load_pauses().
//
// Plain functions over a caller-owned connection (not thread-safe, like the connection).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "router/pause_state.h"
#include "storage/pg.h"

namespace pubsub {

// What the routers hold deliveries for: the paused subscribers' ids and job types.
result<pause_set> load_pauses(pg::connection& c, const std::string& schema);

// The outcome of a pause or resume.
struct pause_change {
    bool found = true;     // false: no subscriber with that name or id
    bool changed = false;  // false: it was already paused (resumed)
    std::string name;      // the subscriber's name, or the job type
};

// Pauses (paused true) or resumes a subscriber by name or numeric id, recording an audit entry
// (`subscribers.pause` / `subscribers.resume`, rows 1 when it changed) by `actor`.
result<pause_change> set_subscriber_paused(pg::connection& c, const std::string& schema,
                                           const std::string& name_or_id, bool paused,
                                           const std::string& actor);
// The same for a job type's pool (`pools.pause` / `pools.resume`); job_type is checked by the
// caller (parse_job_type).
result<pause_change> set_pool_paused(pg::connection& c, const std::string& schema,
                                     const std::string& job_type, bool paused,
                                     const std::string& actor);

// What an operator sees: paused subscribers (names) and pools, and the held delivery rows.
struct pause_summary {
    std::vector<std::string> subscribers, pools;
    std::int64_t held = 0;
};
result<pause_summary> load_pause_summary(pg::connection& c, const std::string& schema);
// {"subscribers":["a"],"pools":["custom"],"held":3}
std::string pause_summary_json(const pause_summary& s);

}  // namespace pubsub
