#include "ingest/socket_session.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

namespace pubsub {

namespace asio = boost::asio;

socket_session::socket_session(asio::local::stream_protocol::socket sock, session_shared& shared)
    : sock_(std::move(sock)), shared_(shared), rbuf_(64 * 1024) {}

void socket_session::start() { do_read(); }

void socket_session::stop_reading() {
    // A pending read completes with EOF; lines already received are still answered.
    boost::system::error_code ignored;
    sock_.shutdown(asio::local::stream_protocol::socket::shutdown_receive, ignored);
}

void socket_session::close() {
    if (closed_) return;
    closed_ = true;
    boost::system::error_code ignored;
    sock_.close(ignored);
}

void socket_session::do_read() {
    // Not while on_read() is still parsing lines that are views into rbuf_: a read started
    // now could complete at once and overwrite them. on_read() calls us when it is done.
    if (reading_ || parsing_ || read_done_ || closed_) return;
    if (slots_.size() >= shared_.max_inflight) return;  // resumed by complete()
    reading_ = true;
    sock_.async_read_some(asio::buffer(rbuf_),
                          [self = shared_from_this()](const boost::system::error_code& ec,
                                                      std::size_t n) { self->on_read(ec, n); });
}

void socket_session::on_read(const boost::system::error_code& ec, std::size_t n) {
    reading_ = false;
    if (ec) {
        read_done_ = true;  // EOF or error: answer what was read, then close
        if (!partial_.empty()) {
            handle_line(partial_);
            partial_.clear();
        }
        maybe_finish();
        return;
    }
    if (read_done_) return;
    parsing_ = true;
    std::string_view data(rbuf_.data(), n);
    while (!data.empty() && !read_done_) {
        auto nl = data.find('\n');
        std::size_t piece = nl == std::string_view::npos ? data.size() : nl;
        if (partial_.size() + piece > shared_.max_line) {
            parsing_ = false;
            reject_oversized();
            return;
        }
        if (nl == std::string_view::npos) {
            partial_.append(data);
            break;
        }
        if (partial_.empty()) {
            handle_line(data.substr(0, nl));
        } else {
            partial_.append(data.substr(0, nl));
            handle_line(partial_);
            partial_.clear();
        }
        data.remove_prefix(nl + 1);
    }
    parsing_ = false;
    if (!shared_.accepting.load(std::memory_order_acquire)) read_done_ = true;
    do_read();
    maybe_finish();
}

void socket_session::reject_oversized() {
    auto seq = next_seq_++;
    slots_.emplace_back();
    shared_.errors.fetch_add(1, std::memory_order_relaxed);
    read_done_ = true;
    partial_.clear();
    complete(seq, error_reply("line exceeds " + std::to_string(shared_.max_line) +
                              " bytes; closing the connection"));
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
                      [self = shared_from_this(), seq](const result<event_id>& r) {
                          std::string reply = r.ok() ? ok_reply(*r) : error_reply(r.message());
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
        do_read();  // may have been paused by max_inflight
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
            self->out_.clear();
            if (ec) {
                self->read_done_ = true;
                self->close();
                return;
            }
            self->flush();
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
