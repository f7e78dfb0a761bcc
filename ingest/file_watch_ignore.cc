// ignore_patterns: see file_watch_ignore.h.
#include "ingest/file_watch_ignore.h"

#include <fnmatch.h>

namespace pubsub {

const std::vector<std::string>& default_ignore_patterns() {
    static const std::vector<std::string> p = {".*", "*.tmp", "*.part", "*.swp"};
    return p;
}

ignore_patterns::ignore_patterns(std::vector<std::string> patterns)
    : patterns_(std::move(patterns)) {}

bool ignore_patterns::ignored(std::string_view name, std::string_view relative) const {
    const std::string n(name), r(relative);
    for (const auto& p : patterns_) {
        const bool by_path = p.find('/') != std::string::npos;
        if (by_path ? fnmatch(p.c_str(), r.c_str(), FNM_PATHNAME) == 0
                    : fnmatch(p.c_str(), n.c_str(), 0) == 0) {
            return true;
        }
    }
    return false;
}

}  // namespace pubsub
