// Glob compilation and the greedy matcher.
#include "filter/glob.h"

namespace pubsub::filter_detail {

glob_tokens compile_glob(std::string_view raw) {
    glob_tokens t;
    for (std::size_t k = 0; k < raw.size(); ++k) {
        char c = raw[k];
        if (c == '\\' && k + 1 < raw.size() &&
            (raw[k + 1] == '*' || raw[k + 1] == '?' || raw[k + 1] == '\\')) {
            t.push_back(static_cast<unsigned char>(raw[++k]));
        } else if (c == '*') {
            if (t.empty() || t.back() != glob_star) t.push_back(glob_star);
        } else if (c == '?') {
            t.push_back(glob_any);
        } else {
            t.push_back(static_cast<unsigned char>(c));
        }
    }
    return t;
}

bool glob_has_wildcard(std::string_view raw) {
    for (std::int16_t tok : compile_glob(raw)) {
        if (tok < 0) return true;
    }
    return false;
}

std::string glob_unescape(std::string_view raw) { return glob_literal_prefix(compile_glob(raw)); }

std::string glob_literal_prefix(const glob_tokens& t) {
    std::string out;
    for (std::int16_t tok : t) {
        if (tok < 0) break;
        out += static_cast<char>(tok);
    }
    return out;
}

std::string glob_literal_suffix(const glob_tokens& t) {
    std::size_t k = t.size();
    while (k > 0 && t[k - 1] >= 0) --k;
    std::string out;
    for (; k < t.size(); ++k) out += static_cast<char>(t[k]);
    return out;
}

std::vector<std::string> glob_literal_runs(const glob_tokens& t) {
    std::vector<std::string> runs(1);
    for (std::int16_t tok : t) {
        if (tok >= 0) {
            runs.back() += static_cast<char>(tok);
        } else if (!runs.back().empty()) {
            runs.emplace_back();
        }
    }
    if (runs.back().empty()) runs.pop_back();
    return runs;
}

namespace {

// A pattern `prefix*suffix` (no other wildcard): both literals, no backtracking.
template <class T>
bool match_single_star(const T& t, std::size_t star, std::string_view s) {
    const std::size_t suffix = t.size() - star - 1;
    if (s.size() < star + suffix) return false;
    for (std::size_t k = 0; k < star; ++k) {
        if (t[k] != static_cast<unsigned char>(s[k])) return false;
    }
    const std::size_t from = s.size() - suffix;
    for (std::size_t k = 0; k < suffix; ++k) {
        if (t[star + 1 + k] != static_cast<unsigned char>(s[from + k])) return false;
    }
    return true;
}

}  // namespace

template <class T>
bool glob_match(const T& t, std::string_view s) {
    if constexpr (requires { t.single_star(); }) {
        if (t.single_star() != 0) return match_single_star(t, t.single_star() - 1, s);
    }
    std::size_t p = 0, i = 0;
    std::size_t star_p = std::string_view::npos, star_i = 0;
    while (i < s.size()) {
        if (p < t.size() && t[p] == glob_star) {
            star_p = p++;
            star_i = i;
        } else if (p < t.size() && t[p] == glob_any) {
            ++p;
            i += utf8_char_len(s, i);
        } else if (p < t.size() && t[p] == static_cast<unsigned char>(s[i])) {
            ++p;
            ++i;
        } else if (star_p != std::string_view::npos) {
            p = star_p + 1;
            i = ++star_i;
        } else {
            return false;
        }
    }
    while (p < t.size() && t[p] == glob_star) ++p;
    return p == t.size();
}

template bool glob_match(const glob_tokens&, std::string_view);
template bool glob_match(const glob_token_bytes&, std::string_view);

}  // namespace pubsub::filter_detail
