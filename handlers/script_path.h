// resolve_script: the allowlist check for custom handlers' script_path (SPEC 5a).
//
// Pure function over the file system; thread-safe (realpath, stat and access only).
// The returned path is the fully resolved one: execute that, not the configured string, so a
// symlink changed later cannot redirect an already-checked script. Someone who can write
// inside an allowed directory can still change what it holds: keep those directories owned by
// the operator.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pubsub {

// Resolves script_path (symlinks, "..", relative to our working directory) and accepts it only
// if it exists, is a regular file we may execute (access X_OK), and lies strictly inside one of
// allowed_dirs, each of them resolved too (a directory that does not exist allows nothing).
// "/srv/scripts-evil/x" is not inside "/srv/scripts". Errors read like:
//   script "/x" not found
//   script "/x" resolves to "/y", outside the allowed directories (/srv/scripts)
//   script "/x" is not executable
//   no --scripts-dir configured: custom handlers are disabled
result<std::string> resolve_script(std::string_view script_path,
                                   const std::vector<std::string>& allowed_dirs);

}  // namespace pubsub
