#include "handlers/script_path.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <optional>

#include "base/errno_text.h"

namespace pubsub {
namespace {

std::optional<std::string> real_path(const std::string& path, int* err) {
    char* resolved = ::realpath(path.c_str(), nullptr);
    if (resolved == nullptr) {
        *err = errno;
        return std::nullopt;
    }
    std::string out(resolved);
    ::free(resolved);
    return out;
}

// True if `path` (resolved) lies strictly below `dir` (resolved).
bool inside(std::string_view path, std::string_view dir) {
    if (dir == "/") return path.size() > 1 && path[0] == '/';
    return path.size() > dir.size() + 1 && path.substr(0, dir.size()) == dir &&
           path[dir.size()] == '/';
}

std::string quoted(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string join(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

result<std::string> resolve_script(std::string_view script_path,
                                   const std::vector<std::string>& allowed_dirs) {
    if (allowed_dirs.empty())
        return status::error("no --scripts-dir configured: custom handlers are disabled");
    const std::string name = quoted(script_path);
    if (script_path.empty()) return status::error("script path is empty");

    int err = 0;
    auto resolved = real_path(std::string(script_path), &err);
    if (!resolved) {
        if (err == ENOENT || err == ENOTDIR) return status::error("script " + name + " not found");
        return status::error("script " + name + " cannot be resolved: " + errno_text(err));
    }
    bool allowed = false;
    for (const auto& dir : allowed_dirs) {
        auto real_dir = real_path(dir, &err);
        if (real_dir && inside(*resolved, *real_dir)) allowed = true;
    }
    if (!allowed)
        return status::error("script " + name + " resolves to " + quoted(*resolved) +
                             ", outside the allowed directories (" + join(allowed_dirs) + ")");

    struct stat st {};
    if (::stat(resolved->c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return status::error("script " + name + " is not a regular file");
    if (::access(resolved->c_str(), X_OK) != 0)
        return status::error("script " + name + " is not executable");
    return std::move(*resolved);
}

}  // namespace pubsub
