#include "handlers/command_template.h"

#include <array>

namespace pubsub {
namespace {

constexpr std::array<placeholder, 6> all_placeholders = {
    placeholder::config_id,    placeholder::event_id,   placeholder::event_type,
    placeholder::event_source, placeholder::subscriber, placeholder::attempt};

status parse_error(std::string what) { return status::error("command template: " + what); }

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

// Shell-like word splitting without any expansion (see the header).
result<std::vector<std::string>> split_words(std::string_view text) {
    std::vector<std::string> words;
    std::string cur;
    bool in_word = false;
    for (std::size_t i = 0; i < text.size(); ++i) {
        char c = text[i];
        if (is_blank(c)) {
            if (in_word) words.push_back(std::move(cur));
            cur.clear();
            in_word = false;
            continue;
        }
        if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
            ++i;  // line continuation: both characters vanish
            continue;
        }
        in_word = true;
        if (c == '\'') {
            std::size_t end = text.find('\'', i + 1);
            if (end == std::string_view::npos)
                return parse_error("unterminated single quote (starting at column " +
                                   std::to_string(i + 1) + ")");
            cur.append(text.substr(i + 1, end - i - 1));
            i = end;
        } else if (c == '"') {
            std::size_t j = i + 1;
            for (; j < text.size() && text[j] != '"'; ++j) {
                bool escape = text[j] == '\\' && j + 1 < text.size() &&
                              (text[j + 1] == '"' || text[j + 1] == '\\');
                cur += text[escape ? ++j : j];
            }
            if (j >= text.size())
                return parse_error("unterminated double quote (starting at column " +
                                   std::to_string(i + 1) + ")");
            i = j;
        } else if (c == '\\') {
            if (i + 1 == text.size()) return parse_error("ends with a lone backslash");
            cur += text[++i];
        } else {
            cur += c;
        }
    }
    if (in_word) words.push_back(std::move(cur));
    return words;
}

std::optional<placeholder> find_placeholder(std::string_view name) {
    for (auto p : all_placeholders)
        if (to_string(p) == name) return p;
    return std::nullopt;
}

std::string known_list() {
    std::string out;
    for (auto p : all_placeholders)
        out += (out.empty() ? "{" : ", {") + std::string(to_string(p)) + "}";
    return out;
}

std::string word_label(std::size_t index, std::string_view w) {
    return "word " + std::to_string(index + 1) + " (\"" + std::string(w) + "\")";
}

}  // namespace

std::string_view to_string(placeholder p) {
    switch (p) {
        case placeholder::config_id:
            return "config_id";
        case placeholder::event_id:
            return "event_id";
        case placeholder::event_type:
            return "event_type";
        case placeholder::event_source:
            return "event_source";
        case placeholder::subscriber:
            return "subscriber";
        case placeholder::attempt:
            return "attempt";
    }
    return "unknown";
}

result<command_template> parse_command_template(std::string_view text) {
    auto words = split_words(text);
    if (!words) return words.error();
    if (words->empty()) return parse_error("the command is empty");

    command_template t;
    for (std::size_t wi = 0; wi < words->size(); ++wi) {
        const std::string& w = (*words)[wi];
        command_template::word out;
        auto literal = [&](char c) {
            if (out.empty() || out.back().is_placeholder) out.push_back({});
            out.back().text += c;
        };
        for (std::size_t i = 0; i < w.size(); ++i) {
            char c = w[i];
            bool doubled = i + 1 < w.size() && w[i + 1] == c;
            if ((c == '{' || c == '}') && doubled) {
                literal(c);
                ++i;
            } else if (c == '}') {
                return parse_error("single '}' in " + word_label(wi, w) +
                                   " (write }} for a literal brace)");
            } else if (c == '{') {
                std::size_t end = w.find('}', i + 1);
                if (end == std::string::npos)
                    return parse_error("unterminated '{' in " + word_label(wi, w) +
                                       " (write {{ for a literal brace)");
                std::string_view name = std::string_view(w).substr(i + 1, end - i - 1);
                auto p = find_placeholder(name);
                if (!p)
                    return parse_error("unknown placeholder {" + std::string(name) + "} in " +
                                       word_label(wi, w) + " (known: " + known_list() + ")");
                out.push_back({true, *p, {}});
                i = end;
            } else {
                literal(c);
            }
        }
        if (out.empty()) out.push_back({});  // an empty word ('' or "") is an empty argument
        t.words_.push_back(std::move(out));
    }

    const auto& program = t.words_.front();
    if (program.size() != 1 || program.front().is_placeholder)
        return parse_error("the program " + word_label(0, (*words)[0]) +
                           " cannot contain placeholders");
    if (program.front().text.empty() || program.front().text[0] != '/')
        return parse_error("the program \"" + program.front().text +
                           "\" must be an absolute path (there is no PATH search)");
    return t;
}

std::vector<std::string> command_template::render(const placeholders& v) const {
    auto value = [&](placeholder p) -> std::string {
        switch (p) {
            case placeholder::config_id:
                return v.config_id ? std::to_string(*v.config_id) : "";
            case placeholder::event_id:
                return std::to_string(v.event_id);
            case placeholder::event_type:
                return std::string(v.event_type);
            case placeholder::event_source:
                return std::string(v.event_source);
            case placeholder::subscriber:
                return std::string(v.subscriber);
            case placeholder::attempt:
                return std::to_string(v.attempt);
        }
        return {};
    };
    std::vector<std::string> argv;
    argv.reserve(words_.size());
    for (const auto& w : words_) {
        std::string arg;
        for (const auto& s : w) arg += s.is_placeholder ? value(s.which) : s.text;
        argv.push_back(std::move(arg));
    }
    return argv;
}

bool command_template::uses(placeholder p) const {
    for (const auto& w : words_)
        for (const auto& s : w)
            if (s.is_placeholder && s.which == p) return true;
    return false;
}

const std::string& command_template::program() const { return words_.front().front().text; }

}  // namespace pubsub
