#include "router/event.h"

#include <chrono>

namespace pubsub {

std::int64_t now_us() {
    using namespace std::chrono;
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
}

std::string_view to_string(event_status s) {
    switch (s) {
        case event_status::pending:
            return "pending";
        case event_status::processing:
            return "processing";
        case event_status::completed:
            return "completed";
        case event_status::failed:
            return "failed";
        case event_status::cancelled:
            return "cancelled";
    }
    return "unknown";
}

}  // namespace pubsub
