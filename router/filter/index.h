// The per-path indexes of a compiled_matcher program and the program itself.
//
// Each index maps an event value to the subscribers (program-local ids) anchored on a
// condition that value may satisfy; the caller then runs the full filter of each. Built once,
// then immutable; probes are const and thread-safe.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "router/filter/compiled_filter.h"
#include "router/filter/matcher.h"

namespace pubsub::filter_detail {

using posting = std::vector<std::uint32_t>;

// Exact values (equality and $in), hashed with hash_value. Keys view strings owned elsewhere.
class eq_index {
  public:
    void add(const value_ref& key, std::uint32_t sub);
    bool empty() const { return entries_.empty(); }
    template <class F>
    void probe(const value_ref& v, F&& f) const {
        auto it = by_hash_.find(hash_value(v));
        if (it == by_hash_.end()) return;
        for (std::uint32_t e : it->second) {
            if (values_equal(entries_[e].key, v)) f(entries_[e].subs);
        }
    }

  private:
    struct entry {
        value_ref key;
        posting subs;
    };
    std::vector<entry> entries_;
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_hash_;
};

// Literal prefixes (or suffixes, from_end) of strings. A probe hashes the event string one
// byte at a time (FNV-1a) and looks up only the lengths some literal has: O(length of s).
class affix_index {
  public:
    explicit affix_index(bool from_end) : from_end_(from_end) {}
    void add(const std::string& literal, std::uint32_t sub);
    bool empty() const { return entries_.empty(); }
    template <class F>
    void probe(std::string_view s, F&& f) const {
        if (entries_.empty()) return;
        std::uint64_t h = fnv_offset;
        const std::size_t n = std::min(s.size(), has_len_.size() - 1);
        for (std::size_t len = 0;; ++len) {
            if (has_len_[len]) lookup(h, s, len, f);
            if (len == n) break;
            h = step(h, from_end_ ? s[s.size() - 1 - len] : s[len]);
        }
    }

  private:
    static constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
    static std::uint64_t step(std::uint64_t h, char c) {
        return (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    template <class F>
    void lookup(std::uint64_t h, std::string_view s, std::size_t len, F& f) const {
        auto it = by_hash_.find(h);
        if (it == by_hash_.end()) return;
        std::string_view part = from_end_ ? s.substr(s.size() - len) : s.substr(0, len);
        for (std::uint32_t e : it->second) {
            if (entries_[e].literal == part) f(entries_[e].subs);
        }
    }
    struct entry {
        std::string literal;
        posting subs;
    };
    bool from_end_;
    std::vector<entry> entries_;
    std::vector<char> has_len_;  // has_len_[n]: some literal is n bytes long
    std::unordered_map<std::uint64_t, std::vector<std::uint32_t>> by_hash_;
};

// Three-byte substrings ("grams") of the literal runs inside globs like "*_orders_*": a probe
// looks up every gram of the event string, O(length of s).
class gram_index {
  public:
    static std::uint32_t code(std::string_view three) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(three[0])) << 16 |
               static_cast<std::uint32_t>(static_cast<unsigned char>(three[1])) << 8 |
               static_cast<unsigned char>(three[2]);
    }
    void add(std::string_view three, std::uint32_t sub) { grams_[code(three)].push_back(sub); }
    bool empty() const { return grams_.empty(); }
    template <class F>
    void probe(std::string_view s, F&& f) const {
        if (grams_.empty()) return;
        for (std::size_t i = 0; i + 3 <= s.size(); ++i) {
            auto it = grams_.find(code(s.substr(i, 3)));
            if (it != grams_.end()) f(it->second);
        }
    }

  private:
    std::unordered_map<std::uint32_t, posting> grams_;
};

// Numeric bounds: lower bounds ($gt/$gte) ascending, upper bounds ($lt/$lte) descending. A
// probe walks only the bounds the value satisfies.
class range_index {
  public:
    void add(const compiled_condition& c, std::uint32_t sub);
    void finish();  // sorts; call once after the last add
    bool empty() const { return lower_.empty() && upper_.empty(); }
    template <class F>
    void probe(const value_ref& v, F&& f) const {
        if (!is_number(v.kind)) return;
        for (const bound& b : lower_) {
            int cmp = *compare_values(v, b.value);
            if (cmp < 0) break;
            if (cmp > 0 || !b.strict) f(b.sub);
        }
        for (const bound& b : upper_) {
            int cmp = *compare_values(v, b.value);
            if (cmp > 0) break;
            if (cmp < 0 || !b.strict) f(b.sub);
        }
    }

  private:
    struct bound {
        value_ref value;
        bool strict;
        std::uint32_t sub;
    };
    std::vector<bound> lower_, upper_;
};

struct slot_index {
    eq_index eq;
    affix_index prefix{false}, suffix{true};
    gram_index infix;
    range_index range;
    posting exists;
};

}  // namespace pubsub::filter_detail

namespace pubsub {

struct compiled_matcher::program {
    filter_detail::path_set paths;
    std::vector<filter_detail::compiled_node> filters;  // by program-local id
    std::vector<std::uint32_t> out_index;               // program-local id -> subscriber_index
    std::vector<filter_detail::slot_index> slots;       // by slot
    filter_detail::posting always;                      // evaluated on every event

    static std::unique_ptr<program> build(const std::vector<const matcher_entry*>& entries);
};

}  // namespace pubsub
