// The readers of event_data that fill the slots of a path_set, tried in order: the fast scan
// (extract_fast.cc: easy documents, ASCII strings without escapes), simdjson's DOM
// (runtime-selected SIMD kernel), then the on-demand walk (documents the DOM refuses). Each
// validates what it reads, and a reader that gives up leaves no trace, so all three give the
// same slots.
#include "filter/extract.h"

#include "filter/extract_readers.h"

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

struct extract_state::impl : extract_target {
    simdjson::dom::parser dom_parser;  // runtime-dispatched kernel (haswell, icelake...)
    od::parser parser;                 // the fallback walk, for documents the DOM refuses
    std::string padded;                // copy of data_json when the caller cannot prove padding

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
    if (scan_fast(*impl_, e.data_json)) return;
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
