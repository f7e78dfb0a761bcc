// reload: what a SIGHUP changes (SPEC 7.4). The command line is parsed again, which re-reads
// the config file and the environment (flags still win); plan_reload() compares the result with
// the running settings: the log level, job commands, scripts folders and pool concurrency take
// effect at once, every other changed setting is named so the daemon can log that it needs a
// restart. Pure functions; the daemon applies the plan on its signal thread.
#pragma once

#include <string>
#include <vector>

#include "config.h"

namespace pubsub {

struct reload_plan {
    bool log_level = false;    // log_level changed
    bool handlers = false;     // job_commands or scripts_dirs changed: rebuild the runners
    bool concurrency = false;  // concurrency changed: resize the pools
    std::vector<std::string> need_restart;  // flag names (without --) of the other changes
};

reload_plan plan_reload(const daemon_config& running, const daemon_config& fresh);

}  // namespace pubsub
