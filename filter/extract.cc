// The readers of event_data that fill the slots of a path_set, tried in order: the fast scan
// (easy documents: ASCII strings without escapes), simdjson's DOM (runtime-selected SIMD
// kernel), then the on-demand walk (documents the DOM refuses). Each validates what it reads,
// and a reader that gives up leaves no trace, so all three give the same slots.
#include "filter/extract.h"

#include "base/json_text.h"

#include <simdjson.h>

#include <bit>
#include <cstring>

namespace pubsub::filter_detail {

namespace od = simdjson::ondemand;

path_set::path_set() : nodes_(1) {}

std::uint32_t path_set::intern(const field_path& p) {
    if (p.root == field_root::event_type) return slot_event_type;
    if (p.root == field_root::event_source) return slot_event_source;
    std::uint32_t n = 0;
    for (const std::string& key : p.keys) {
        std::uint32_t next = 0;
        for (const child& c : nodes_[n].children) {
            if (c.key == key) next = c.node;
        }
        if (next == 0) {
            next = static_cast<std::uint32_t>(nodes_.size());
            const bool plain = !key.empty() && key.size() < simdjson::SIMDJSON_PADDING &&
                               key.find_first_of("\\\"") == std::string::npos;
            nodes_[n].children.push_back({key, next, plain});
            nodes_.emplace_back();
        }
        n = next;
    }
    if (nodes_[n].slot < 0) nodes_[n].slot = static_cast<std::int32_t>(slot_count_++);
    return static_cast<std::uint32_t>(nodes_[n].slot);
}

struct extract_state::impl {
    simdjson::dom::parser dom_parser;  // runtime-dispatched kernel (haswell, icelake...)
    od::parser parser;                 // the fallback walk, for documents the DOM refuses
    std::string padded;                // copy of data_json when the caller cannot prove padding
    std::vector<std::uint32_t> seen;   // per trie node: epoch of the last visit
    std::uint32_t epoch = 0;
    std::vector<slot_state>* slots = nullptr;
    std::vector<value_ref>* items = nullptr;
    const path_set* paths = nullptr;

    bool push_number(od::value v) {
        std::optional<value_ref> n = parse_json_number(v.raw_json_token());
        if (!n) return false;
        items->push_back(*n);
        return true;
    }

    // Appends the scalar in v to items; false on a JSON error. Non-scalars are ignored.
    bool push_scalar(od::value v, od::json_type t) {
        switch (t) {
            case od::json_type::number:
                return push_number(v);
            case od::json_type::string: {
                std::string_view s;
                if (v.get_string().get(s)) return false;
                items->push_back(make_string(s));
                return true;
            }
            case od::json_type::boolean: {
                bool b = false;
                if (v.get_bool().get(b)) return false;
                items->push_back(make_bool(b));
                return true;
            }
            case od::json_type::null:
                items->push_back(make_null());
                return true;
            default:
                return true;
        }
    }

    bool read_items(od::value v, od::json_type t, std::uint32_t slot) {
        slot_state& st = (*slots)[slot];
        st.present = true;
        st.begin = static_cast<std::uint32_t>(items->size());
        if (t == od::json_type::array) {
            od::array arr;
            if (v.get_array().get(arr)) return false;
            for (auto el : arr) {
                od::value ev;
                od::json_type et;
                if (el.get(ev) || ev.type().get(et) || !push_scalar(ev, et)) return false;
            }
        } else if (!push_scalar(v, t)) {
            return false;
        }
        st.end = static_cast<std::uint32_t>(items->size());
        return true;
    }

    const path_set::trie_node* child_of(std::uint32_t node, std::string_view key,
                                        std::uint32_t& id) const {
        for (const path_set::child& c : paths->nodes()[node].children) {
            if (c.key == key) {
                id = c.node;
                return &paths->nodes()[c.node];
            }
        }
        return nullptr;
    }

    // A plain child key equal to the raw key bytes: reads at most key size + 1 bytes at raw,
    // within the document's padding.
    const path_set::trie_node* raw_child_of(std::uint32_t node, const char* raw,
                                            std::uint32_t& id) const {
        for (const path_set::child& c : paths->nodes()[node].children) {
            if (c.plain && raw[0] == c.key[0] && raw[c.key.size()] == '"' &&
                std::memcmp(raw, c.key.data(), c.key.size()) == 0) {
                id = c.node;
                return &paths->nodes()[c.node];
            }
        }
        return nullptr;
    }

    // The child for this field's key: first by the raw bytes (the common case, no scan), else
    // by the key text, straight from the document when it has no escapes, else unescaped.
    // False on a JSON error; child is null for a key no path uses.
    bool find_child(od::field& f, std::uint32_t node, std::uint32_t& id,
                    const path_set::trie_node*& child) const {
        const char* raw = f.key().raw();
        child = raw_child_of(node, raw, id);
        if (child) return true;
        std::size_t n = 0;
        while (raw[n] != '"' && raw[n] != '\\') ++n;
        std::string_view key(raw, n);
        // Without escapes, equal raw bytes would have matched above unless the child key holds
        // '\\' or '"' (its JSON text then differs from it): compare as text.
        if (raw[n] != '"' && f.unescaped_key().get(key)) return false;
        child = child_of(node, key, id);
        return true;
    }

    // A key a path uses is about to be read. When the object repeats it, the last occurrence
    // counts (as jsonb keeps it): what the earlier one filled, below it included, is dropped.
    void visit(std::uint32_t id) {
        if (seen[id] == epoch) forget(id);
        seen[id] = epoch;
    }
    void forget(std::uint32_t node) {
        const path_set::trie_node& n = paths->nodes()[node];
        if (n.slot >= 0) (*slots)[n.slot] = slot_state{};
        for (const path_set::child& c : n.children) forget(c.node);
    }

    bool walk(od::object obj, std::uint32_t node) {
        for (auto result : obj) {
            od::field field;
            std::uint32_t id = 0;
            const path_set::trie_node* child = nullptr;
            if (std::move(result).get(field) || !find_child(field, node, id, child)) return false;
            if (!child) continue;  // a key no path uses
            visit(id);
            od::value v = field.value();
            od::json_type t;
            if (v.type().get(t)) return false;
            if (t == od::json_type::object) {
                if (child->slot >= 0) (*slots)[child->slot].present = true;
                od::object sub;
                if (!child->children.empty() && (v.get_object().get(sub) || !walk(sub, id))) {
                    return false;
                }
            } else if (child->slot >= 0 && !read_items(v, t, child->slot)) {
                return false;
            }
        }
        return true;
    }

    // Appends the scalar in v to items, built in place. Numbers give the same values as
    // parse_json_number: the DOM parses doubles correctly rounded, and make_double and
    // make_uint canonicalise as it does (-0.0 and 1.0 become integers).
    void push_dom_scalar(simdjson::dom::element v) {
        using et = simdjson::dom::element_type;
        const et t = v.type();
        switch (t) {
            case et::INT64: {
                value_ref& r = items->emplace_back();
                r.kind = value_kind::integer;
                r.i = v.get_int64().value_unsafe();
                break;
            }
            case et::UINT64:
                items->push_back(make_uint(v.get_uint64().value_unsafe()));
                break;
            case et::DOUBLE:
                items->push_back(make_double(v.get_double().value_unsafe()));
                break;
            case et::STRING: {
                value_ref& r = items->emplace_back();
                r.kind = value_kind::string;
                r.s = v.get_string().value_unsafe();
                break;
            }
            case et::BOOL: {
                value_ref& r = items->emplace_back();
                r.kind = value_kind::boolean;
                r.b = v.get_bool().value_unsafe();
                break;
            }
            case et::NULL_VALUE:
                items->emplace_back();
                break;
            default:
                break;
        }
    }

    // The child for an unescaped key: lengths first, so most keys cost no memcmp.
    const path_set::trie_node* dom_child_of(std::uint32_t node, std::string_view key,
                                            std::uint32_t& id) const {
        for (const path_set::child& c : paths->nodes()[node].children) {
            if (c.key.size() == key.size() &&
                std::memcmp(c.key.data(), key.data(), key.size()) == 0) {
                id = c.node;
                return &paths->nodes()[c.node];
            }
        }
        return nullptr;
    }

    void walk_dom(simdjson::dom::object obj, std::uint32_t node) {
        using et = simdjson::dom::element_type;
        for (simdjson::dom::key_value_pair kv : obj) {
            std::uint32_t id = 0;
            const path_set::trie_node* child = dom_child_of(node, kv.key, id);
            if (!child) continue;  // a key no path uses
            visit(id);
            const et t = kv.value.type();
            if (t == et::OBJECT) {
                if (child->slot >= 0) (*slots)[child->slot].present = true;
                if (!child->children.empty()) walk_dom(kv.value.get_object().value_unsafe(), id);
                continue;
            }
            if (child->slot < 0) continue;
            slot_state& st = (*slots)[child->slot];
            st.present = true;
            st.begin = static_cast<std::uint32_t>(items->size());
            if (t == et::ARRAY) {
                simdjson::dom::array arr = kv.value.get_array().value_unsafe();
                for (simdjson::dom::element el : arr) {
                    push_dom_scalar(el);
                }
            } else {
                push_dom_scalar(kv.value);
            }
            st.end = static_cast<std::uint32_t>(items->size());
        }
    }

    // The fast scan: a strict recursive-descent reader of the easy documents, those whose
    // strings are printable ASCII without escapes (keys then equal their raw bytes, and
    // values are views into data_json). It validates everything it passes over; anything else
    // (an escape, a byte outside 0x20-0x7f in a string, a number parse_json_number refuses,
    // deep nesting, a root that is not an object, a syntax error) makes it give up, and the
    // general readers below take the document, so results never depend on which one ran.
    const char* p_ = nullptr;
    const char* end_ = nullptr;
    static constexpr int fast_max_depth = 64;

    void ws() {
        while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
               (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) {
            ++p_;
        }
    }
    bool lit(std::string_view w) {
        if (static_cast<std::size_t>(end_ - p_) < w.size() ||
            std::memcmp(p_, w.data(), w.size()) != 0) {
            return false;
        }
        p_ += w.size();
        return true;
    }
    bool fast_string(std::string_view& out) {  // at '"'
        const char* start = ++p_;
        p_ = skip_plain_string_bytes(p_, end_);
        while (p_ < end_) {
            const auto c = static_cast<unsigned char>(*p_);
            if (c == '"') {
                out = std::string_view(start, static_cast<std::size_t>(p_ - start));
                ++p_;
                return true;
            }
            if (c == '\\' || c < 0x20 || c >= 0x80) return false;
            ++p_;
        }
        return false;
    }
    static bool digit(char c) { return c >= '0' && c <= '9'; }
    bool fast_number(std::string_view& tok) {  // JSON's number grammar, strictly
        const char* start = p_;
        if (p_ < end_ && *p_ == '-') ++p_;
        if (p_ == end_) return false;
        if (*p_ == '0') {
            ++p_;
        } else if (digit(*p_)) {
            while (p_ < end_ && digit(*p_)) ++p_;
        } else {
            return false;
        }
        if (p_ < end_ && *p_ == '.') {
            ++p_;
            if (p_ == end_ || !digit(*p_)) return false;
            while (p_ < end_ && digit(*p_)) ++p_;
        }
        if (p_ < end_ && (*p_ == 'e' || *p_ == 'E')) {
            ++p_;
            if (p_ < end_ && (*p_ == '+' || *p_ == '-')) ++p_;
            if (p_ == end_ || !digit(*p_)) return false;
            while (p_ < end_ && digit(*p_)) ++p_;
        }
        tok = std::string_view(start, static_cast<std::size_t>(p_ - start));
        return true;
    }
    // A scalar at p_, appended to items when `keep`; false to give up. Objects and arrays are
    // passed over (validated) and never appended.
    bool fast_value(bool keep, int depth) {
        if (p_ == end_) return false;
        std::string_view s;
        switch (*p_) {
            case '{':
                return fast_object(nullptr, depth + 1);
            case '[':
                return fast_array(false, depth + 1);
            case '"':
                if (!fast_string(s)) return false;
                if (keep) items->push_back(make_string(s));
                return true;
            case 't':
                if (!lit("true")) return false;
                if (keep) items->push_back(make_bool(true));
                return true;
            case 'f':
                if (!lit("false")) return false;
                if (keep) items->push_back(make_bool(false));
                return true;
            case 'n':
                if (!lit("null")) return false;
                if (keep) items->push_back(make_null());
                return true;
            default: {
                if (!fast_number(s)) return false;
                if (!keep) return true;
                std::optional<value_ref> n = parse_json_number(s);
                if (!n) return false;
                items->push_back(*n);
                return true;
            }
        }
    }
    bool fast_array(bool keep, int depth) {  // at '['
        if (depth > fast_max_depth) return false;
        ++p_;
        ws();
        if (p_ < end_ && *p_ == ']') {
            ++p_;
            return true;
        }
        for (;;) {
            ws();
            if (!fast_value(keep, depth)) return false;
            ws();
            if (p_ == end_) return false;
            if (*p_ == ']') {
                ++p_;
                return true;
            }
            if (*p_++ != ',') return false;
        }
    }
    // At '{'. `node` is the trie node of this object, or null when no path reads below it.
    bool fast_object(const path_set::trie_node* node, int depth) {
        if (depth > fast_max_depth) return false;
        ++p_;
        ws();
        if (p_ < end_ && *p_ == '}') {
            ++p_;
            return true;
        }
        for (;;) {
            ws();
            std::string_view key;
            if (p_ == end_ || *p_ != '"' || !fast_string(key)) return false;
            ws();
            if (p_ == end_ || *p_++ != ':') return false;
            ws();
            if (p_ == end_) return false;
            std::uint32_t id = 0;
            const path_set::trie_node* child = nullptr;
            if (node) {
                for (const path_set::child& c : node->children) {
                    if (c.key.size() == key.size() &&
                        std::memcmp(c.key.data(), key.data(), key.size()) == 0) {
                        id = c.node;
                        child = &paths->nodes()[c.node];
                        break;
                    }
                }
            }
            if (child) {  // a path reads it
                visit(id);
                if (*p_ == '{') {
                    if (child->slot >= 0) (*slots)[child->slot].present = true;
                    if (!fast_object(child->children.empty() ? nullptr : child, depth + 1)) {
                        return false;
                    }
                } else if (child->slot >= 0) {
                    slot_state& st = (*slots)[child->slot];
                    st.present = true;
                    st.begin = static_cast<std::uint32_t>(items->size());
                    if (!(*p_ == '[' ? fast_array(true, depth + 1) : fast_value(true, depth))) {
                        return false;
                    }
                    st.end = static_cast<std::uint32_t>(items->size());
                } else if (!fast_value(false, depth)) {
                    return false;
                }
            } else if (!fast_value(false, depth)) {
                return false;
            }
            ws();
            if (p_ == end_) return false;
            if (*p_ == '}') {
                ++p_;
                return true;
            }
            if (*p_++ != ',') return false;
        }
    }
    bool run_fast(const event_view& e) {
        next_epoch();
        p_ = e.data_json.data();
        end_ = p_ + e.data_json.size();
        ws();
        if (p_ == end_ || *p_ != '{' || !fast_object(&paths->nodes()[0], 1)) return false;
        ws();
        return p_ == end_;
    }

    // The DOM next: a whole-document parse with the runtime-selected SIMD kernel beats the
    // on-demand walk, which compiles to simdjson's portable fallback kernel without -march.
    // A document the DOM refuses (malformed, or an integer beyond 64 bits, which the DOM
    // rejects but JSON allows) takes the on-demand walk, as before.
    bool run_dom(const event_view& e) {
        next_epoch();
        simdjson::dom::element root;
        simdjson::error_code err;
        if (e.data_padded) {
            err = dom_parser.parse(e.data_json.data(), e.data_json.size(), false).get(root);
        } else {
            padded.assign(e.data_json);
            padded.reserve(e.data_json.size() + simdjson::SIMDJSON_PADDING);
            err = dom_parser.parse(padded.data(), padded.size(), false).get(root);
        }
        if (err) return false;
        simdjson::dom::object obj;
        if (!root.get_object().get(obj)) walk_dom(obj, 0);
        return true;
    }

    void next_epoch() {
        if (++epoch == 0) std::fill(seen.begin(), seen.end(), epoch++);
        seen.resize(paths->nodes().size(), 0);
    }

    bool run(const event_view& e) {
        next_epoch();
        od::document doc;
        simdjson::error_code err;
        if (e.data_padded) {
            err = parser
                      .iterate(e.data_json.data(), e.data_json.size(),
                               e.data_json.size() + simdjson::SIMDJSON_PADDING)
                      .get(doc);
        } else {
            padded.assign(e.data_json);
            padded.reserve(e.data_json.size() + simdjson::SIMDJSON_PADDING);
            err = parser.iterate(padded.data(), padded.size(), padded.capacity()).get(doc);
        }
        od::object obj;
        return !err && !doc.get_object().get(obj) && walk(obj, 0);
    }
};

extract_state::extract_state() : impl_(std::make_unique<impl>()) {}
extract_state::~extract_state() = default;

void extract_state::extract(const path_set& paths, const event_view& e) {
    slots_.assign(paths.slot_count(), slot_state{});
    items_.clear();
    items_.push_back(make_string(e.type));
    items_.push_back(make_string(e.source));
    slots_[slot_event_type] = {true, 0, 1};
    slots_[slot_event_source] = {true, 1, 2};
    if (!paths.has_data_paths()) return;
    impl_->slots = &slots_;
    impl_->items = &items_;
    impl_->paths = &paths;
    if (impl_->run_fast(e)) return;
    for (std::uint32_t s = 2; s < slots_.size(); ++s) slots_[s] = slot_state{};
    items_.resize(2);
    if (impl_->run_dom(e)) return;
    for (std::uint32_t s = 2; s < slots_.size(); ++s) slots_[s] = slot_state{};
    items_.resize(2);
    if (!impl_->run(e)) {  // malformed event_data: every data path is missing
        for (std::uint32_t s = 2; s < slots_.size(); ++s) slots_[s] = slot_state{};
        items_.resize(2);
    }
}

}  // namespace pubsub::filter_detail
