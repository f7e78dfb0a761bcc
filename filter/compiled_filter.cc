// Building and evaluating compiled_node trees.
#include "filter/compiled_filter.h"

#include "filter/condition_eval.h"

namespace pubsub::filter_detail {
namespace {

// condition_eval's view of a compiled_condition.
struct tree_condition {
    const compiled_condition& c;
    op kind() const { return c.kind; }
    bool exists() const { return c.exists; }
    const value_ref& operand() const { return c.operand; }
    const glob_tokens& glob() const { return c.glob; }
    bool in_list(const value_ref& v) const {
        for (const value_ref& x : c.list) {
            if (values_equal(x, v)) return true;
        }
        return false;
    }
};

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
            if (!condition_holds(tree_condition{c}, st, ev.items())) return false;
        }
    }
    for (const compiled_node& c : n.children) {
        if (!evaluate(c, ev)) return false;
    }
    return true;
}

}  // namespace pubsub::filter_detail
