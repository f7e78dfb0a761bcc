// The per-path indexes of a compiled_matcher program and the program itself.
//
// Each index maps an event value to the subscribers anchored on a condition that value may
// satisfy; the caller then runs the full filter of each. Build with add() (program-local ids),
// then finish() once, which lays the candidate runs out in the arena (candidates.h): the runs
// of a hashed index bucket by bucket, so that its directory leads straight to them; the other
// indexes keep candidate references. After that the index is immutable; probes are const and
// thread-safe.
#pragma once

#include <algorithm>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "filter/candidates.h"
#include "filter/compiled_filter.h"
#include "filter/matcher.h"

namespace pubsub::filter_detail {

using posting = std::vector<std::uint32_t>;
using posting_span = std::span<const std::uint32_t>;

// Build time: appends program-local subscriber `sub`'s run to the arena, its header holding
// `key` (the hash it is posted under, 0 for none), and returns the run's reference.
using place_fn = std::function<candidate_ref(std::uint32_t sub, std::uint64_t key)>;

class hashed_postings;
// One pending look-up of an event value's hash. The matcher collects every probe of an event
// before resolving any, so that the cache misses of different probes overlap instead of
// following each other (each probe is a chain: filter, directory, the bucket's runs).
struct hash_probe {
    const hashed_postings* postings;
    std::uint64_t hash;
};
using probe_list = std::vector<hash_probe>;

// Subscribers by key hash. Keys themselves are not kept: two keys whose 64-bit hashes collide
// share a list, which only adds a candidate that its filter then rejects (every candidate's
// whole filter is evaluated).
//
// Three levels, the first two much smaller than the runs (they stay in cache where the runs do
// not): a filter (8 to 16 bits per key, two bits of one word per hash) that stops most values
// nobody indexed; a directory of buckets (a 4-byte record number per bucket, one or two
// buckets per key, so most buckets hold one run or none); and the candidate runs themselves,
// which finish() lays out in the arena bucket by bucket, each header holding the hash it is
// posted under. A probe that passes the filter reads its bucket's entry, then the bucket's
// records, which are already the runs to check: one memory latency per event where a hash
// table of references cost two (the table cell, then the run it names). A subscriber posted
// under several keys ($in) has one run per key.
class hashed_postings {
  public:
    void add(std::uint64_t h, std::uint32_t sub) { pending_.emplace_back(h, sub); }
    void finish(const candidate_arena& arena, const place_fn& place);
    bool empty() const { return bloom_.empty(); }
    // Two steps of a look-up, for the matcher to interleave across probes: queue (which tests
    // the filter and prefetches the directory entry of a hash that passes), then records.
    // Most probes (every 6-byte substring of a string, for globs) stop at the filter, so only
    // the few that pass are kept.
    void queue(std::uint64_t h, probe_list& out) const {
        const std::uint64_t bits = bloom_bits(h);
        if ((bloom_[(h >> 6) & bloom_mask_] & bits) != bits) return;
        __builtin_prefetch(&dir_[bucket(h)]);
        out.push_back({this, h});
    }
    // The arena records [first, last) of h's bucket: the runs whose header key may be h.
    std::pair<std::uint32_t, std::uint32_t> records(std::uint64_t h) const {
        const std::size_t b = bucket(h);
        return {dir_[b], dir_[b + 1]};
    }

  private:
    // Two bits of one filter word per hash: one load, like one bit, and at 8 to 16 bits per key
    // 1.4-4.9% false positives against 6-12% (each costs a directory entry and perhaps a
    // bucket's records).
    static std::uint64_t bloom_bits(std::uint64_t h) {
        return std::uint64_t{1} << (h & 63) | std::uint64_t{1} << (h >> 58);
    }
    std::size_t bucket(std::uint64_t h) const {
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ULL) >> shift_);
    }
    std::vector<std::uint64_t> bloom_;
    std::size_t bloom_mask_ = 0;
    std::vector<std::uint32_t> dir_;  // bucket -> its first record; one more at the end
    unsigned shift_ = 63;
    std::vector<std::pair<std::uint64_t, std::uint32_t>> pending_;  // build time only
};

// Exact values (equality and $in), by hash_value (so 1 and 1.0 are one key).
class eq_index {
  public:
    void add(const value_ref& key, std::uint32_t sub) { postings_.add(hash_value(key), sub); }
    void finish(const candidate_arena& a, const place_fn& place) { postings_.finish(a, place); }
    void probe(const value_ref& v, probe_list& out) const {
        if (!postings_.empty()) postings_.queue(hash_value(v), out);
    }

  private:
    hashed_postings postings_;
};

// Literal prefixes (or suffixes, from_end) of strings. A probe hashes the event string one
// byte at a time (FNV-1a) and looks up only the lengths some literal has: O(length of s).
class affix_index {
  public:
    explicit affix_index(bool from_end) : from_end_(from_end) {}
    void add(const std::string& literal, std::uint32_t sub);
    void finish(const candidate_arena& a, const place_fn& place) { postings_.finish(a, place); }
    void probe(std::string_view s, probe_list& out) const {
        if (postings_.empty()) return;
        std::uint64_t h = fnv_offset;
        const std::size_t n = std::min(s.size(), has_len_.size() - 1);
        for (std::size_t len = 0;; ++len) {
            if (has_len_[len]) postings_.queue(h ^ len, out);
            if (len == n) break;
            h = step(h, from_end_ ? s[s.size() - 1 - len] : s[len]);
        }
    }

  private:
    static constexpr std::uint64_t fnv_offset = 0xcbf29ce484222325ULL;
    static std::uint64_t step(std::uint64_t h, char c) {
        return (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
    }
    bool from_end_;
    hashed_postings postings_;
    std::vector<char> has_len_;  // has_len_[n]: some literal is n bytes long
};

// Substrings ("grams") of 3 or 6 bytes from the literal runs inside globs like "*_orders_*":
// a probe looks up every 3- and 6-byte substring of the event string, O(length of s). The
// probe keeps the last 8 bytes in a word as it walks the string, so each gram's hash is a mask
// and one mix, not a hash of its bytes.
class gram_index {
  public:
    static constexpr std::size_t short_len = 3, long_len = 6;
    void add(std::string_view gram, std::uint32_t sub) {
        std::uint64_t w = 0;
        for (char c : gram) w = w << 8 | static_cast<unsigned char>(c);
        postings_.add(hash(w, gram.size()), sub);
        has_[gram.size() == long_len] = true;
    }
    void finish(const candidate_arena& a, const place_fn& place) { postings_.finish(a, place); }
    void probe(std::string_view s, probe_list& out) const {
        if (postings_.empty()) return;
        std::uint64_t w = 0;
        for (std::size_t i = 0; i < s.size(); ++i) {
            w = w << 8 | static_cast<unsigned char>(s[i]);
            if (has_[0] && i + 1 >= short_len) postings_.queue(hash(w, short_len), out);
            if (has_[1] && i + 1 >= long_len) postings_.queue(hash(w, long_len), out);
        }
    }

  private:
    // The last `len` bytes of w, mixed (murmur3's finalizer: the bloom filter reads low bits).
    static std::uint64_t hash(std::uint64_t w, std::size_t len) {
        std::uint64_t h = (w & ((std::uint64_t{1} << (8 * len)) - 1)) ^ std::uint64_t{len} << 56;
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        return h ^ h >> 33;
    }
    hashed_postings postings_;
    bool has_[2] = {false, false};
};

// Numeric bounds: lower bounds ($gt/$gte) ascending, upper bounds ($lt/$lte) descending. A
// probe walks only the bounds the value satisfies.
class range_index {
  public:
    void add(const compiled_condition& c, std::uint32_t sub);
    void finish(const place_fn& place);  // sorts; places the runs
    template <class F>
    [[gnu::always_inline]] inline void probe(const value_ref& v, F&& f) const {
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
    posting exists;  // program-local ids until finish(), then candidate references

    // The hashed indexes' runs first, bucket by bucket; then the others'.
    void finish_hashed(const candidate_arena& a, const place_fn& place) {
        eq.finish(a, place);
        prefix.finish(a, place);
        suffix.finish(a, place);
        infix.finish(a, place);
    }
    void finish_others(const place_fn& place) {
        range.finish(place);
        for (std::uint32_t& sub : exists) sub = place(sub, 0);
    }
};

}  // namespace pubsub::filter_detail

namespace pubsub {

// The indexes post candidate record numbers (candidates.h), not subscriber ids.
struct compiled_matcher::program {
    filter_detail::path_set paths;
    filter_detail::candidate_arena candidates;
    std::vector<filter_detail::compiled_node> trees;  // by program-local id; only $or/$not ones
    std::vector<filter_detail::slot_index> slots;     // by slot
    filter_detail::posting always;                    // evaluated on every event (references)
    std::uint32_t size = 0;                           // subscribers

    static std::unique_ptr<program> build(const std::vector<const matcher_entry*>& entries);
};

}  // namespace pubsub
