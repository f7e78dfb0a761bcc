// The reference interpreter and explain_mismatch.
#include "filter/reference.h"

#include "filter/glob.h"

namespace pubsub {
namespace filter_detail {
namespace {

namespace od = simdjson::ondemand;

// The scalar in v (strings copied into `strings`), or nullopt for objects, arrays and errors.
std::optional<value_ref> scalar_of(od::value v, std::deque<std::string>& strings) {
    od::json_type t;
    if (v.type().get(t)) return std::nullopt;
    std::string_view s;
    bool b = false;
    switch (t) {
        case od::json_type::number:
            return parse_json_number(v.raw_json_token());
        case od::json_type::string:
            if (v.get_string().get(s)) return std::nullopt;
            return make_string(strings.emplace_back(s));
        case od::json_type::boolean:
            if (v.get_bool().get(b)) return std::nullopt;
            return make_bool(b);
        case od::json_type::null:
            return make_null();
        default:
            return std::nullopt;
    }
}

// The position of the last field named `key` (after unescaping): the occurrence that counts,
// as jsonb keeps it.
std::optional<std::size_t> find_last(od::object obj, std::string_view key) {
    std::optional<std::size_t> last;
    std::size_t i = 0;
    for (auto field : obj) {
        std::string_view k;
        if (field.unescaped_key().get(k)) return std::nullopt;
        if (k == key) last = i;
        ++i;
    }
    return last;
}

// The value of the field at position `pos` of obj.
bool field_at(od::object obj, std::size_t pos, od::value& out) {
    std::size_t i = 0;
    for (auto field : obj) {
        if (i++ == pos) return !field.value().get(out);
    }
    return false;
}

bool holds_for_one(const condition& c, const value_ref& v) {
    std::optional<int> cmp = compare_values(v, c.operand.ref());
    switch (c.kind) {
        case op::eq:
            return values_equal(v, c.operand.ref());
        case op::gt:
            return cmp && *cmp > 0;
        case op::gte:
            return cmp && *cmp >= 0;
        case op::lt:
            return cmp && *cmp < 0;
        case op::lte:
            return cmp && *cmp <= 0;
        case op::in:
            for (const scalar& s : c.list) {
                if (values_equal(v, s.ref())) return true;
            }
            return false;
        case op::prefix:
            return v.kind == value_kind::string && v.s.starts_with(c.operand.s);
        case op::suffix:
            return v.kind == value_kind::string && v.s.ends_with(c.operand.s);
        case op::glob:
            return v.kind == value_kind::string && reference_glob(c.operand.s, v.s);
        default:
            return false;
    }
}

std::string describe(const field_value& v) {
    if (!v.present) return "field missing";
    if (!v.array) return v.items.empty() ? "value is an object" : "value " + describe(v.items[0]);
    std::string out = "values [";
    for (std::size_t k = 0; k < v.items.size(); ++k) {
        out += (k ? "," : "") + describe(v.items[k]);
    }
    return out + "]";
}

bool eval(const node& n, const reference_event& e, std::string* why);

bool eval_all(const node& n, const reference_event& e, std::string* why) {
    for (const field_test& t : n.fields) {
        field_value v = e.lookup(t.path);
        for (const condition& c : t.conditions) {
            if (reference_condition(c, v)) continue;
            if (why) *why = t.path.text + ": " + describe(c) + " failed, " + describe(v);
            return false;
        }
    }
    for (const node& child : n.children) {
        if (!eval(child, e, why)) return false;
    }
    return true;
}

bool eval(const node& n, const reference_event& e, std::string* why) {
    switch (n.kind) {
        case node::kind_t::all:
            return eval_all(n, e, why);
        case node::kind_t::negate:
            if (!eval(n.children[0], e, nullptr)) return true;
            if (why) *why = "$not: the inner filter matched";
            return false;
        case node::kind_t::any: {
            std::string reasons;
            for (const node& child : n.children) {
                std::string r;
                if (eval(child, e, why ? &r : nullptr)) return true;
                reasons += (reasons.empty() ? "" : "; ") + r;
            }
            if (why) *why = "$or: no alternative matched (" + reasons + ")";
            return false;
        }
    }
    return false;
}

}  // namespace

reference_event::reference_event(const event_view& e) : view_(e), data_(e.data_json) {
    data_ok_ = !parser_.iterate(data_).get(doc_);
}

bool reference_event::open_object(const std::vector<std::size_t>& positions,
                                  od::object& obj) const {
    // A fresh iteration per walk, not rewind(): an earlier walk that met malformed JSON has
    // abandoned the document (simdjson then drops its parser pointer, and rewind() would
    // dereference it). Slower, but this is the oracle.
    if (parser_.iterate(data_).get(doc_) || doc_.get_object().get(obj)) return false;
    for (std::size_t pos : positions) {
        od::value v;
        if (!field_at(obj, pos, v) || v.get_object().get(obj)) return false;
    }
    return true;
}

field_value reference_event::lookup(const field_path& p) const {
    field_value v;
    if (p.root != field_root::event_data) {
        v.present = true;
        v.items.push_back(
            make_string(p.root == field_root::event_type ? view_.type : view_.source));
        return v;
    }
    if (!data_ok_ || p.keys.empty()) return v;
    // Each key's last occurrence is found by its own scan: an on-demand walk cannot come back
    // to an earlier field, so the path to it is walked again from the start, by positions.
    std::vector<std::size_t> positions;
    od::object obj;
    od::value cur;
    for (const std::string& key : p.keys) {
        if (!open_object(positions, obj)) return v;
        std::optional<std::size_t> last = find_last(obj, key);
        if (!last) return v;
        positions.push_back(*last);
    }
    const std::size_t pos = positions.back();
    positions.pop_back();
    if (!open_object(positions, obj) || !field_at(obj, pos, cur)) return v;
    v.present = true;
    od::json_type t;
    od::array arr;
    if (cur.type().get(t)) return field_value{};
    if (t != od::json_type::array) {
        if (std::optional<value_ref> x = scalar_of(cur, v.strings)) v.items.push_back(*x);
    } else if (!cur.get_array().get(arr)) {
        v.array = true;
        for (auto el : arr) {
            od::value ev;
            if (el.get(ev)) break;
            if (std::optional<value_ref> x = scalar_of(ev, v.strings)) v.items.push_back(*x);
        }
    }
    return v;
}

bool reference_condition(const condition& c, const field_value& v) {
    if (c.kind == op::exists) return v.present == c.exists;
    if (c.kind == op::ne || c.kind == op::nin) {
        condition positive = c;
        positive.kind = c.kind == op::ne ? op::eq : op::in;
        return !reference_condition(positive, v);
    }
    for (const value_ref& item : v.items) {
        if (holds_for_one(c, item)) return true;
    }
    return false;
}

// Dynamic programming over (token, byte): m[i][j] says tokens i.. match s[j..].
bool reference_glob(std::string_view raw_pattern, std::string_view s) {
    glob_tokens t = compile_glob(raw_pattern);
    const std::size_t n = s.size();
    std::vector<std::vector<char>> m(t.size() + 1, std::vector<char>(n + 1, 0));
    m[t.size()][n] = 1;
    for (std::size_t i = t.size(); i-- > 0;) {
        for (std::size_t j = n + 1; j-- > 0;) {
            if (t[i] == glob_star) {
                m[i][j] = m[i + 1][j] || (j < n && m[i][j + 1]);
            } else if (t[i] == glob_any) {
                m[i][j] = j < n && m[i + 1][j + utf8_char_len(s, j)];
            } else {
                m[i][j] = j < n && static_cast<unsigned char>(s[j]) == t[i] && m[i + 1][j + 1];
            }
        }
    }
    return m[0][0];
}

bool reference_match(const filter& f, const reference_event& e) {
    return eval(f.root(), e, nullptr);
}

std::optional<std::string> explain_mismatch(const filter& f, const reference_event& e) {
    std::string why;
    if (eval(f.root(), e, &why)) return std::nullopt;
    return why;
}

}  // namespace filter_detail

bool reference_match(const filter& f, const event_view& e) {
    return filter_detail::reference_match(f, filter_detail::reference_event(e));
}

std::optional<std::string> explain_mismatch(const filter& f, const event_view& e) {
    return filter_detail::explain_mismatch(f, filter_detail::reference_event(e));
}

}  // namespace pubsub
