// The on-demand walk over event_data that fills the slots of a path_set.
#include "router/filter/extract.h"

#include <simdjson.h>

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
    od::parser parser;
    std::string padded;               // copy of data_json when the caller cannot prove padding
    std::vector<std::uint32_t> seen;  // per trie node: epoch of the last visit
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

    bool walk(od::object obj, std::uint32_t node) {
        for (auto result : obj) {
            od::field field;
            std::uint32_t id = 0;
            const path_set::trie_node* child = nullptr;
            if (std::move(result).get(field) || !find_child(field, node, id, child)) return false;
            if (!child || seen[id] == epoch) continue;  // unused path or duplicate key
            seen[id] = epoch;
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

    bool run(const event_view& e) {
        if (++epoch == 0) std::fill(seen.begin(), seen.end(), epoch++);
        seen.resize(paths->nodes().size(), 0);
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
    if (!impl_->run(e)) {  // malformed event_data: every data path is missing
        for (std::uint32_t s = 2; s < slots_.size(); ++s) slots_[s] = slot_state{};
        items_.resize(2);
    }
}

}  // namespace pubsub::filter_detail
