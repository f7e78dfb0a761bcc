// delivery_store: reads tpubsub_deliveries for the router (resuming events from the table), and
// config_check, the run-time check that a subscriber's config_id still names a platform config
// row (issue 6; the write-time check is the trigger in sql/006_deliveries.sql).
//
// load_delivery_records: a plain function over a caller-owned connection (not thread-safe, like
// the connection); one query per call, whatever the number of events.
// config_check: thread-safe (one connection under a mutex, opened lazily and reopened after an
// error); one query per check. Whether each platform table exists is cached for 30 s.
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
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

class config_check {
  public:
    config_check(std::string dsn, std::string schema)
        : dsn_(std::move(dsn)), schema_(std::move(schema)) {}

    // "" when the delivery may run: not a platform job type, the platform table is absent, or
    // the row exists. Otherwise the reason, e.g. `config_id 7 not found in "dba".timportconfig
    // .config_id`. A database error also yields a reason (the delivery fails and is retried).
    std::string check(job_type type, std::optional<std::int32_t> config_id);

  private:
    struct table_state {
        bool exists = false;
        std::chrono::steady_clock::time_point checked{};
    };
    std::string dsn_, schema_;
    std::mutex mu_;
    std::optional<pg::connection> conn_;  // guarded by mu_
    table_state tables_[3];               // guarded by mu_; import, inbox_processor, report
};

}  // namespace pubsub
