// pool_gate: the transition_log the intake sees, so that a full handler pool refuses new events
// at the door (pool_set.h, Back-pressure) as the write-behind does when the database lags.
// record() passes through; admit() asks the write-behind first, then the pools. Thread-safe like
// the two it joins; adds one virtual call and a few relaxed loads per event.
#pragma once

#include "handlers/pool_set.h"
#include "router/transition_log.h"

namespace pubsub {

class pool_gate final : public transition_log {
  public:
    pool_gate(transition_log& inner, const pool_set& pools) : inner_(inner), pools_(pools) {}
    void record(transition t) override { inner_.record(std::move(t)); }
    status admit() const override {
        if (status s = inner_.admit(); !s.ok()) return s;
        return pools_.admit();
    }

  private:
    transition_log& inner_;
    const pool_set& pools_;
};

}  // namespace pubsub
