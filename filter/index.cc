// Building the per-path indexes.
#include "filter/index.h"

#include <algorithm>

namespace pubsub::filter_detail {

void hashed_postings::add(std::uint64_t h, std::uint32_t sub) { pending_.emplace_back(h, sub); }

void hashed_postings::finish() {
    std::sort(pending_.begin(), pending_.end());
    pending_.erase(std::unique(pending_.begin(), pending_.end()), pending_.end());
    std::size_t bits = 64;
    while (bits < pending_.size() * 8) bits *= 2;
    if (!pending_.empty()) bloom_.assign(bits / 64, 0);
    bloom_mask_ = bits / 64 - 1;
    for (std::size_t k = 0; k < pending_.size();) {
        const std::uint64_t h = pending_[k].first;
        std::size_t end = k;
        while (end < pending_.size() && pending_[end].first == h) ++end;
        if (end - k == 1) {
            table_.insert(h, pending_[k].second, 1);
        } else {
            table_.insert(h, static_cast<std::uint32_t>(subs_.size()),
                          static_cast<std::uint32_t>(end - k));
            for (; k < end; ++k) subs_.push_back(pending_[k].second);
        }
        k = end;
        bloom_[(h >> 6) & bloom_mask_] |= std::uint64_t{1} << (h & 63);
    }
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

void range_index::finish() {
    std::sort(lower_.begin(), lower_.end(),
              [](const bound& a, const bound& b) { return *compare_values(a.value, b.value) < 0; });
    std::sort(upper_.begin(), upper_.end(),
              [](const bound& a, const bound& b) { return *compare_values(a.value, b.value) > 0; });
}

}  // namespace pubsub::filter_detail
