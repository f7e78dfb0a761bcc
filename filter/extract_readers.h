// extract_readers: what the readers of event_data share (extract.cc, extract_fast.cc): the
// slots and items one extract() fills, and the per-node epochs that let a repeated key replace
// its earlier occurrence. Internal to extraction; one per extract_state, not thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "filter/extract.h"

namespace pubsub::filter_detail {

struct extract_target {
    std::vector<std::uint32_t> seen;  // per trie node: epoch of the last visit
    std::uint32_t epoch = 0;
    std::vector<slot_state>* slots = nullptr;
    std::vector<value_ref>* items = nullptr;
    const path_set* paths = nullptr;

    // A key a path uses is about to be read. When the object repeats it, the last occurrence
    // counts (as jsonb keeps it): what the earlier one filled, below it included, is dropped.
    void visit(std::uint32_t id) {
        if (seen[id] == epoch) forget(id);
        seen[id] = epoch;
    }
    void forget(std::uint32_t node) {
        const path_set::trie_node& n = paths->nodes()[node];
        if (n.slot >= 0) (*slots)[n.slot] = slot_state{};
        for (const path_set::child& c : n.children) forget(c.node);
    }

    void next_epoch() {
        if (++epoch == 0) std::fill(seen.begin(), seen.end(), epoch++);
        seen.resize(paths->nodes().size(), 0);
    }
};

// The fast scan (extract_fast.cc): a strict reader of the easy documents, those whose strings
// are printable ASCII without escapes. False when it gives up; the caller then clears what it
// filled and lets the general readers take the document.
bool scan_fast(extract_target& t, std::string_view data_json);

}  // namespace pubsub::filter_detail
