// socket_session: one client connection of the socket door. Internal to ingest/.
// Lives on the door's io_context thread only (see socket_server.h for the design); the
// destructor may run on another thread (the last reference can be an ack callback's), and only
// touches the atomic open-session count there.
//
// Memory a session can hold, whatever its client does: the 64 KiB read buffer, one partial line
// (at most max_line), at most max_inflight slots, and replies not yet written to the socket
// (stops parsing at max_unsent_bytes, so at most that plus one reply). A client that writes and
// never reads stalls itself: the session stops reading, and the kernel's socket buffers push
// back on the client.
#pragma once

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "ingest/request.h"
#include "router/intake.h"
#include "router/memory_budget.h"

namespace pubsub {

struct session_shared {
    boost::asio::io_context& io;
    intake& in;
    request_parser parser;  // io thread only
    std::size_t max_line;
    std::size_t max_inflight;
    std::size_t max_unsent_bytes;
    // A partial line beyond partial_line_free bytes draws on this budget (null: none), so that
    // many connections each holding an unfinished line near max_line stay within it.
    memory_budget* budget;
    std::atomic<std::uint64_t> lines{0}, errors{0};
    std::atomic<bool> accepting{true};
    // Sessions whose socket is still open (the server's --max-connections count). Relaxed: a
    // count only, it publishes no data; the destructor's decrement may come from another thread.
    std::atomic<std::size_t> open{0};
};

class socket_session : public std::enable_shared_from_this<socket_session> {
  public:
    // Counts itself in shared.open until close().
    socket_session(boost::asio::local::stream_protocol::socket sock, session_shared& shared);
    ~socket_session();
    void start();
    void stop_reading();
    void close();

  private:
    void do_read();
    void on_read(const boost::system::error_code& ec, std::size_t n);
    void parse_buffered();
    bool paused() const;
    void resume();
    void handle_line(std::string_view line);
    void reject_oversized(const std::string& why);
    bool charge_partial(std::size_t size);  // false: the budget is full
    void release_partial();
    void complete(std::uint64_t seq, std::string reply);
    void flush();
    void maybe_finish();

    boost::asio::local::stream_protocol::socket sock_;
    session_shared& shared_;
    std::vector<char> rbuf_;
    std::size_t rpos_ = 0, rend_ = 0;  // rbuf_[rpos_, rend_) is read but not yet parsed
    std::string partial_;
    std::size_t partial_charged_ = 0;  // bytes of partial_ charged to shared_.budget
    struct slot {
        bool ready = false;
        std::string reply;
    };
    std::deque<slot> slots_;
    std::uint64_t first_seq_ = 0;  // seq of slots_.front()
    std::uint64_t next_seq_ = 0;
    std::string wbuf_;
    std::string out_;
    std::size_t unsent_ = 0;  // reply bytes in ready slots, wbuf_ and out_
    bool writing_ = false;
    bool reading_ = false;
    bool parsing_ = false;    // parse_buffered() is walking rbuf_: no new read may start
    bool read_done_ = false;  // EOF, error, oversized line or stop
    bool closed_ = false;
};

}  // namespace pubsub
