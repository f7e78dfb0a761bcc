// parse_filter: JSON text -> validated AST, with messages that name the path and the problem.
#include <simdjson.h>

#include <charconv>
#include <cstdint>
#include <set>

#include "filter/filter.h"
#include "filter/glob.h"
#include "base/json_last_occurrences.h"

namespace pubsub {
namespace {

using namespace filter_detail;
namespace dom = simdjson::dom;

constexpr int max_depth = 32;

// Thrown inside this file only, caught in parse_filter: keeps the recursive parser short.
struct parse_error {
    std::string message;
};

[[noreturn]] void fail(std::string message) { throw parse_error{std::move(message)}; }

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::optional<value_ref> as_scalar(dom::element e) {
    switch (e.type()) {
        case dom::element_type::INT64:
            return make_int(int64_t(e));
        case dom::element_type::UINT64:
            return make_uint(uint64_t(e));
        case dom::element_type::DOUBLE:
            return make_double(double(e));
        case dom::element_type::STRING:
            return make_string(std::string_view(e));
        case dom::element_type::BOOL:
            return make_bool(bool(e));
        case dom::element_type::NULL_VALUE:
            return make_null();
        default:
            return std::nullopt;
    }
}

// ctx prefixes messages about the object ("$or[0]: "), where prefixes paths ("$or[0].").
field_path parse_path(std::string_view key, const std::string& ctx, const std::string& where) {
    field_path p;
    p.text = std::string(key);
    if (key.empty()) fail(ctx + "empty field path");
    if (key == "event_type") return p;
    p.root = field_root::event_source;
    if (key == "event_source" || key == "source") return p;
    p.root = field_root::event_data;
    std::string_view rest = key;
    if (rest == "event_data") {
        fail(where + "event_data: a path needs a key below event_data, e.g. event_data.name");
    }
    if (rest.substr(0, 11) != "event_data.") {
        fail(ctx + "unknown field " + quoted(key) +
             " (paths start with event_type, event_source, source or event_data.)");
    }
    rest.remove_prefix(11);
    while (true) {
        std::size_t dot = rest.find('.');
        std::string_view seg = rest.substr(0, dot);
        if (seg.empty()) fail(where + p.text + ": empty key in field path");
        p.keys.emplace_back(seg);
        if (dot == std::string_view::npos) break;
        rest.remove_prefix(dot + 1);
    }
    return p;
}

std::optional<op> op_from(std::string_view name) {
    static constexpr op all[] = {op::eq, op::ne,  op::gt,     op::gte,    op::lt,     op::lte,
                                 op::in, op::nin, op::exists, op::prefix, op::suffix, op::glob};
    for (op o : all) {
        if (op_name(o) == name) return o;
    }
    return std::nullopt;
}

condition parse_operator(op o, dom::element arg, const std::string& p) {
    condition c;
    c.kind = o;
    std::string name(op_name(o));
    std::optional<value_ref> v = as_scalar(arg);
    switch (o) {
        case op::eq:
        case op::ne:
            if (!v) fail(p + ": " + name + " needs a string, number, boolean or null");
            break;
        case op::gt:
        case op::gte:
        case op::lt:
        case op::lte:
            if (!v || !(is_number(v->kind) || v->kind == value_kind::string)) {
                fail(p + ": " + name + " needs a number or a string");
            }
            break;
        case op::prefix:
        case op::suffix:
        case op::glob:
            if (!arg.is_string()) fail(p + ": " + name + " needs a string");
            break;
        case op::exists:
            if (!arg.is_bool()) fail(p + ": $exists needs a boolean");
            c.exists = bool(arg);
            return c;
        case op::in:
        case op::nin: {
            if (!arg.is_array()) fail(p + ": " + name + " needs an array");
            for (dom::element item : dom::array(arg)) {
                std::optional<value_ref> iv = as_scalar(item);
                if (!iv) fail(p + ": " + name + " needs an array of scalars");
                c.list.push_back(scalar::from(*iv));
            }
            return c;
        }
    }
    c.operand = scalar::from(*v);
    return c;
}

void parse_conditions(dom::element value, field_test& t, const std::string& where) {
    const std::string p = where + t.path.text;
    if (std::optional<value_ref> v = as_scalar(value)) {
        condition c;
        if (v->kind == value_kind::string && glob_has_wildcard(v->s)) {
            c.kind = op::glob;
            c.operand = scalar::from(*v);
        } else if (v->kind == value_kind::string) {
            c.operand = scalar::from(make_string(glob_unescape(v->s)));
        } else {
            c.operand = scalar::from(*v);
        }
        t.conditions.push_back(std::move(c));
        return;
    }
    if (!value.is_object()) {
        fail(p + ": a condition must be a string, number, boolean, null or an object of operators");
    }
    for (const dom::key_value_pair& kv : last_occurrences(dom::object(value))) {
        std::optional<op> o = op_from(kv.key);
        if (!o) fail(p + ": unknown operator " + quoted(kv.key));
        t.conditions.push_back(parse_operator(*o, kv.value, p));
    }
    if (t.conditions.empty()) fail(p + ": empty object of operators");
}

node parse_object(dom::element e, const std::string& where, int depth);

node parse_list(std::string_view name, dom::element arg, const std::string& ctx,
                const std::string& where, int depth) {
    node n;
    n.kind = name == "$or" ? node::kind_t::any : node::kind_t::all;
    if (!arg.is_array() || dom::array(arg).size() == 0) {
        fail(ctx + std::string(name) + " needs a non-empty array of filters");
    }
    std::size_t k = 0;
    for (dom::element sub : dom::array(arg)) {
        std::string at = where + std::string(name) + "[" + std::to_string(k++) + "]";
        n.children.push_back(parse_object(sub, at, depth + 1));
    }
    return n;
}

node parse_combinator(std::string_view name, dom::element arg, const std::string& ctx,
                      const std::string& where, int depth) {
    if (name == "$or" || name == "$and") return parse_list(name, arg, ctx, where, depth);
    if (name != "$not") {
        fail(ctx + "unknown operator " + quoted(name) +
             " at the top of a filter (expected $or, $and or $not)");
    }
    node n;
    n.kind = node::kind_t::negate;
    if (!arg.is_object()) fail(ctx + "$not needs a filter object");
    n.children.push_back(parse_object(arg, where + "$not", depth + 1));
    return n;
}

node parse_object(dom::element e, const std::string& at, int depth) {
    const std::string where = at.empty() ? at : at + ".";
    const std::string ctx = at.empty() ? at : at + ": ";
    if (!e.is_object()) fail(ctx + "filter must be a JSON object");
    if (depth > max_depth) fail(ctx + "filter nested too deeply (limit 32 levels)");
    node n;
    for (const dom::key_value_pair& kv : last_occurrences(dom::object(e))) {
        if (!kv.key.empty() && kv.key[0] == '$') {
            n.children.push_back(parse_combinator(kv.key, kv.value, ctx, where, depth));
            continue;
        }
        field_test t;
        t.path = parse_path(kv.key, ctx, where);
        parse_conditions(kv.value, t, where);
        n.fields.push_back(std::move(t));
    }
    return n;
}

// jsonb prints every number in plain digits (1e20 is stored as 100000000000000000000), so a
// filter that was valid when written can come back from the table with an integer literal
// beyond 64 bits, which the DOM parser refuses. Such literals get ".0" and are compared as the
// nearest double, as in events. Returns false when there is nothing to rewrite.
bool widen_big_integers(std::string_view json, std::string& out) {
    out.clear();
    bool changed = false, in_string = false;
    for (std::size_t i = 0; i < json.size();) {
        char c = json[i];
        if (in_string) {
            out += c;
            if (c == '\\' && i + 1 < json.size()) out += json[++i];
            if (c == '"') in_string = false;
            ++i;
        } else if (c == '"') {
            in_string = true;
            out += c;
            ++i;
        } else if (c == '-' || (c >= '0' && c <= '9')) {
            std::size_t end = i + 1;
            bool integral = true;
            while (end < json.size() &&
                   std::string_view("0123456789.eE+-").find(json[end]) != std::string_view::npos) {
                if ((json[end] < '0' || json[end] > '9')) integral = false;
                ++end;
            }
            std::string_view lit = json.substr(i, end - i);
            out.append(lit);
            std::int64_t as_int = 0;
            std::uint64_t as_uint = 0;
            auto fits = [&](auto& v) {
                auto r = std::from_chars(lit.data(), lit.data() + lit.size(), v);
                return r.ec == std::errc() && r.ptr == lit.data() + lit.size();
            };
            if (integral && !fits(as_int) && !fits(as_uint)) {
                out += ".0";
                changed = true;
            }
            i = end;
        } else {
            out += c;
            ++i;
        }
    }
    return changed;
}

bool blank(std::string_view s) { return s.find_first_not_of(" \t\r\n") == std::string_view::npos; }

}  // namespace

result<filter_ptr> parse_filter(std::string_view json) {
    if (blank(json)) return filter_ptr(std::make_shared<filter>(node{}));
    dom::parser parser;
    dom::element root;
    simdjson::padded_string padded(json);
    auto err = parser.parse(padded).get(root);
    std::string widened;
    if (err == simdjson::NUMBER_ERROR && widen_big_integers(json, widened)) {
        padded = simdjson::padded_string(widened);
        err = parser.parse(padded).get(root);
    }
    if (err) {
        if (err == simdjson::NUMBER_ERROR) {
            // Valid JSON (jsonb stores it) is refused here only for its size.
            return status::error("a number in the filter is malformed or beyond a double's range");
        }
        return status::error(std::string("invalid JSON: ") + simdjson::error_message(err));
    }
    if (root.is_null()) return filter_ptr(std::make_shared<filter>(node{}));
    try {
        return filter_ptr(std::make_shared<filter>(parse_object(root, "", 0)));
    } catch (const parse_error& e) {
        return status::error(e.message);
    }
}

}  // namespace pubsub
