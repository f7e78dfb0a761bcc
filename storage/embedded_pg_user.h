// The OS user that runs an embedded cluster's server, and running PostgreSQL's programs (initdb,
// pg_ctl) as that user. Internal to storage/embedded_pg*; see embedded_pg.h ("Users").
// Thread-safety: plain functions without shared state; they block while a program runs.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "base/result.h"
#include "base/subprocess.h"

namespace pubsub::detail {

struct pg_identity {
    // The OS user that runs initdb, pg_ctl and the server; its name is also the role in dsn().
    bool switch_user = false;
    uid_t uid = 0;
    gid_t gid = 0;
    std::vector<gid_t> groups;
    std::string name;

    // What a child must switch to, or nullopt when it runs as we do.
    std::optional<user_credentials> credentials() const;
};

// We when not root; otherwise run_as, which must exist.
result<pg_identity> resolve_identity(const std::string& run_as);

// A PostgreSQL program: PATH first, then the newest /usr/lib/postgresql/<major>/bin.
result<std::filesystem::path> find_pg_binary(const std::string& name);

struct program_output {
    int code = -1;       // exit status, or 128 + signal
    std::string output;  // stdout and stderr, interleaved
};

// Runs the PostgreSQL program args[0] (found by find_pg_binary) as `who` in cwd, stdin from
// /dev/null, until it exits. An error when it could not be started.
result<program_output> run_program(const pg_identity& who, const std::filesystem::path& cwd,
                                   const std::vector<std::string>& args);

// Whether `who` may search `dir` (and so every parent of it).
bool can_traverse(const pg_identity& who, const std::filesystem::path& dir);

}  // namespace pubsub::detail
