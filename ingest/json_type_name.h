// json_type_name: how error messages name the type of a JSON value a request got wrong
// ("event_data must be a JSON object, got an array"), shared by the socket door and the HTTP
// admin API so both speak alike. Pure function, thread-safe.
#pragma once

#include <simdjson.h>

#include <string>

namespace pubsub {

// "an array", "an object", "a number", "a string", "a boolean" or "null".
std::string json_type_name(simdjson::dom::element_type t);

}  // namespace pubsub
