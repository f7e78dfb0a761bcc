// ignore_patterns: which names the file watcher skips (SPEC 3.2: temporary names).
//
// A pattern without '/' is an fnmatch(3) glob matched against one name, and applies to files
// and to directories (an ignored directory is neither watched nor scanned). A pattern with '/'
// is matched against the path relative to the watched directory (FNM_PATHNAME).
// Immutable after construction; safe to share between threads.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pubsub {

// Dot files, *.tmp, *.part, *.swp.
const std::vector<std::string>& default_ignore_patterns();

class ignore_patterns {
  public:
    explicit ignore_patterns(std::vector<std::string> patterns = default_ignore_patterns());

    // name: the last component; relative: the path from the watched directory ("a/b/x.csv").
    bool ignored(std::string_view name, std::string_view relative) const;
    const std::vector<std::string>& patterns() const { return patterns_; }

  private:
    std::vector<std::string> patterns_;
};

}  // namespace pubsub
