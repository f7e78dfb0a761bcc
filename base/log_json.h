// log_json: the JSON form of a log line (--log-format json): one object per line,
//   {"ts":"2026-11-27T04:00:00.123Z","level":"info","msg":"pubsubd started","socket":"/x.sock"}
// built from what the logger holds: the message as is and the fields as logfmt text (logger.h),
// parsed back into keys and values (quoted values unescaped). Every value is a JSON string; a
// key that repeats, or that names ts, level or msg, gets "_" appended until it is unique. The
// text is valid UTF-8 whatever it is given: control bytes are escaped, and each byte that is
// not part of a valid UTF-8 sequence becomes U+FFFD. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace pubsub {

// The key/value pairs of logfmt `fields`: `key=plain` or `key="quoted with \" \\ \n \r \t
// \xNN"`. A word without `=` is a key with an empty value; unparsable rest is kept whole as the
// value of the key "fields".
std::vector<std::pair<std::string, std::string>> parse_logfmt_fields(std::string_view fields);

// Appends s as a JSON string literal that is valid UTF-8 (see above).
void append_json_utf8(std::string& out, std::string_view s);

// The whole line, without the final newline.
std::string log_json_line(std::string_view ts, std::string_view level, std::string_view msg,
                          std::string_view fields);

}  // namespace pubsub
