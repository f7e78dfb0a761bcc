// runners: the handler runner and thread count of every job type, built from the settings at
// start and again on SIGHUP (reload.h), and the record of running handler processes they share.
// Main thread and signal thread; make_runners_fn results are handed to pool_set::configure.
#pragma once

#include <memory>
#include <string>

#include "daemon/reload.h"
#include "handlers/persistent_workers.h"
#include "handlers/process_registry.h"
#include "router/metrics.h"
#include "storage/config_check.h"

namespace pubsub {

// Before any handler runs: kills what a predecessor that died left running (its deliveries are
// re-run), then records ours in data_dir/handlers (handlers/process_registry.h). Null, with a
// warning, when the folder cannot be used.
std::shared_ptr<process_group_registry> open_handler_registry(const std::string& data_dir);

// Runners that record their processes in `groups`, check platform config rows through
// `configs` and time each delivery into `latencies` (all three must outlive the function).
// Persistent subscribers run on `workers`.
make_runners_fn runner_factory(std::shared_ptr<process_group_registry> groups,
                               std::shared_ptr<persistent_workers> workers, config_check& configs,
                               delivery_metrics& latencies);

}  // namespace pubsub
