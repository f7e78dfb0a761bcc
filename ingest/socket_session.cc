#include "ingest/socket_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace pubsub {

namespace asio = boost::asio;

namespace {

// Buffers that grew past this for one big burst or line are given back once used, so an idle
// session holds little.
constexpr std::size_t keep_capacity = 64 * 1024;

void release_if_large(std::string& s) {
    if (s.capacity() > keep_capacity) std::string().swap(s);
}

}  // namespace

socket_session::socket_session(asio::local::stream_protocol::socket sock, session_shared& shared)
    : sock_(std::move(sock)), shared_(shared), rbuf_(64 * 1024) {
    shared_.open.fetch_add(1, std::memory_order_relaxed);
}

socket_session::~socket_session() {
    release_partial();
    // The last reference may be dropped on another thread; close() ran on the io thread, and
    // the reference count orders it before us.
    if (!closed_) shared_.open.fetch_sub(1, std::memory_order_relaxed);
}

void socket_session::start() { do_read(); }

void socket_session::stop_reading() {
    // A pending read completes with EOF; lines already parsed are still answered. A session
    // paused with lines still in its buffer leaves them unparsed (never acknowledged).
    boost::system::error_code ignored;
    sock_.shutdown(asio::local::stream_protocol::socket::shutdown_receive, ignored);
    if (!reading_) {
        read_done_ = true;
        rpos_ = rend_;
        maybe_finish();
    }
}

void socket_session::close() {
    if (closed_) return;
    closed_ = true;
    shared_.open.fetch_sub(1, std::memory_order_relaxed);
    boost::system::error_code ignored;
    sock_.close(ignored);
}

bool socket_session::paused() const {
    return slots_.size() >= shared_.max_inflight || unsent_ >= shared_.max_unsent_bytes;
}

void socket_session::do_read() {
    // Not while parse_buffered() is still walking lines that are views into rbuf_, nor while
    // rbuf_ holds unparsed lines: a read now would overwrite them. resume() restarts us.
    if (reading_ || parsing_ || read_done_ || closed_ || rpos_ < rend_ || paused()) return;
    reading_ = true;
    sock_.async_read_some(asio::buffer(rbuf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void socket_session::on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (ec) {
        read_done_ = true;  // EOF or error: answer what was read, then close
        // Not after socket_server::stop(): its caller is closing the intake and draining the
        // router.
        if (!partial_.empty() && shared_.accepting.load(std::memory_order_acquire)) {
            handle_line(partial_);
            partial_.clear();
        }
        maybe_finish();
        return;
    }
    if (read_done_) return;
    rpos_ = 0;
    rend_ = n;
    parse_buffered();
}

// Hands the complete lines in rbuf_ to handle_line() until the buffer is used up or the session
// must pause (too many unanswered lines, or too many reply bytes the client has not read).
// Stops at socket_server::stop(): a session resumed after it hands nothing more to the intake.
void socket_session::parse_buffered() {
    parsing_ = true;
    while (rpos_ < rend_ && !read_done_ && !paused() &&
           shared_.accepting.load(std::memory_order_acquire)) {
        std::string_view data(rbuf_.data() + rpos_, rend_ - rpos_);
        auto nl = data.find('\n');
        std::size_t piece = nl == std::string_view::npos ? data.size() : nl;
        if (partial_.size() + piece > shared_.max_line) {
            rpos_ = rend_;
            parsing_ = false;
            reject_oversized("line exceeds " + std::to_string(shared_.max_line) +
                             " bytes; closing the connection");
            return;
        }
        if (nl == std::string_view::npos) {
            if (!charge_partial(partial_.size() + piece)) {
                rpos_ = rend_;
                parsing_ = false;
                reject_oversized("line refused: the memory budget is full (" +
                                 std::to_string(shared_.budget->used()) +
                                 " bytes held; limit --max-unpersisted-bytes " +
                                 std::to_string(shared_.budget->limit()) +
                                 "); closing the connection");
                return;
            }
            partial_.append(data);
            rpos_ = rend_;
            break;
        }
        rpos_ += nl + 1;
        if (partial_.empty()) {
            handle_line(data.substr(0, nl));
        } else {
            partial_.append(data.substr(0, nl));
            handle_line(partial_);
            partial_.clear();
            release_if_large(partial_);
            release_partial();
        }
    }
    parsing_ = false;
    if (!shared_.accepting.load(std::memory_order_acquire)) {
        read_done_ = true;
        rpos_ = rend_;
    }
    do_read();
    maybe_finish();
}

// Continues a paused session once replies were written or lines answered.
void socket_session::resume() {
    if (parsing_ || reading_ || read_done_ || closed_ || paused()) return;
    if (rpos_ < rend_) {
        parse_buffered();
    } else {
        do_read();
    }
}

// A partial line of `size` bytes: what it holds beyond partial_line_free is charged.
bool socket_session::charge_partial(std::size_t size) {
    constexpr std::size_t partial_line_free = 64 * 1024;
    if (!shared_.budget || size <= partial_line_free + partial_charged_) return true;
    std::size_t more = size - partial_line_free - partial_charged_;
    if (!shared_.budget->try_charge(more)) return false;
    partial_charged_ += more;
    return true;
}

void socket_session::release_partial() {
    if (shared_.budget && partial_charged_ > 0) shared_.budget->release(partial_charged_);
    partial_charged_ = 0;
}

void socket_session::reject_oversized(const std::string& why) {
    auto seq = next_seq_++;
    slots_.emplace_back();
    shared_.errors.fetch_add(1, std::memory_order_relaxed);
    read_done_ = true;
    partial_.clear();
    release_if_large(partial_);
    release_partial();
    complete(seq, error_reply(why));
    maybe_finish();
}

void socket_session::handle_line(std::string_view line) {
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    auto seq = next_seq_++;
    slots_.emplace_back();
    shared_.lines.fetch_add(1, std::memory_order_relaxed);
    if (line.empty()) {
        shared_.errors.fetch_add(1, std::memory_order_relaxed);
        complete(seq, error_reply("empty line: expected one JSON event per line"));
        return;
    }
    auto req = shared_.parser.parse(line);
    if (!req.ok()) {
        shared_.errors.fetch_add(1, std::memory_order_relaxed);
        complete(seq, error_reply(req.message()));
        return;
    }
    shared_.in.submit(std::move(req->draft), req->ack,
                      [self = shared_from_this(), seq](const result<event_ack>& r) {
                          std::string reply = !r.ok()        ? error_reply(r.message())
                                              : r->duplicate ? duplicate_reply(r->id)
                                                             : ok_reply(r->id);
                          if (!r.ok()) self->shared_.errors.fetch_add(1, std::memory_order_relaxed);
                          // Inline when already on the door thread (queued acks, refusals).
                          asio::dispatch(self->shared_.io,
                                         [self, seq, reply = std::move(reply)]() mutable {
                                             self->complete(seq, std::move(reply));
                                         });
                      });
}

void socket_session::complete(std::uint64_t seq, std::string reply) {
    auto& s = slots_[static_cast<std::size_t>(seq - first_seq_)];
    s.ready = true;
    unsent_ += reply.size();
    s.reply = std::move(reply);
    bool drained_any = false;
    while (!slots_.empty() && slots_.front().ready) {
        wbuf_ += slots_.front().reply;
        slots_.pop_front();
        ++first_seq_;
        drained_any = true;
    }
    if (drained_any) {
        flush();
        resume();  // may have been paused by max_inflight
    }
}

void socket_session::flush() {
    if (writing_ || wbuf_.empty() || closed_) return;
    writing_ = true;
    out_.swap(wbuf_);
    wbuf_.clear();
    asio::async_write(
        sock_, asio::buffer(out_),
        [self = shared_from_this()](const boost::system::error_code& ec, std::size_t) {
            self->writing_ = false;
            self->unsent_ -= self->out_.size();
            self->out_.clear();
            release_if_large(self->out_);
            if (ec) {
                self->read_done_ = true;
                self->close();
                return;
            }
            self->flush();
            self->resume();  // may have been paused by max_unsent_bytes
            self->maybe_finish();
        });
}

void socket_session::maybe_finish() {
    if (read_done_ && !reading_ && slots_.empty() && wbuf_.empty() && !writing_) {
        boost::system::error_code ignored;
        sock_.shutdown(asio::local::stream_protocol::socket::shutdown_both, ignored);
        close();
    }
}

}  // namespace pubsub
