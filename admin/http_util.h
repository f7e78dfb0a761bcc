// http_util: small helpers of the admin API: JSON replies and errors, the request target split
// into path segments and decoded query parameters. Pure functions, thread-safe.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "admin/http_server.h"

namespace pubsub::admin {

// {"error":"<message>"} with the given status.
http_response error_reply(int status, std::string_view message);
// A JSON body (already serialized) with the given status.
http_response json_reply(int status, std::string body);

struct parsed_target {
    std::vector<std::string> segments;  // "/api/events/7" -> {"api", "events", "7"}
    std::map<std::string, std::string> query;
};

// Splits and percent-decodes (also '+' as space in the query); false on a bad %-escape or one
// that decodes to a NUL byte or to bytes that are not UTF-8.
bool parse_target(std::string_view target, parsed_target& out);

// Strict decimal parsing of a whole string (no sign for ids); false when not a number in range.
bool parse_int64(std::string_view s, std::int64_t& out);

}  // namespace pubsub::admin
