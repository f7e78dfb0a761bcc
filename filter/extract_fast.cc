// The fast scan: a strict recursive-descent reader of the easy documents, those whose strings
// are printable ASCII without escapes (keys then equal their raw bytes, and values are views
// into data_json). It validates everything it passes over; anything else (an escape, a byte
// outside 0x20-0x7f in a string, a number parse_json_number refuses, deep nesting, a root that
// is not an object, a syntax error) makes it give up, and the general readers (extract.cc) take
// the document, so results never depend on which one ran.
#include <cstring>
#include <optional>

#include "base/json_text.h"
#include "filter/extract_readers.h"

namespace pubsub::filter_detail {

namespace {

class fast_scanner {
  public:
    explicit fast_scanner(extract_target& t)
        : t_(t), slots(t.slots), items(t.items), paths(t.paths) {}

    bool run(std::string_view data_json) {
        t_.next_epoch();
        p_ = data_json.data();
        end_ = p_ + data_json.size();
        ws();
        if (p_ == end_ || *p_ != '{' || !fast_object(&paths->nodes()[0], 1)) return false;
        ws();
        return p_ == end_;
    }

  private:
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
                t_.visit(id);
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

    extract_target& t_;
    std::vector<slot_state>* slots;
    std::vector<value_ref>* items;
    const path_set* paths;
};

}  // namespace

bool scan_fast(extract_target& t, std::string_view data_json) {
    return fast_scanner(t).run(data_json);
}

}  // namespace pubsub::filter_detail
