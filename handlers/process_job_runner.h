// process_job_runner: the job runners that start a process per delivery (SPEC 5a), and the
// factory that picks the runner for each job type from the daemon's settings.
//
// custom: runs the subscriber's script_path, which must resolve inside a --scripts-dir.
// import / inbox_processor / report: run the --job-command configured for the type, with
// {config_id}, {event_id}, {event_type}, {event_source}, {subscriber}, {attempt} substituted.
// Either way: no shell, the event JSON on stdin, a scrubbed environment (PATH plus the
// PUBSUB_* variables), the subscriber's timeout, exit 0 = success, otherwise the stderr tail
// becomes the error. Thread-safe: run() keeps no state between calls.
// A subscriber with run_mode persistent runs on long-lived workers instead (SPEC 7.3): the same
// program by the same rules, plus PUBSUB_PROTOCOL=ndjson-1, started once per node and fed over
// its stdin (persistent_workers.h); those deliveries run asynchronously (job_runner.h).
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "handlers/job_runner.h"
#include "handlers/persistent_workers.h"

namespace pubsub {

class process_group_registry;

struct handler_settings {
    std::vector<std::string> scripts_dirs;
    std::map<job_type, std::string> job_commands;
    std::string safe_path = "/usr/local/bin:/usr/bin:/bin";
    // import / inbox_processor / report: asked before each run whether the subscriber's
    // config_id still names a row of the platform's config table; an error fails the delivery
    // with its message as the reason (storage/config_check.h). Unset: no check.
    std::function<status(job_type, std::optional<std::int32_t>)> check_config;
    // Where running handler processes are recorded (process_registry.h); null: nowhere.
    std::shared_ptr<const process_group_registry> registry;
    // Where persistent subscribers' deliveries go; null: they run one process each, as before.
    std::shared_ptr<persistent_workers> workers;
};

// The runner for one job type; fails only on a malformed --job-command. A job type that
// lacks its command gets a runner that fails every delivery with that reason.
result<std::shared_ptr<job_runner>> make_job_runner(job_type type, const handler_settings& s);

// How a persistent subscriber's workers start (SPEC 7.3): its program by the rules above, with
// PUBSUB_PROTOCOL and without the per-event variables. The runners and
// persistent_workers::set_launcher use it.
result<worker_launch> worker_launch_for(const subscriber& sub, const handler_settings& s);

// The event as the JSON object handlers read on stdin.
std::string event_json_for_handler(const delivery& d);

}  // namespace pubsub
