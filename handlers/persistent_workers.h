// persistent_workers: the worker_sets of every persistent subscriber of this node (SPEC 7.3),
// created on a subscriber's first delivery and replaced when what starts its workers changes
// (program, workers, timeout, config_id); the replaced set closes gracefully in the background
// and is joined later. One object for the daemon's life, shared by the runners a reload builds,
// so a SIGHUP does not restart workers. Stopped after the pools (they drain into it first).
// Thread-safe.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "base/service.h"
#include "handlers/worker_set.h"
#include "router/delivery.h"

namespace pubsub {

struct persistent_options {
    int window = 16;  // --worker-window
    std::chrono::milliseconds backoff_min{200}, backoff_max{30000};
    std::shared_ptr<const process_group_registry> registry;
};

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
    status start() override;
    void stop(clock::time_point deadline) noexcept override;

    // Runs d on its subscriber's workers, started from argv and env (the caller resolved them
    // by the rules of SPEC 5a); done is called exactly once.
    void run(const delivery& d, std::vector<std::string> argv, std::vector<std::string> env,
             const std::string& event_json, run_done done);
    // A submit waiting for room returns (the pools are past their deadline).
    void interrupt();

    std::vector<subscriber_workers> snapshot() const;

  private:
    std::shared_ptr<worker_set> set_for(const subscriber& sub, std::vector<std::string> argv,
                                        std::vector<std::string> env);

    persistent_options opts_;
    mutable std::mutex mu_;
    bool started_ = false, stopped_ = false;                    // guarded by mu_
    std::map<std::int64_t, std::shared_ptr<worker_set>> sets_;  // by subscriber id; mu_
    std::vector<std::shared_ptr<worker_set>> retired_;          // closing; mu_
};

}  // namespace pubsub
