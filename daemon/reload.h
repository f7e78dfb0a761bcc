// reload: what a SIGHUP changes (SPEC 7.4). The command line is parsed again, which re-reads
// the config file and the environment (flags still win); plan_reload() compares the result with
// the running settings: the log level and format, job commands, scripts folders and pool
// concurrency take effect at once, every other changed setting is named so the daemon can log that
// it needs a restart. plan_reload() is pure; reload_settings() applies a plan on the signal thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "daemon/config.h"
#include "handlers/pool_set.h"

namespace pubsub {

struct reload_plan {
    bool log_level = false;    // log_level changed
    bool log_format = false;   // log_format changed
    bool handlers = false;     // job_commands or scripts_dirs changed: rebuild the runners
    bool concurrency = false;  // concurrency changed: resize the pools
    bool retention = false;    // retention changed: the pruner takes the new policy
    std::vector<std::string> need_restart;  // flag names (without --) of the other changes
};

reload_plan plan_reload(const daemon_config& running, const daemon_config& fresh);

// A job type's runner and thread count, as the daemon builds them from a config.
struct runner_setup {
    job_type type;
    std::shared_ptr<job_runner> runner;
    int threads;
};
using make_runners_fn = std::function<result<std::vector<runner_setup>>(const daemon_config&)>;

// On SIGHUP (signal thread): parses running.args again, logs the settings that need a restart,
// applies the log level and format and, through make_runners, the pools' runners and threads;
// running then holds the settings in effect.
void reload_settings(daemon_config& running, pool_set& pools, const make_runners_fn& make_runners);

}  // namespace pubsub
