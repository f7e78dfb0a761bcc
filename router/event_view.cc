#include "router/event_view.h"

#include <simdjson.h>

namespace pubsub {

event_view make_event_view(const event& e) {
    event_view v{e.type, e.source, e.data_json};
    v.data_padded = e.data_json.capacity() >= e.data_json.size() + simdjson::SIMDJSON_PADDING;
    return v;
}

}  // namespace pubsub
