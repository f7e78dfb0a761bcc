// Event field extraction for the compiled matcher: one pass over event_data that reads only the
// paths some filter uses (a trie of keys) and skips everything else. Easy documents (ASCII
// strings without escapes) take a strict hand-written scan; others simdjson's DOM, and what the
// DOM refuses simdjson on-demand (extract.cc).
//
// Slots: 0 is event_type, 1 is event_source, 2.. are the event_data paths of a path_set.
// A path_set is built once and then immutable (shareable across threads); extraction writes
// into a per-thread extract_state. Same value semantics as the reference (filter.h): last
// duplicate key wins, arrays give their scalar elements, objects are present without items.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "filter/filter.h"

namespace pubsub::filter_detail {

inline constexpr std::uint32_t slot_event_type = 0;
inline constexpr std::uint32_t slot_event_source = 1;

class path_set {
  public:
    path_set();
    // Build time: the slot of a path, adding it if new.
    std::uint32_t intern(const field_path& p);
    std::uint32_t slot_count() const { return slot_count_; }
    bool has_data_paths() const { return slot_count_ > 2; }

    struct child {
        std::string key;
        std::uint32_t node = 0;
        bool plain = false;  // no '\\' or '"' and shorter than simdjson's padding: its JSON
                             // text is itself, comparable with a document's raw key bytes
    };
    struct trie_node {
        std::vector<child> children;
        std::int32_t slot = -1;
    };
    const std::vector<trie_node>& nodes() const { return nodes_; }

  private:
    std::vector<trie_node> nodes_;  // nodes_[0] is the event_data object itself
    std::uint32_t slot_count_ = 2;
};

struct slot_state {
    bool present = false;
    std::uint32_t begin = 0, end = 0;  // items_[begin, end)
};

// Per-thread scratch of extraction. Strings in items point into the parsers' buffers or into
// the event_view, valid until the next extract() on this state. Not thread-safe.
class extract_state {
  public:
    extract_state();
    ~extract_state();
    extract_state(const extract_state&) = delete;
    extract_state& operator=(const extract_state&) = delete;

    // Fills every slot of `paths` from the event. Allocates only while buffers grow.
    void extract(const path_set& paths, const event_view& e);

    const slot_state& slot(std::uint32_t s) const { return slots_[s]; }
    const value_ref* items() const { return items_.data(); }

    struct impl;  // the parser and the walk, in extract.cc

  private:
    std::unique_ptr<impl> impl_;
    std::vector<slot_state> slots_;
    std::vector<value_ref> items_;
};

}  // namespace pubsub::filter_detail
