// json_scan: the one reader of the JSON the doors receive (socket lines, pg_notify payloads).
//
// A strict RFC 8259 validator that also refuses what PostgreSQL cannot store in text or jsonb
// (SPEC 7.1), naming the path of the value, e.g. `event_data.list[2].s: \u0000 is not allowed
// (PostgreSQL cannot store it)`. The classes it refuses beyond JSON's grammar:
//   - U+0000 in a string or key, escaped (\u0000) or raw (text and jsonb cannot hold it);
//   - an unpaired UTF-16 surrogate escape (\ud800 alone; jsonb has no UTF-8 for it);
//   - a number outside PostgreSQL's numeric: more than 131072 digits before the decimal point,
//     more than 16383 after it (counting what a negative exponent adds), or an exponent of
//     2^30 - 1 or more in magnitude;
//   - nesting deeper than max_depth (PostgreSQL's parser recurses; simdjson's default bound).
// Everything else jsonb accepts is accepted, big integers and long decimals included: the
// scan never converts a number. Where an object repeats a key it notes the earlier
// occurrences, so the caller can keep only the last one, as jsonb does, in one linear copy.
//
// Not thread-safe (reuses its buffers); one per thread. Allocates only while buffers grow.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pubsub {

// One member of the root object, as sent.
struct json_member {
    std::string_view key;    // between the quotes, escapes as sent
    std::string_view value;  // the value's text
    bool key_escaped = false;
    bool repeats_keys = false;  // some object inside value repeats a key
};

class json_scan {
  public:
    static constexpr int max_depth = 1024;

    // Validates `text` as one JSON value. On success, members() are the root object's members
    // in order (empty when the root is not an object); root() is the root value's text.
    status scan(std::string_view text);

    const std::vector<json_member>& members() const { return members_; }
    std::string_view root() const { return root_; }
    // The members (key to value, as sent) whose key a later member of their object repeats,
    // in no particular order; each is followed by a ',' in the text.
    const std::vector<std::string_view>& repeated() const { return repeated_; }

  private:
    struct frame {
        bool array = false;
        std::string_view key;     // the current member's key (objects)
        std::uint32_t index = 0;  // the current element (arrays)
        std::uint32_t keys_begin = 0;
    };
    struct key_ref {
        std::string_view raw;
        bool escaped = false;
        const char* member_end = nullptr;  // the member is [raw.data() - 1, member_end)
    };

    bool value();
    bool object();
    bool array();
    bool string(bool& escaped);
    bool escape();
    bool number();
    bool literal(std::string_view word);
    void ws();
    bool fail_syntax(const char* what);
    bool fail_path(const std::string& what);
    bool repeats(std::uint32_t keys_begin);
    void note_repeated(std::uint32_t keys_begin);
    std::string path() const;

    const char* begin_ = nullptr;
    const char* p_ = nullptr;
    const char* end_ = nullptr;
    std::vector<frame> frames_;
    std::vector<key_ref> keys_;  // keys of the open objects
    std::vector<json_member> members_;
    std::string_view root_;
    std::vector<std::string_view> repeated_;
    std::vector<std::string_view> views_;  // scratch of repeats()
    std::vector<std::pair<std::string, std::uint32_t>> sorted_;  // scratch of note_repeated()
    std::string error_;
    std::string problem_;        // what PostgreSQL cannot store in the string just read
    std::uint32_t repeats_ = 0;  // objects seen that repeat a key
};

// The value of the four hex digits at p, or -1 when one is not a hex digit.
int json_hex4(const char* p);

// The text between a validated string token's quotes, unescaped to UTF-8.
std::string json_unescape(std::string_view raw);

// `path` (or a key) as an error shows it: beyond about 200 bytes, shortened in the middle with
// "...", keeping its head (which field) and tail (where inside).
std::string json_path_shown(std::string path);

// Whether `text`, JSON text already known to be valid (or blank), holds only what PostgreSQL
// can store (SPEC 7.1); the refusal names the path, as at the doors. For JSON that reaches the
// database outside the doors, such as a subscriber's filter.
status json_storable(std::string_view text);

// `text` without the members json_scan::repeated() lists (those inside it), each with the ','
// after it: every object keeps the last occurrence of a key, at its place, as jsonb does. One
// linear copy; the rest is as sent.
std::string json_drop_repeated(std::string_view text,
                               const std::vector<std::string_view>& repeated);

}  // namespace pubsub
