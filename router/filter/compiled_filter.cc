// Building and evaluating compiled_node trees.
#include "router/filter/compiled_filter.h"

namespace pubsub::filter_detail {
namespace {

bool equals_any(const std::vector<value_ref>& list, const value_ref& v) {
    for (const value_ref& x : list) {
        if (values_equal(x, v)) return true;
    }
    return false;
}

// The positive test for one value; $ne/$nin/$exists are handled by the caller.
bool holds(const compiled_condition& c, const value_ref& v) {
    switch (c.kind) {
        case op::eq:
            return values_equal(v, c.operand);
        case op::in:
            return equals_any(c.list, v);
        case op::prefix:
            return v.kind == value_kind::string && v.s.starts_with(c.operand.s);
        case op::suffix:
            return v.kind == value_kind::string && v.s.ends_with(c.operand.s);
        case op::glob:
            return v.kind == value_kind::string && glob_match(c.glob, v.s);
        default:
            break;
    }
    std::optional<int> cmp = compare_values(v, c.operand);
    if (!cmp) return false;
    switch (c.kind) {
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

bool condition_holds(const compiled_condition& c, const slot_state& st, const value_ref* items) {
    if (c.kind == op::exists) return st.present == c.exists;
    const bool negated = c.kind == op::ne || c.kind == op::nin;
    if (!st.present) return negated;
    for (std::uint32_t k = st.begin; k < st.end; ++k) {
        const value_ref& v = items[k];
        if (c.kind == op::ne) {
            if (values_equal(v, c.operand)) return false;
        } else if (c.kind == op::nin) {
            if (equals_any(c.list, v)) return false;
        } else if (holds(c, v)) {
            return true;
        }
    }
    return negated;
}

}  // namespace

compiled_condition compile_condition(const condition& c) {
    compiled_condition out;
    out.kind = c.kind;
    out.operand = c.operand.ref();
    out.exists = c.exists;
    for (const scalar& s : c.list) out.list.push_back(s.ref());
    if (c.kind == op::glob) out.glob = compile_glob(c.operand.s);
    return out;
}

compiled_node compile_node(const node& n, path_set& paths) {
    compiled_node out;
    out.kind = n.kind;
    for (const field_test& t : n.fields) {
        compiled_field f;
        f.slot = paths.intern(t.path);
        for (const condition& c : t.conditions) f.conditions.push_back(compile_condition(c));
        out.fields.push_back(std::move(f));
    }
    for (const node& child : n.children) out.children.push_back(compile_node(child, paths));
    return out;
}

bool evaluate(const compiled_node& n, const extract_state& ev) {
    switch (n.kind) {
        case node::kind_t::negate:
            return !evaluate(n.children[0], ev);
        case node::kind_t::any:
            for (const compiled_node& c : n.children) {
                if (evaluate(c, ev)) return true;
            }
            return false;
        case node::kind_t::all:
            break;
    }
    for (const compiled_field& f : n.fields) {
        const slot_state& st = ev.slot(f.slot);
        for (const compiled_condition& c : f.conditions) {
            if (!condition_holds(c, st, ev.items())) return false;
        }
    }
    for (const compiled_node& c : n.children) {
        if (!evaluate(c, ev)) return false;
    }
    return true;
}

namespace {

bool flatten_into(const compiled_node& n, std::vector<flat_condition>& out) {
    if (n.kind != node::kind_t::all) return false;
    for (const compiled_field& f : n.fields) {
        for (const compiled_condition& c : f.conditions) out.push_back({f.slot, c});
    }
    for (const compiled_node& c : n.children) {
        if (!flatten_into(c, out)) return false;
    }
    return true;
}

}  // namespace

bool flatten(const compiled_node& n, std::vector<flat_condition>& out) {
    const std::size_t size = out.size();
    if (flatten_into(n, out)) return true;
    out.erase(out.begin() + static_cast<std::ptrdiff_t>(size), out.end());
    return false;
}

bool evaluate(std::span<const flat_condition> conds, const extract_state& ev) {
    for (const flat_condition& c : conds) {
        if (!condition_holds(c.cond, ev.slot(c.slot), ev.items())) return false;
    }
    return true;
}

}  // namespace pubsub::filter_detail
