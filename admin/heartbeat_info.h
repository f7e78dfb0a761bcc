// heartbeat_info: the `info` JSON of this node's tpubsub_nodes row, written by the heartbeat
// (what `pubsubctl status` and the Service Status tab show): doors, queue depths per priority,
// events/s in and out since the previous heartbeat, write-behind lag, errors, pools, watcher.
// Keeps the previous sample to compute rates: one object belongs to one thread (the listener).
#pragma once

#include <optional>
#include <string>

#include "admin/node_sample.h"

namespace pubsub::admin {

class heartbeat_info {
  public:
    std::string json(const node_sample& s);

  private:
    std::optional<node_sample> prev_;
};

}  // namespace pubsub::admin
