// Glob compilation and the greedy matcher.
#include "filter/glob.h"

#include <algorithm>
#include <cstring>

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

template <class T>
bool glob_match(const T& t, std::string_view s) {
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

bool glob_segments::fits(const glob_tokens& t) {
    std::size_t run = 0;
    for (std::int16_t tok : t) {
        if (tok == glob_any) return false;
        run = tok == glob_star ? 0 : run + 1;
        if (run > UINT16_MAX) return false;
    }
    return true;
}

std::uint32_t glob_segments::count_of(const glob_tokens& t) {
    return 1 + static_cast<std::uint32_t>(std::count(t.begin(), t.end(), glob_star));
}

void glob_segments::append(const glob_tokens& t, std::string& out) {
    std::string text;
    std::uint16_t length = 0;
    auto end_segment = [&] {
        out.append(reinterpret_cast<const char*>(&length), sizeof length);
        length = 0;
    };
    for (std::int16_t tok : t) {
        if (tok == glob_star) {
            end_segment();
        } else {
            text += static_cast<char>(tok);
            ++length;
        }
    }
    end_segment();
    out += text;
}

namespace {

// Whether n bytes at a and b are equal (a may be null when n is 0: an empty string_view).
bool same_bytes(const char* a, const char* b, std::size_t n) {
    return n == 0 || std::memcmp(a, b, n) == 0;
}

}  // namespace

bool glob_segments::match(std::string_view s) const {
    const char* text = bytes_ + std::size_t{count_} * sizeof(std::uint16_t);
    const std::size_t first = length(0);
    if (count_ == 1) return s.size() == first && same_bytes(s.data(), text, first);
    const std::size_t last = length(count_ - 1);
    if (s.size() < first + last || !same_bytes(s.data(), text, first)) return false;
    std::size_t middle_bytes = 0;
    for (std::uint32_t k = 1; k + 1 < count_; ++k) middle_bytes += length(k);
    if (!same_bytes(s.data() + s.size() - last, text + first + middle_bytes, last)) return false;
    std::string_view between = s.substr(first, s.size() - first - last);
    text += first;
    for (std::uint32_t k = 1; k + 1 < count_; ++k) {
        const std::string_view middle(text, length(k));
        const std::size_t at = between.find(middle);
        if (at == std::string_view::npos) return false;
        between.remove_prefix(at + middle.size());
        text += middle.size();
    }
    return true;
}

bool glob_match(const stored_glob& g, std::string_view s) {
    if (g.segments) return glob_segments(g.bytes, g.count).match(s);
    return glob_match(glob_token_bytes(g.bytes, g.count), s);
}

}  // namespace pubsub::filter_detail
