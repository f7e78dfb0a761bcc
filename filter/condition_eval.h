// condition_eval: what one condition means on the values of one slot (the type rules of
// filter.h), written once for both compiled layouts: compiled_node trees (compiled_filter.h)
// and candidate records (candidates.h). Pure functions, thread-safe.
//
// C is an adapter with: op kind(); bool exists(); const value_ref& operand();
// bool in_list(const value_ref&) ($in/$nin); glob() ($glob: glob_tokens or a span of them).
#pragma once

#include "filter/ast.h"
#include "filter/extract.h"
#include "filter/glob.h"

namespace pubsub::filter_detail {

// The positive test for one value; $ne/$nin/$exists are handled by condition_holds.
template <class C>
bool holds_for_one(const C& c, const value_ref& v) {
    switch (c.kind()) {
        case op::eq:
            return values_equal(v, c.operand());
        case op::in:
            return c.in_list(v);
        case op::prefix:
            return v.kind == value_kind::string && v.s.starts_with(c.operand().s);
        case op::suffix:
            return v.kind == value_kind::string && v.s.ends_with(c.operand().s);
        case op::glob:
            return v.kind == value_kind::string && glob_match(c.glob(), v.s);
        default:
            break;
    }
    std::optional<int> cmp = compare_values(v, c.operand());
    if (!cmp) return false;
    switch (c.kind()) {
        case op::gt:
            return *cmp > 0;
        case op::gte:
            return *cmp >= 0;
        case op::lt:
            return *cmp < 0;
        case op::lte:
            return *cmp <= 0;
        default:
            return false;
    }
}

template <class C>
bool condition_holds(const C& c, const slot_state& st, const value_ref* items) {
    if (c.kind() == op::exists) return st.present == c.exists();
    const bool negated = c.kind() == op::ne || c.kind() == op::nin;
    if (!st.present) return negated;
    for (std::uint32_t k = st.begin; k < st.end; ++k) {
        const value_ref& v = items[k];
        if (c.kind() == op::ne) {
            if (values_equal(v, c.operand())) return false;
        } else if (c.kind() == op::nin) {
            if (c.in_list(v)) return false;
        } else if (holds_for_one(c, v)) {
            return true;
        }
    }
    return negated;
}

}  // namespace pubsub::filter_detail
