#include "router/subscriber.h"

#include <string>

namespace pubsub {

std::string_view to_string(job_type t) {
    switch (t) {
        case job_type::import:
            return "import";
        case job_type::inbox_processor:
            return "inbox_processor";
        case job_type::report:
            return "report";
        case job_type::custom:
            return "custom";
        case job_type::noop:
            return "noop";
    }
    return "unknown";
}

std::optional<job_type> parse_job_type(std::string_view s) {
    for (int i = 0; i < job_type_count; ++i) {
        auto t = static_cast<job_type>(i);
        if (to_string(t) == s) return t;
    }
    return std::nullopt;
}

std::string_view to_string(run_mode m) {
    return m == run_mode::persistent ? "persistent" : "process";
}

std::optional<run_mode> parse_run_mode(std::string_view s) {
    if (s == "process") return run_mode::process;
    if (s == "persistent") return run_mode::persistent;
    return std::nullopt;
}

std::string check_run_mode(job_type job, run_mode mode, int workers) {
    if (workers < min_workers || workers > max_workers) {
        return "workers: must be " + std::to_string(min_workers) + " to " +
               std::to_string(max_workers) + ", got " + std::to_string(workers);
    }
    if (mode == run_mode::persistent && job == job_type::noop) {
        return "run_mode: persistent needs a job type that runs a program (custom, import, "
               "inbox_processor, report), not noop";
    }
    return {};
}

}  // namespace pubsub
