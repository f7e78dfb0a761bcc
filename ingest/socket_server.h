// socket_server: the Unix-socket door (SPEC 3.1): newline-delimited JSON, pipelined.
//
// DESIGN: one io_context run by one thread owns the acceptor and every session, so session
// state needs no locks; durable acks arrive from the write-behind thread and are posted back.
// Each session reads lines, hands each to the intake, and writes one reply per line strictly
// in request order (a slot per line; replies are flushed as the front slots complete), so a
// quick error reply never overtakes an earlier durable ack. Back-pressure: a session stops
// reading while it has max_inflight unanswered lines or max_unsent_bytes of replies its client
// has not read, so a client that writes and never reads stalls only itself. A line longer than
// max_line gets an error reply and the connection is closed after the earlier replies are
// written. Beyond max_connections open sessions, and for a peer whose uid/gid is not allowed, a
// new connection gets one error line and is closed (logged at most once a second, counted).
// Lifecycle (a service in two steps): start() binds (refusing to steal a socket another process
// is serving) and starts the thread; stop() closes the acceptor and stops reading (replies still
// flow); close() closes everything and joins. Both idempotent and noexcept.
#pragma once

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/logger.h"
#include "base/result.h"
#include "base/service.h"
#include "router/intake.h"
#include "router/memory_budget.h"

namespace pubsub {

struct socket_options {
    std::string path;
    unsigned mode = 0660;
    std::size_t max_line = 1 << 20;
    std::size_t max_inflight = 65536;
    std::size_t max_unsent_bytes = 256 * 1024;  // replies written but not yet read, per session
    std::size_t max_connections = 1024;         // open sessions
    memory_budget* budget = nullptr;            // partial lines beyond 64 KiB draw on it
    std::vector<uid_t> allowed_uids;            // empty: any peer the file mode lets in
    std::vector<gid_t> allowed_gids;
    log_sink log;
};

struct socket_counters {
    std::uint64_t connections = 0;
    std::uint64_t lines = 0;
    std::uint64_t errors = 0;
    std::uint64_t refused_peers = 0;
    std::uint64_t refused_connections = 0;  // beyond max_connections
    std::size_t open = 0;                   // sessions open now
};

class socket_server final : public service {
  public:
    socket_server(socket_options opts, intake& in);
    ~socket_server() override;
    socket_server(const socket_server&) = delete;
    socket_server& operator=(const socket_server&) = delete;

    std::string_view name() const override { return "socket"; }
    status start() override;
    // Returns once the door thread stopped reading; nothing waits for the deadline.
    void stop(clock::time_point deadline) noexcept override;
    void close() noexcept;
    socket_counters counters() const;

  private:
    struct impl;
    std::shared_ptr<impl> impl_;
};

}  // namespace pubsub
