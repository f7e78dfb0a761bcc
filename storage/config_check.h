// config_check: the run-time check that a subscriber's config_id still names a row of the
// platform's config table (timportconfig, tinboxconfig, treportmanager) before an import,
// inbox_processor or report handler runs; the write-time check is the trigger in
// sql/006_deliveries.sql.
//
// Thread-safe, and no caller waits on another's database round trip: each check runs on a
// connection of its own, taken from an idle list (or opened) and given back afterwards, so there
// are at most as many connections as checks that ran at once (the handler threads of the
// pools). The mutex guards only that list and the cache of which platform tables exist (asked
// again after 30 s). The row itself is looked up on every check, so a deleted row fails the
// next delivery. A connection that failed is dropped; the next check opens a new one.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "router/subscriber.h"
#include "storage/pg.h"

namespace pubsub {

class config_check {
  public:
    config_check(std::string dsn, std::string schema)
        : dsn_(std::move(dsn)), schema_(std::move(schema)) {}

    // ok when the delivery may run: not a platform job type, the platform table is absent, or
    // the row exists. Otherwise the reason, e.g. `config_id 7 not found in "dba".timportconfig
    // .config_id`. A database error is a reason too (the delivery fails and is retried).
    status check(job_type type, std::optional<std::int32_t> config_id);

  private:
    struct table_state {
        bool exists = false;
        std::chrono::steady_clock::time_point checked{};
    };
    result<pg::connection> take();
    void give_back(pg::connection c);
    // Whether the table exists, from the cache or asked on c.
    result<bool> table_exists(pg::connection& c, int index, const std::string& name);

    const std::string dsn_, schema_;
    std::mutex mu_;
    std::vector<pg::connection> idle_;  // guarded by mu_
    table_state tables_[3];             // guarded by mu_; import, inbox_processor, report
};

}  // namespace pubsub
