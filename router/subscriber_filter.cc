#include "filter/filter.h"
#include "router/matcher.h"

namespace pubsub {

status validate_subscriber_filter(std::string_view filter_json) {
    if (filter_json.empty()) return status();
    auto f = parse_filter(filter_json);
    return f.ok() ? status() : f.error();
}

}  // namespace pubsub
