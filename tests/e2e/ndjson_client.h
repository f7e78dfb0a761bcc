// ndjson_client: a tiny blocking client of pubsubd's Unix-socket door (SPEC 3.1), and run_load,
// a pipelined NDJSON load generator reusable by tests and benchmarks.
//
// ndjson_client writes raw bytes (so tests can send anything, malformed or oversized) and reads
// reply lines with a timeout. One writer thread and one reader thread may use the same client
// at once (the socket is full duplex); otherwise it is not thread-safe. Writes never raise
// SIGPIPE (MSG_NOSIGNAL): a closed peer is an error value.
//
// run_load() keeps up to `window` lines unanswered: a writer thread sends lines in batches, the
// calling thread reads replies (they come back in request order, so replies[i] answers line i).
// It ends when every line is answered, when the peer closes (a daemon killed or stopped), or
// when no reply came for reply_timeout. Allocates the reply vector; blocks the caller.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace pubsub::e2e {

// One reply line of the door: {"ok":true,"event_id":N} (with ,"duplicate":true for a repeated
// idempotency key) or {"ok":false,"error":"..."}.
struct reply {
    bool ok = false;
    std::int64_t event_id = 0;
    std::string error;  // unescaped
    std::string raw;    // the line as received
};

// Parses a reply line; nullopt when it is neither shape.
std::optional<reply> parse_reply(std::string_view line);

// A request line (without the newline); data_json must be a JSON object text or empty.
// ack: "durable", "queued" or "" (the default, durable).
std::string event_line(std::string_view type, std::string_view source, std::string_view data_json,
                       int priority, std::string_view ack);

class ndjson_client {
  public:
    static result<ndjson_client> connect(const std::string& socket_path);
    ndjson_client(ndjson_client&& o) noexcept;
    ndjson_client& operator=(ndjson_client&& o) noexcept;
    ~ndjson_client();

    status send(std::string_view bytes);  // writes all of it
    // Writes `pattern` over and over without blocking, until `total` bytes are written or none
    // could be written for `stall` (the peer stopped reading); returns the bytes written.
    std::size_t send_until_stalled(std::string_view pattern, std::size_t total,
                                   std::chrono::milliseconds stall);
    status send_line(std::string_view line) { return send(std::string(line) + "\n"); }
    // The next line without its newline; an error on timeout, EOF ("eof: ...") or I/O error.
    result<std::string> read_line(std::chrono::milliseconds timeout);
    // read_line + parse_reply.
    result<reply> read_reply(std::chrono::milliseconds timeout);
    // True when the peer closed and no buffered byte is left (waits up to timeout).
    bool at_eof(std::chrono::milliseconds timeout);
    void shutdown_write();
    void shutdown_both();  // also wakes a thread blocked in send() (it gets EPIPE)

  private:
    explicit ndjson_client(int fd) : fd_(fd) {}
    int fd_ = -1;
    std::string buf_;
};

// Polls connect() until the socket accepts, `alive` returns false, or timeout.
status wait_for_socket(const std::string& socket_path, std::chrono::milliseconds timeout,
                       const std::function<bool()>& alive = {});

struct load_options {
    std::string socket_path;
    std::size_t count = 0;                         // lines to send
    std::function<std::string(std::size_t)> line;  // line i, without the newline
    std::size_t window = 1024;                     // most lines sent and not yet answered
    std::size_t batch_bytes = 64 * 1024;           // bytes per write() at most (about)
    std::chrono::milliseconds reply_timeout{30'000};
    const std::atomic<bool>* stop = nullptr;       // when set to true, no further line is sent
    std::atomic<std::size_t>* answered = nullptr;  // updated as replies arrive (for watchers)
    std::atomic<std::size_t>* acked = nullptr;     // the same, counting only ok replies
};

struct load_result {
    std::vector<reply> replies;  // replies[i] answers line i; size() = lines answered
    std::size_t sent = 0;        // lines written (a line cut by a closed peer counts as sent)
    double seconds = 0;          // first write to last reply
    std::string end_reason;      // "" when every line was answered, else why it stopped early
    std::size_t ok_count() const;
    std::size_t error_count() const { return replies.size() - ok_count(); }
    double per_second() const { return seconds > 0 ? replies.size() / seconds : 0; }
};

// Runs a pipelined load over one connection (see the header comment). A connection failure is
// reported in end_reason, not as an error: only "could not connect" is an error.
result<load_result> run_load(const load_options& opts);

}  // namespace pubsub::e2e
