// candidate_arena: the subscribers of one matcher program laid out for checking a candidate
// with as few cache misses as possible.
//
// Each subscriber is one run of adjacent 32-byte records: a header (its program-local id, its
// subscriber_index, how many conditions), then each condition of its filter followed by the
// values of its $in/$nin list, then the bytes of the strings those records view. The indexes
// post the header's record number, so a candidate costs one run of adjacent cache lines
// (which the hardware prefetcher streams), where a tree of vectors costs one miss per node.
// Filters with $or or $not keep their compiled_node tree (the header says so).
//
// Build with add() then finish(); afterwards immutable, and evaluate() is const and
// thread-safe. Records view strings inside the arena itself, so the arena must not be copied
// (it is not copyable).
#pragma once

#include <cstdint>
#include <vector>

#include "router/filter/compiled_filter.h"

namespace pubsub::filter_detail {

// 32 bytes: a header, a condition, a list value, or raw string bytes.
struct alignas(32) flat_record {
    std::uint32_t slot = 0;   // condition: the slot; header: the program-local id
    std::uint32_t extra = 0;  // condition: list size ($in/$nin) or glob number; header: out index
    op kind = op::eq;         // condition
    bool exists = true;       // condition ($exists)
    bool tree = false;        // header: evaluate the compiled_node instead
    value_kind vkind = value_kind::null;  // condition, list value: the operand's kind
    bool b = false;                       // the operand, when boolean
    std::uint16_t count = 0;              // header: number of conditions
    std::uint32_t str = 0;   // string operand: offset of its bytes from the arena's start
    std::uint32_t size = 0;  // string operand: length
    union {
        std::int64_t i = 0;
        std::uint64_t u;
        double d;
    };

    void set_operand(const value_ref& v);
    value_ref operand(const char* arena) const;
};
static_assert(sizeof(flat_record) == 32);

class candidate_arena {
  public:
    candidate_arena() = default;
    candidate_arena(const candidate_arena&) = delete;
    candidate_arena& operator=(const candidate_arena&) = delete;

    // Appends a subscriber; returns its header's record number. A filter that is not a pure
    // conjunction (only `all` nodes: top-level fields and $and) gets a header marked `tree`.
    std::uint32_t add(std::uint32_t id, std::uint32_t out_index, const compiled_node& n);
    void finish();  // points the records' strings into the arena; call once, after every add

    const flat_record& header(std::uint32_t at) const { return records_[at]; }
    // The header's cache line and the next one (__builtin_prefetch never faults).
    void prefetch(std::uint32_t at) const {
        const char* p = reinterpret_cast<const char*>(records_.data() + at);
        __builtin_prefetch(p);
        __builtin_prefetch(p + 64);
    }
    // Whether every condition of the (non-tree) candidate at `at` holds.
    bool evaluate(std::uint32_t at, const extract_state& ev) const;

  private:
    void add_conditions(const compiled_node& n, std::string& bytes);
    void add_string(std::string_view s, std::string& bytes);

    struct fixup {
        std::uint32_t record, base, offset, size;  // records_[record].str = offset of the bytes
    };
    std::vector<flat_record> records_;
    std::vector<glob_tokens> globs_;
    std::vector<fixup> fixups_;  // build time only
};

}  // namespace pubsub::filter_detail
