// persistent_workers: the worker_sets of every persistent subscriber of this node (SPEC 7.3).
// One object for the daemon's life, shared by the runners a reload builds, so a SIGHUP does
// not restart workers that did not change. Stopped after the pools (they drain into it first).
//
// DESIGN: the daemon hands it every subscriber snapshot (set_subscribers) and the function that
// resolves a subscriber's program by the rules of SPEC 5a (set_launcher, rebuilt with the
// runners on reload). From them it keeps exactly one set per active persistent subscriber: the
// set starts with the daemon (start()) or when the subscriber appears, and is replaced when
// what starts its workers changes (program, environment, workers, timeout); a subscriber that
// is removed, disabled, switched to process mode or not startable any more has its set closed.
// A closed set drains what is in flight and waiting, closes its workers' stdin, waits for them
// and kills their groups at now + timeout_s, in the background; it is joined later. A replaced set's wait
// queue moves to its successor. A delivery of a subscriber without a set (it was removed or
// disabled after the delivery was routed) fails with that reason; one whose subscriber now runs
// in process mode is handed back to the runner (run() returns false).
// Without any snapshot (tests, benchmarks) a set starts on its subscriber's first delivery.
// Thread-safe.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "base/service.h"
#include "handlers/worker_set.h"
#include "router/delivery.h"
#include "router/matcher.h"

namespace pubsub {

struct persistent_options {
    int window = 16;  // --worker-window
    std::chrono::milliseconds backoff_min{200}, backoff_max{30000};
    std::shared_ptr<const process_group_registry> registry;
};

// What starts a subscriber's workers: the program and its complete environment.
struct worker_launch {
    std::vector<std::string> argv;
    std::vector<std::string> env;
};
using worker_launcher = std::function<result<worker_launch>(const subscriber&)>;

// A subscriber's workers, for status and metrics.
struct subscriber_workers {
    std::string subscriber;
    std::vector<worker_status> workers;
};

class persistent_workers final : public service {
  public:
    explicit persistent_workers(persistent_options o) : opts_(std::move(o)) {}
    ~persistent_workers() override { stop_now(); }

    std::string_view name() const override { return "persistent workers"; }
    status start() override;  // starts the sets of the last snapshot
    void stop(clock::time_point deadline) noexcept override;

    // See DESIGN. Any thread; the sets change at once when started, else at start().
    void set_launcher(worker_launcher launch);
    void set_subscribers(const subscriber_snapshot& snap);

    // Runs d on its subscriber's workers, started from `launch`; done is called exactly once.
    // False (done not called): the subscriber runs in process mode now; run it that way.
    bool run(const delivery& d, worker_launch launch, const std::string& event_json, run_done done);
    // The deliveries waiting for room end not_run (the pools are past their deadline).
    void interrupt();

    std::vector<subscriber_workers> snapshot() const;

  private:
    std::shared_ptr<worker_set> make_set(const subscriber& sub, worker_launch launch);   // mu_
    void retire(std::shared_ptr<worker_set> set);                                        // mu_
    void reconcile();                                                                    // mu_
    std::shared_ptr<worker_set> on_demand(const subscriber& sub, worker_launch launch);  // mu_

    persistent_options opts_;
    mutable std::mutex mu_;
    bool started_ = false, stopped_ = false;  // guarded by mu_
    worker_launcher launch_;                  // guarded by mu_
    // The last snapshot's active persistent subscribers, and the ids of its process-mode
    // ones; managed_ once a snapshot came. Guarded by mu_.
    std::vector<subscriber> wanted_;
    std::set<std::int64_t> process_ids_;
    bool managed_ = false;
    std::map<std::int64_t, std::shared_ptr<worker_set>> sets_;  // by subscriber id; mu_
    std::vector<std::shared_ptr<worker_set>> retired_;          // closing; mu_
};

}  // namespace pubsub
