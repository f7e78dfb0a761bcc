// Building the per-path indexes.
#include "router/filter/index.h"

#include <algorithm>

namespace pubsub::filter_detail {

void eq_index::add(const value_ref& key, std::uint32_t sub) {
    std::vector<std::uint32_t>& chain = by_hash_[hash_value(key)];
    for (std::uint32_t e : chain) {
        if (values_equal(entries_[e].key, key)) {
            entries_[e].subs.push_back(sub);
            return;
        }
    }
    chain.push_back(static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(entry{key, {sub}});
}

void affix_index::add(const std::string& literal, std::uint32_t sub) {
    std::uint64_t h = fnv_offset;
    for (std::size_t k = 0; k < literal.size(); ++k) {
        h = step(h, from_end_ ? literal[literal.size() - 1 - k] : literal[k]);
    }
    std::vector<std::uint32_t>& chain = by_hash_[h];
    for (std::uint32_t e : chain) {
        if (entries_[e].literal == literal) {
            entries_[e].subs.push_back(sub);
            return;
        }
    }
    chain.push_back(static_cast<std::uint32_t>(entries_.size()));
    entries_.push_back(entry{literal, {sub}});
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
