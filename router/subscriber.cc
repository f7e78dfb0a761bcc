#include "router/subscriber.h"

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

}  // namespace pubsub
