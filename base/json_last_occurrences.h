// last_occurrences: the members of a parsed JSON object that count, as jsonb keeps them.
// A pure function: reentrant; the views it returns point into the parsed document.
#pragma once

#include <simdjson.h>

#include <set>
#include <string_view>
#include <vector>

namespace pubsub {

// Where an object repeats a key, only its last occurrence, in order (SPEC 7.1: the last
// occurrence counts everywhere), so what is checked is what the table stores.
inline std::vector<simdjson::dom::key_value_pair> last_occurrences(simdjson::dom::object o) {
    std::vector<simdjson::dom::key_value_pair> all(o.begin(), o.end()), kept;
    std::set<std::string_view> later;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
        if (later.insert(it->key).second) kept.push_back(*it);
    }
    return {kept.rbegin(), kept.rend()};
}

}  // namespace pubsub
