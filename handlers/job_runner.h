// job_runner: runs one delivery of one job type. Implementations: noop (in-process) and
// process-based runners (custom scripts, configured commands).
// run() is called concurrently from the pool's threads (and, for runs_inline() runners, from
// the thread that submits the delivery): implementations must be thread-safe.
#pragma once

#include <functional>
#include <string>

#include "router/delivery.h"

namespace pubsub {

struct run_outcome {
    bool ok = true;
    std::string error;  // when !ok: what went wrong, becomes error_message
    // The delivery was never run to an end because pubsubd is stopping: nothing is recorded, so
    // its event stays open in the table and runs again at the next start (at-least-once).
    bool not_run = false;
};

// Called exactly once with a delivery's outcome, on any thread.
using run_done = std::function<void(run_outcome)>;

class job_runner {
  public:
    virtual ~job_runner() = default;
    virtual run_outcome run(const delivery& d) = 0;
    // True only for in-process runners that return at once and never block (noop): the pools
    // may then run a delivery on the submitting thread instead of a pool thread (pool_set.h).
    virtual bool runs_inline() const { return false; }

    // Runners that hand some deliveries to a process that outlives them (persistent workers)
    // say so for those: the pool then calls run_async(), which returns once the delivery is
    // handed over (it may wait for room: that is the back-pressure) and calls done later, from
    // another thread, so the delivery holds no pool thread while it runs.
    virtual bool runs_async(const delivery&) const { return false; }
    virtual void run_async(const delivery& d, run_done done) { done(run(d)); }
    // The pool is past its stop deadline: a run_async() waiting for room returns at once
    // (done with not_run). Thread-safe.
    virtual void interrupt() {}
};

// In-process, does nothing, always succeeds: for tests and benchmarks.
class noop_runner final : public job_runner {
  public:
    run_outcome run(const delivery&) override { return {}; }
    bool runs_inline() const override { return true; }
};

}  // namespace pubsub
