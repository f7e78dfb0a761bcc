// json_text: writing JSON string literals by hand, for the few places that build small JSON
// texts (socket replies, handler stdin, node heartbeats, watcher events). Pure functions.
#pragma once

#include <string>
#include <string_view>

namespace pubsub {

// Appends s as a quoted JSON string: quotes, backslashes and control characters escaped.
void append_json_string(std::string& out, std::string_view s);

}  // namespace pubsub
