// flat_table: a build-once open-addressing table from 64-bit hashes to posting lists, for the
// matcher's indexes. A cell holds the hash and the list's place (begin, count) in the caller's
// flat array, or, for a list of one, the subscriber itself: a probe that hits touches one or
// two adjacent cache lines and, for a single subscriber, nothing else. std::unordered_map would
// chase a bucket, a node and a vector. Several cells may share a hash; the caller tolerates
// the extra candidates. Not thread-safe to build; find() is const and thread-safe.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "filter/huge_pages.h"

namespace pubsub::filter_detail {

class flat_table {
  public:
    // count >= 1; for count == 1, `begin` is the single subscriber itself.
    void insert(std::uint64_t hash, std::uint32_t begin, std::uint32_t count) {
        if ((count_ + 1) * 2 > cells_.size()) grow();
        place(cell{hash, begin, count});
        ++count_;
    }

    void prefetch(std::uint64_t hash) const {
        if (!cells_.empty()) __builtin_prefetch(&cells_[home(hash)]);
    }

    // Calls f(span of subscribers) for every list inserted with this hash; `flat` is the
    // array that begin indexes for lists longer than one.
    template <class F>
    void find(std::uint64_t hash, const std::vector<std::uint32_t>& flat, F&& f) const {
        if (cells_.empty()) return;
        for (std::size_t i = home(hash);; i = (i + 1) & mask_) {
            const cell& c = cells_[i];
            if (c.count == 0) return;
            if (c.hash != hash) continue;
            if (c.count == 1) {
                f(std::span<const std::uint32_t>(&c.begin, 1));
            } else {
                f(std::span<const std::uint32_t>(flat.data() + c.begin, c.count));
            }
        }
    }

  private:
    struct cell {
        std::uint64_t hash = 0;
        std::uint32_t begin = 0;
        std::uint32_t count = 0;  // 0: empty cell
    };

    std::size_t home(std::uint64_t h) const {
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ULL) >> shift_);
    }
    void place(const cell& c) {
        std::size_t i = home(c.hash);
        while (cells_[i].count != 0) i = (i + 1) & mask_;
        cells_[i] = c;
    }
    void grow() {
        std::vector<cell, huge_page_allocator<cell>> old = std::move(cells_);
        const std::size_t size = old.empty() ? 16 : old.size() * 2;
        cells_.assign(size, cell{});
        mask_ = size - 1;
        shift_ = 64;
        for (std::size_t s = size; s > 1; s >>= 1) --shift_;
        for (const cell& c : old) {
            if (c.count != 0) place(c);
        }
    }

    std::vector<cell, huge_page_allocator<cell>> cells_;
    std::size_t count_ = 0;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
};

}  // namespace pubsub::filter_detail
