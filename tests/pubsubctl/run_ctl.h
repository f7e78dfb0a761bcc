// run_ctl: runs the built pubsubctl (from PUBSUB_BIN_DIR) as a child process with the given
// arguments and stdin, and collects its exit code, stdout and stderr. For tests; not
// thread-safe (one call at a time per thread is fine, it uses private temp files).
#pragma once

#include <string>
#include <vector>

#include "tests/support/pg_test_env.h"

namespace pubsub::test {

struct ctl_run {
    int code = -1;  // exit code, 128 + signal when killed, -1 when it could not start
    std::string out, err;
};

ctl_run run_ctl(const std::vector<std::string>& args, const std::string& stdin_text = "");

// A pg_schema_test whose ctl() adds --dsn and --schema of the test's schema.
class ctl_test : public pg_schema_test {
  protected:
    ctl_run ctl(std::vector<std::string> args, const std::string& stdin_text = "") {
        args.insert(args.begin(), {"--dsn", dsn(), "--schema", schema()});
        return run_ctl(args, stdin_text);
    }
};

}  // namespace pubsub::test
