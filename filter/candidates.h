// candidate_arena: the subscribers of one matcher program laid out for checking a candidate
// with as few cache misses as possible.
//
// Each subscriber is one run of adjacent 32-byte records: a header (its program-local id, its
// subscriber_index, how many conditions), then each condition of its filter followed by the
// values of its $in/$nin list, then the bytes of the strings (and glob tokens) those records
// view, so checking a glob reads nothing outside the run. The indexes
// post a candidate_ref: the header's record number plus the run's length, so gathering can
// prefetch every cache line of the run before the header is read; a candidate then costs
// about one memory latency, where a tree of vectors costs one miss per node.
// Filters with $or and $not are laid out the same way: a node record (any, all or negate; its
// item count; the records it spans) followed by its items, so the whole filter is one run.
// Only a node of 65,535 items or more keeps its compiled_node tree (the header says so).
//
// Build with add() then finish(); afterwards immutable, and evaluate() is const and
// thread-safe. Records view strings inside the arena itself, so the arena must not be copied
// (it is not copyable).
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "filter/compiled_filter.h"
#include "filter/huge_pages.h"

namespace pubsub::filter_detail {

// 32 bytes: a header, a condition, a node, a list value, or raw string bytes.
struct alignas(32) flat_record {
    std::uint32_t slot = 0;   // condition: the slot; header: the program-local id
    std::uint32_t extra = 0;  // condition: list size ($in/$nin), glob: 1 for segments; header: out
                              // index; node: the records after it that it spans
    op kind = op::eq;         // condition
    bool exists = true;       // condition ($exists)
    bool tree = false;        // header: evaluate the compiled_node instead
    value_kind vkind = value_kind::null;  // condition, list value: the operand's kind
    bool b = false;                       // the operand, when boolean
    std::uint8_t node = 0;                // 0: a condition; else a node: 1 + its node::kind_t
    std::uint16_t count = 0;              // header (an implicit `all`), node: number of items
    std::uint32_t str = 0;   // string operand (glob: its tokens): offset from the arena's start
    std::uint32_t size = 0;  // string operand: length; glob: the number of segments or tokens;
                             // header: the records of the run
    union {                  // header: u, the key hash the run is posted under (0: none)
        std::int64_t i = 0;
        std::uint64_t u;
        double d;
    };

    void set_operand(const value_ref& v);
    value_ref operand(const char* arena) const;
};
static_assert(sizeof(flat_record) == 32);

// What the indexes post: the header's record number (low 28 bits) and how many records the
// run spans (top 4 bits, capped at 15: longer runs are prefetched in part).
using candidate_ref = std::uint32_t;

class candidate_arena {
  public:
    static constexpr unsigned run_shift = 28;
    static std::uint32_t record_of(candidate_ref r) { return r & ((1u << run_shift) - 1); }

    candidate_arena() = default;
    candidate_arena(const candidate_arena&) = delete;
    candidate_arena& operator=(const candidate_arena&) = delete;

    // Appends a subscriber's run, its header holding `key`; returns its reference. A
    // subscriber may have several runs (one per key it is posted under).
    candidate_ref add(std::uint32_t id, std::uint32_t out_index, const compiled_node& n,
                      std::uint64_t key);
    std::uint32_t size() const { return static_cast<std::uint32_t>(records_.size()); }
    static candidate_ref ref_of(std::uint32_t record, std::uint32_t run) {
        return record | std::min<std::uint32_t>(run, 15) << run_shift;
    }
    void finish();  // points the records' strings into the arena; call once, after every add

    const flat_record& header(candidate_ref r) const { return records_[record_of(r)]; }
    const flat_record& record(std::uint32_t k) const { return records_[k]; }
    // The cache lines of records [first, last), at most 8 of them.
    void prefetch(std::uint32_t first, std::uint32_t last) const {
        const char* p = reinterpret_cast<const char*>(records_.data() + first);
        const char* end = reinterpret_cast<const char*>(records_.data() + last);
        end = std::min(end, p + 8 * 64);
        for (; p < end; p += 64) __builtin_prefetch(p);
        __builtin_prefetch(end - 1);
    }
    // Every cache line of the run (__builtin_prefetch never faults).
    void prefetch(candidate_ref r) const {
        const char* p = reinterpret_cast<const char*>(records_.data() + record_of(r));
        const char* last = p + sizeof(flat_record) * ((r >> run_shift) | 1) - 1;
        for (; p < last; p += 64) __builtin_prefetch(p);
        __builtin_prefetch(last);
    }
    // Whether every condition of the (non-tree) candidate holds.
    bool evaluate(candidate_ref r, const extract_state& ev) const;

  private:
    bool evaluate_items(const flat_record* first, std::uint16_t count, node::kind_t kind,
                        const extract_state& ev) const;
    void add_items(const compiled_node& n, std::string& bytes);
    void add_node(const compiled_node& n, std::string& bytes);
    void add_condition(std::uint32_t slot, const compiled_condition& c, std::string& bytes);
    void add_string(std::string_view s, std::string& bytes);
    void add_glob(const glob_tokens& t, std::string& bytes);

    struct fixup {
        std::uint32_t record, base, offset, size;  // records_[record].str = offset of the bytes
    };
    std::vector<flat_record, huge_page_allocator<flat_record>> records_;
    std::vector<fixup> fixups_;  // build time only
};

}  // namespace pubsub::filter_detail
