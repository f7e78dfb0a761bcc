// job_runner: runs one delivery of one job type. Implementations: noop (in-process) and
// process-based runners (custom scripts, configured commands).
// run() is called concurrently from the pool's threads (and, for runs_inline() runners, from
// the thread that submits the delivery): implementations must be thread-safe.
#pragma once

#include <string>

#include "router/delivery.h"

namespace pubsub {

struct run_outcome {
    bool ok = true;
    std::string error;  // when !ok: what went wrong, becomes error_message
};

class job_runner {
  public:
    virtual ~job_runner() = default;
    virtual run_outcome run(const delivery& d) = 0;
    // True only for in-process runners that return at once and never block (noop): the pools
    // may then run a delivery on the submitting thread instead of a pool thread (pool_set.h).
    virtual bool runs_inline() const { return false; }
};

// In-process, does nothing, always succeeds: for tests and benchmarks.
class noop_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override { return {}; }
    bool runs_inline() const override { return true; }
};

}  // namespace pubsub
