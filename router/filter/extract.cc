// The on-demand walk over event_data that fills the slots of a path_set.
#include "router/filter/extract.h"

#include <simdjson.h>

namespace pubsub::filter_detail {

namespace od = simdjson::ondemand;

path_set::path_set() : nodes_(1) {}

std::uint32_t path_set::intern(const field_path& p) {
    if (p.root == field_root::event_type) return slot_event_type;
    if (p.root == field_root::event_source) return slot_event_source;
    std::uint32_t n = 0;
    for (const std::string& key : p.keys) {
        std::uint32_t next = 0;
        for (const auto& [k, child] : nodes_[n].children) {
            if (k == key) next = child;
        }
        if (next == 0) {
            next = static_cast<std::uint32_t>(nodes_.size());
            nodes_[n].children.emplace_back(key, next);
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
        for (const auto& [k, child] : paths->nodes()[node].children) {
            if (k == key) {
                id = child;
                return &paths->nodes()[child];
            }
        }
        return nullptr;
    }

    // The key as text: straight from the document when it has no escapes (the common case,
    // and no copy), else unescaped by simdjson.
    static bool key_of(od::field& f, std::string_view& key) {
        const char* raw = f.key().raw();
        std::size_t n = 0;
        while (raw[n] != '"' && raw[n] != '\\') ++n;
        if (raw[n] == '"') {
            key = std::string_view(raw, n);
            return true;
        }
        return !f.unescaped_key().get(key);
    }

    bool walk(od::object obj, std::uint32_t node) {
        for (auto result : obj) {
            od::field field;
            std::string_view key;
            if (std::move(result).get(field) || !key_of(field, key)) return false;
            std::uint32_t id = 0;
            const path_set::trie_node* child = child_of(node, key, id);
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
