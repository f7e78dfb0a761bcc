// json_drop_repeated_keys (json_scan.h): rewrites a validated text so that each object keeps
// only the last occurrence of a key, as jsonb does. Taken only for the rare event whose data
// repeats a key, so it favours plainness: a recursive copy, an O(n log n) sort per object.
#include <algorithm>
#include <numeric>
#include <vector>

#include "ingest/json_scan.h"

namespace pubsub {
namespace {

class rewriter {
  public:
    explicit rewriter(std::string_view s) : s_(s) {}

    void value(std::string& out) {
        ws();
        const char c = s_[i_];
        if (c == '{') return object(out);
        if (c == '[') return array(out);
        const std::size_t b = i_;
        if (c == '"') {
            skip_string();
        } else {
            while (i_ < s_.size() && !delimiter(s_[i_])) ++i_;
        }
        out.append(s_.substr(b, i_ - b));
    }

  private:
    static bool space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
    static bool delimiter(char c) { return space(c) || c == ',' || c == '}' || c == ']'; }
    void ws() {
        while (i_ < s_.size() && space(s_[i_])) ++i_;
    }
    void skip_string() {  // at the opening quote; stops after the closing one
        for (++i_; i_ < s_.size() && s_[i_] != '"'; ++i_) {
            if (s_[i_] == '\\') ++i_;
        }
        ++i_;
    }

    void array(std::string& out) {
        out += '[';
        ++i_;
        ws();
        for (bool first = true; s_[i_] != ']'; first = false) {
            if (!first) out += ',';
            value(out);
            ws();
            if (s_[i_] == ',') ++i_;
            ws();
        }
        ++i_;
        out += ']';
    }

    struct member {
        std::string key;           // unescaped, for comparing
        std::string_view raw_key;  // with its quotes, as sent
        std::string value;
    };

    void object(std::string& out) {
        std::vector<member> members;
        ++i_;
        ws();
        while (s_[i_] != '}') {
            const std::size_t b = i_;
            skip_string();
            member m;
            m.raw_key = s_.substr(b, i_ - b);
            m.key = json_unescape(m.raw_key.substr(1, m.raw_key.size() - 2));
            ws();
            ++i_;  // ':'
            value(m.value);
            members.push_back(std::move(m));
            ws();
            if (s_[i_] == ',') ++i_;
            ws();
        }
        ++i_;
        // Keep a member unless a later one has the same key.
        std::vector<std::size_t> order(members.size());
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
            return members[a].key < members[b].key;
        });
        std::vector<bool> keep(members.size(), true);
        for (std::size_t k = 0; k + 1 < order.size(); ++k) {
            if (members[order[k]].key == members[order[k + 1]].key) keep[order[k]] = false;
        }
        out += '{';
        bool first = true;
        for (std::size_t k = 0; k < members.size(); ++k) {
            if (!keep[k]) continue;
            if (!first) out += ',';
            first = false;
            out.append(members[k].raw_key);
            out += ':';
            out += members[k].value;
        }
        out += '}';
    }

    std::string_view s_;
    std::size_t i_ = 0;
};

}  // namespace

std::string json_drop_repeated_keys(std::string_view validated) {
    std::string out;
    out.reserve(validated.size());
    rewriter(validated).value(out);
    return out;
}

}  // namespace pubsub
