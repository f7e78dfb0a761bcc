// build_info: the version (CMake project version) and git revision this binary was built from,
// for `--version` (SPEC 7.4). The revision is "unknown" outside a git checkout.
#pragma once

#include <string>

namespace pubsub {

const char* build_version();
const char* build_revision();

// "NAME VERSION (revision REV)": the first line of every binary's --version (help2man reads the
// version from it).
inline std::string version_line(const std::string& program) {
    return program + " " + build_version() + " (revision " + build_revision() + ")";
}

}  // namespace pubsub
