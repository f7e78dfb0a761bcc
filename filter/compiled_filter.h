// compiled_filter: one subscriber's filter resolved against a path_set, evaluated on the
// slots of an extract_state. This is the per-subscriber evaluator the matcher runs on the
// candidates its indexes propose (and on subscribers whose filters it cannot index).
//
// It views strings of the AST it was built from: keep the filter_ptr alive alongside it.
// Immutable after construction; evaluate() is const and thread-safe given a per-thread state.
#pragma once

#include <cstdint>
#include <vector>

#include "filter/ast.h"
#include "filter/extract.h"
#include "filter/glob.h"

namespace pubsub::filter_detail {

struct compiled_condition {
    op kind = op::eq;
    value_ref operand;
    std::vector<value_ref> list;  // in nin
    glob_tokens glob;             // glob
    bool exists = true;
};

struct compiled_field {
    std::uint32_t slot = 0;
    std::vector<compiled_condition> conditions;
};

struct compiled_node {
    node::kind_t kind = node::kind_t::all;
    std::vector<compiled_field> fields;
    std::vector<compiled_node> children;
};

compiled_condition compile_condition(const condition& c);
compiled_node compile_node(const node& n, path_set& paths);

bool evaluate(const compiled_node& n, const extract_state& ev);

}  // namespace pubsub::filter_detail
