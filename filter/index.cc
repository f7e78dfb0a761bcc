// Building the per-path indexes.
#include "filter/index.h"

#include <algorithm>

namespace pubsub::filter_detail {

void hashed_postings::finish(const candidate_arena& arena, const place_fn& place) {
    std::sort(pending_.begin(), pending_.end());
    pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
    if (pending_.empty()) return;
    std::size_t bits = 64;
    while (bits < pending_.size() * 8) bits *= 2;
    bloom_.assign(bits / 64, 0);
    bloom_mask_ = bits / 64 - 1;
    for (const auto& [h, sub] : pending_) {
        bloom_[(h >> 6) & bloom_mask_] |= bloom_bits(h);
    }
    std::size_t buckets = 2;  // one or two per key
    shift_ = 63;
    while (buckets <= pending_.size()) buckets *= 2, --shift_;
    std::stable_sort(pending_.begin(), pending_.end(), [&](const auto& x, const auto& y) {
        return bucket(x.first) < bucket(y.first);
    });
    dir_.assign(buckets + 1, 0);
    std::size_t k = 0;
    for (std::size_t b = 0; b < buckets; ++b) {
        dir_[b] = arena.size();
        for (; k < pending_.size() && bucket(pending_[k].first) == b; ++k) {
            place(pending_[k].second, pending_[k].first);
        }
    }
    dir_[buckets] = arena.size();
    pending_.clear();
    pending_.shrink_to_fit();
}

void affix_index::add(const std::string& literal, std::uint32_t sub) {
    std::uint64_t h = fnv_offset;
    for (std::size_t k = 0; k < literal.size(); ++k) {
        h = step(h, from_end_ ? literal[literal.size() - 1 - k] : literal[k]);
    }
    postings_.add(h ^ literal.size(), sub);
    if (has_len_.size() <= literal.size()) has_len_.resize(literal.size() + 1, 0);
    has_len_[literal.size()] = 1;
}

void range_index::add(const compiled_condition& c, std::uint32_t sub) {
    const bool strict = c.kind == op::gt || c.kind == op::lt;
    if (c.kind == op::gt || c.kind == op::gte) {
        lower_.push_back(bound{c.operand, strict, sub});
    } else {
        upper_.push_back(bound{c.operand, strict, sub});
    }
}

void range_index::finish(const place_fn& place) {
    for (bound& b : lower_) b.sub = place(b.sub, 0);
    for (bound& b : upper_) b.sub = place(b.sub, 0);
    std::sort(lower_.begin(), lower_.end(),
              [](const bound& a, const bound& b) { return *compare_values(a.value, b.value) < 0; });
    std::sort(upper_.begin(), upper_.end(),
              [](const bound& a, const bound& b) { return *compare_values(a.value, b.value) > 0; });
}

}  // namespace pubsub::filter_detail
