// Helpers of the filter AST: names and descriptions for messages.
#include "filter/ast.h"

namespace pubsub::filter_detail {

std::string_view op_name(op o) {
    switch (o) {
        case op::eq:
            return "$eq";
        case op::ne:
            return "$ne";
        case op::gt:
            return "$gt";
        case op::gte:
            return "$gte";
        case op::lt:
            return "$lt";
        case op::lte:
            return "$lte";
        case op::in:
            return "$in";
        case op::nin:
            return "$nin";
        case op::exists:
            return "$exists";
        case op::prefix:
            return "$prefix";
        case op::suffix:
            return "$suffix";
        case op::glob:
            return "$glob";
    }
    return "$?";
}

scalar scalar::from(const value_ref& v) {
    scalar s;
    s.kind = v.kind;
    s.b = v.b;
    s.i = v.i;
    s.u = v.u;
    s.d = v.d;
    s.s = std::string(v.s);
    return s;
}

value_ref scalar::ref() const {
    value_ref v;
    v.kind = kind;
    v.b = b;
    v.i = i;
    v.u = u;
    v.d = d;
    v.s = s;
    return v;
}

std::string describe(const condition& c) {
    std::string out = "{\"" + std::string(op_name(c.kind)) + "\":";
    if (c.kind == op::exists) return out + (c.exists ? "true}" : "false}");
    if (c.kind != op::in && c.kind != op::nin) return out + describe(c.operand.ref()) + "}";
    out += "[";
    for (std::size_t k = 0; k < c.list.size(); ++k) {
        if (k) out += ",";
        out += describe(c.list[k].ref());
    }
    return out + "]}";
}

}  // namespace pubsub::filter_detail
