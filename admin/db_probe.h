// db_probe: whether the database answers, and the age of the oldest pending event, read over a
// connection of its own (operators' queries on the HTTP pool never delay a probe) and kept for
// `max_age`, so that probes and scrapes, however frequent, cost at most one small query per
// max_age (/readyz and /metrics share the reading).
// Thread-safe: read() takes a mutex; the caller that finds the reading stale runs the query
// while the others wait for it (bounded by pg_pool's connect and statement timeouts).
#pragma once

#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "admin/pg_pool.h"

namespace pubsub::admin {

struct db_reading {
    bool answered = false;
    std::string error;  // why not, when !answered
    // Seconds since the oldest `pending` event was created; 0 when none is pending; nullopt
    // when the database did not answer.
    std::optional<double> oldest_pending_age_s;
};

class db_probe {
  public:
    db_probe(const std::string& dsn, std::string schema, std::chrono::milliseconds max_age)
        : pool_(dsn, 1), schema_(std::move(schema)), max_age_(max_age) {}

    db_reading read();
    std::uint64_t errors() const { return pool_.errors(); }  // failed connections so far

  private:
    db_reading query();

    pg_pool pool_;
    const std::string schema_;
    const std::chrono::milliseconds max_age_;
    std::mutex mu_;
    std::chrono::steady_clock::time_point taken_;  // guarded by mu_
    std::optional<db_reading> last_;               // guarded by mu_
};

}  // namespace pubsub::admin
