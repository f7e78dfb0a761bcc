// The filter language of subscribers (SPEC 5): parsing, the reference interpreter, explain.
//
// A filter is a JSON object whose keys are field paths and whose values are conditions, all of
// which must hold:
//   paths       event_type, event_source, source (= event_source), event_data.a.b (object keys
//               below event_data; a key holding a '.' cannot be addressed; paths never step
//               into arrays).
//   conditions  "text"             equality, or a glob when it holds an unescaped * or ?
//                                  (\ escapes *, ? and \; any other \ is literal). Without a
//                                  wildcard the unescaped text is compared; $eq is never a glob.
//               1, 2.5, true, null equality
//               {"$op": x, ...}    $eq $ne $gt $gte $lt $lte $in $nin $exists $prefix $suffix
//                                  $glob; several operators in one object must all hold.
//   top level   "$or": [f, ...], "$and": [f, ...] (non-empty arrays of filters), "$not": f.
// Globs: * matches any sequence of bytes (also '/'), ? one UTF-8 character.
//
// Type rules:
//   - Equality needs the same type: "1" never equals 1; numbers compare by value exactly (1 ==
//     1.0; int64, uint64 and double are compared without rounding, so 9007199254740993 !=
//     9007199254740992.0). JSON null in the event equals null in the filter.
//   - $gt/$gte/$lt/$lte compare two numbers or two strings (bytewise); any other pair simply
//     fails the condition. $prefix/$suffix/$glob hold only for string values.
//   - A missing field fails every condition except $exists:false, $ne and $nin, which hold.
//   - An array value: a condition holds if it holds for some element; $ne and $nin hold if no
//     element equals (so [] passes $ne and fails $eq). Only scalar elements count; objects and
//     nested arrays never equal anything. An object value only counts for $exists (and $ne/$nin
//     hold on it).
//   - Duplicate keys in event_data: the last occurrence counts, as jsonb keeps it (an earlier
//     occurrence, and everything below it, is not seen). Keys are compared unescaped.
//   - Duplicate keys in a filter (at any level: paths, operator objects, $or/$and/$not
//     members): the last occurrence counts, as jsonb stores the filter; an earlier one neither
//     applies nor can make the filter invalid.
//   - Numbers in events beyond 64-bit integers count as the nearest double (9.99e29 for
//     999999999999999999999999999999), beyond double's range as +-infinity or 0: they compare
//     by that value with every number of a filter, so they match $gt/$lt as expected, equal
//     no filter integer, and never disturb other fields (in filters they are refused).
//   - event_data that is not a JSON object makes every event_data path missing. Malformed
//     JSON is outside the contract (the doors validate events): no crash, but which fields
//     are seen is unspecified (both evaluators read only what they need).
//   - {}, null, "" and whitespace match every event of the subscriber's event_type.
//
// Thread-safety: parse_filter is reentrant; a filter is immutable; reference_match and
// explain_mismatch are reentrant (each call parses the event itself).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "filter/ast.h"
#include "base/result.h"

namespace pubsub {

using filter_ptr = std::shared_ptr<const filter>;

// Validates and parses; errors name the path and the problem, e.g.
// `event_data.size: unknown operator "$gtx"`. Never throws.
result<filter_ptr> parse_filter(std::string_view json);

// What a filter looks at. data_json is the event_data object as JSON text.
// data_padded: the caller promises at least SIMDJSON_PADDING (64) readable bytes after
// data_json (e.g. a std::string with that much spare capacity); when false, the matcher parses
// a padded copy.
struct event_view {
    std::string_view type, source, data_json;
    bool data_padded = false;
};

// The oracle: a plain tree walk over a DOM of the event. Slow, obviously correct.
bool reference_match(const filter& f, const event_view& e);

// The first condition that failed, human-readable (e.g.
// `event_data.size: {"$gt":1000} failed, value 10`), or nullopt when the filter matches.
std::optional<std::string> explain_mismatch(const filter& f, const event_view& e);

}  // namespace pubsub
