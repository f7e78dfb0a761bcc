// command_template: the configured command line of the import / inbox_processor / report job
// types, parsed once at configuration time and rendered into an argument vector per event.
//
//   /usr/bin/python3 /opt/etl/run_import.py --config {config_id} --event {event_id}
//
// Parsing splits words like a shell would, for the CONFIGURED text only: single quotes
// (literal), double quotes (where \" and \\ are escapes), backslash outside quotes; nothing is
// expanded ($, `, *, ~ are ordinary characters). Then each word may hold placeholders
// {config_id} {event_id} {event_type} {event_source} {subscriber} {attempt}, inside quotes or
// not; {{ and }} are literal braces. The program (first word) must be an absolute path (no PATH
// search) and may not hold placeholders, so event data can never choose what runs.
//
// Rendering substitutes values verbatim inside their word: a value never splits into several
// arguments and is never interpreted ("$(rm -rf /)", quotes and newlines stay literal).
//
// A command_template is an immutable value: render() is const and thread-safe.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pubsub {

// GCC 12's -Wshadow flags the scoped enumerator event_id against the type pubsub::event_id,
// though placeholder::event_id can never be confused with it.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wshadow"
enum class placeholder : std::uint8_t {
    config_id,
    event_id,
    event_type,
    event_source,
    subscriber,
    attempt
};
#pragma GCC diagnostic pop
std::string_view to_string(placeholder p);  // "config_id"

// The values of one delivery. The views must outlive the render() call only.
struct placeholders {
    std::optional<std::int32_t> config_id;  // renders as "" when absent; see uses()
    std::int64_t event_id = 0;
    std::string_view event_type;
    std::string_view event_source;
    std::string_view subscriber;
    int attempt = 1;
};

class command_template {
  public:
    // The argument vector for one delivery: argv[0] is the program.
    std::vector<std::string> render(const placeholders& values) const;

    // Whether any word holds {p} (e.g. refuse a subscriber without config_id up front).
    bool uses(placeholder p) const;

    const std::string& program() const;

  private:
    friend result<command_template> parse_command_template(std::string_view text);

    struct segment {
        bool is_placeholder = false;
        placeholder which = placeholder::config_id;
        std::string text;  // the literal, when !is_placeholder
    };
    using word = std::vector<segment>;
    std::vector<word> words_;
};

// Parses a configured command. Errors name the problem and its position, e.g.
// "command template: unterminated single quote (starting at column 12)",
// "command template: unknown placeholder {event} at column 30 (known: {config_id}, ...)".
result<command_template> parse_command_template(std::string_view text);

}  // namespace pubsub
