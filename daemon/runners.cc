#include "daemon/runners.h"

#include "admin/timed_runner.h"
#include "base/logger.h"
#include "handlers/process_job_runner.h"

namespace pubsub {

std::shared_ptr<process_group_registry> open_handler_registry(const std::string& data_dir) {
    auto groups = std::make_shared<process_group_registry>(data_dir + "/handlers");
    if (status s = groups->open(); !s.ok()) {
        log_line(log_level::warn, "running handlers are not recorded: " + s.message());
        return nullptr;
    }
    groups->kill_orphans([](const std::string& m) { log_line(log_level::warn, m); });
    return groups;
}

make_runners_fn runner_factory(std::shared_ptr<process_group_registry> groups,
                               std::shared_ptr<persistent_workers> workers, config_check& configs,
                               delivery_metrics& latencies) {
    return [groups = std::move(groups), workers = std::move(workers), &configs,
            &latencies](const daemon_config& c) -> result<std::vector<runner_setup>> {
        handler_settings hs;
        hs.registry = groups;
        hs.workers = workers;
        hs.scripts_dirs = c.scripts_dirs;
        hs.job_commands = c.job_commands;
        hs.check_config = [&configs](job_type t, std::optional<std::int32_t> id) {
            return configs.check(t, id);
        };
        // Persistent workers start from the same settings, also between deliveries. The
        // launcher's copy holds no pointer to the workers: it lives inside them, and that
        // pointer would keep them alive for ever (a cycle of shared_ptrs).
        handler_settings launch_settings = hs;
        launch_settings.workers.reset();
        workers->set_launcher([launch_settings](const subscriber& sub) {
            return worker_launch_for(sub, launch_settings);
        });
        std::vector<runner_setup> out;
        for (int t = 0; t < job_type_count; ++t) {
            auto type = static_cast<job_type>(t);
            auto it = c.concurrency.find(type);
            int threads = it != c.concurrency.end() ? it->second : (type == job_type::noop ? 1 : 4);
            auto runner = make_job_runner(type, hs);
            if (!runner.ok()) return runner.error();
            out.push_back({type,
                           std::make_shared<admin::timed_runner>(std::move(*runner), latencies),
                           threads});
        }
        return out;
    };
}

}  // namespace pubsub
