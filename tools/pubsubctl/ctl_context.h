// ctl_context: what every pubsubctl command needs: where the database and the socket are,
// and a few output helpers. Single-threaded, start-up style: errors are printed and turned
// into exit codes (0 ok, 1 failure, 2 usage).
#pragma once

#include <string>
#include <vector>

#include "base/result.h"
#include "storage/pg.h"

namespace pubsub::ctl {

struct context {
    std::string dsn;  // --dsn / PUBSUB_DSN, else the embedded cluster under data_dir
    std::string schema = "dba";
    std::string data_dir = ".data";
    std::string socket;  // default data_dir/pubsub.sock
    bool json = false;

    // Connects to the database, finding the embedded cluster when no DSN is given.
    result<pg::connection> connect() const;
    std::string socket_path() const { return socket.empty() ? data_dir + "/pubsub.sock" : socket; }
};

int fail(const std::string& message);  // prints "pubsubctl: <message>", returns 1

// Prints a query result as an aligned table (or JSON rows with --json).
void print_rows(const pg::query_result& r, bool json);

}  // namespace pubsub::ctl
