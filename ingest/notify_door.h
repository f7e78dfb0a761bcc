// notify_door: events arriving as pg_notify('tpubsub_ingest', '<event json>') payloads.
//
// Fire-and-forget for the sender: each payload is validated by the socket door's parser (the
// `ack` field is ignored), then submitted with ack_mode::queued and persisted by the
// write-behind. A refused payload (malformed, or holding what PostgreSQL cannot store) is
// logged with the reason, which names the field, and its first bytes, and counted; nothing
// else happens.
// Thread-safety: handle() from one thread at a time (the listener thread); counters() anywhere.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "base/logger.h"
#include "ingest/request.h"
#include "router/intake.h"

namespace pubsub {

class notify_door {
  public:
    notify_door(intake& in, log_sink log) : in_(in), log_(std::move(log)) {}

    void handle(std::string_view payload);

    std::uint64_t accepted() const { return accepted_.load(std::memory_order_relaxed); }
    std::uint64_t malformed() const { return malformed_.load(std::memory_order_relaxed); }

  private:
    intake& in_;
    log_sink log_;
    request_parser parser_;
    std::atomic<std::uint64_t> accepted_{0}, malformed_{0}, refused_{0};
};

}  // namespace pubsub
