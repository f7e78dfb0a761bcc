// flat_table: a build-once open-addressing table from 64-bit hashes to entry ids, for the
// matcher's indexes. One probe touches one or two adjacent cache lines, where
// std::unordered_map chases a bucket, a node and a vector. Several ids may share a hash; the
// caller compares keys. Not thread-safe to build; find() is const and thread-safe.
#pragma once

#include <cstdint>
#include <vector>

namespace pubsub::filter_detail {

class flat_table {
  public:
    void insert(std::uint64_t hash, std::uint32_t id) {
        if ((count_ + 1) * 2 > cells_.size()) grow();
        place(cell{hash, id});
        ++count_;
    }

    // Calls f(id) for every id inserted with this hash.
    template <class F>
    void find(std::uint64_t hash, F&& f) const {
        if (cells_.empty()) return;
        for (std::size_t i = home(hash);; i = (i + 1) & mask_) {
            const cell& c = cells_[i];
            if (c.id == empty_id) return;
            if (c.hash == hash) f(c.id);
        }
    }

  private:
    static constexpr std::uint32_t empty_id = UINT32_MAX;
    struct cell {
        std::uint64_t hash = 0;
        std::uint32_t id = empty_id;
    };

    std::size_t home(std::uint64_t h) const {
        return static_cast<std::size_t>((h * 0x9E3779B97F4A7C15ULL) >> shift_);
    }
    void place(const cell& c) {
        std::size_t i = home(c.hash);
        while (cells_[i].id != empty_id) i = (i + 1) & mask_;
        cells_[i] = c;
    }
    void grow() {
        std::vector<cell> old = std::move(cells_);
        const std::size_t size = old.empty() ? 16 : old.size() * 2;
        cells_.assign(size, cell{});
        mask_ = size - 1;
        shift_ = 64;
        for (std::size_t s = size; s > 1; s >>= 1) --shift_;
        for (const cell& c : old) {
            if (c.id != empty_id) place(c);
        }
    }

    std::vector<cell> cells_;
    std::size_t count_ = 0;
    std::size_t mask_ = 0;
    unsigned shift_ = 64;
};

}  // namespace pubsub::filter_detail
