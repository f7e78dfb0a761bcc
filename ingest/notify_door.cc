#include "ingest/notify_door.h"

namespace pubsub {

void notify_door::handle(std::string_view payload) {
    auto req = parser_.parse(payload);
    if (!req.ok()) {
        malformed_.fetch_add(1, std::memory_order_relaxed);
        if (log_) {
            std::string head(payload.substr(0, 80));
            for (auto& c : head) {
                if (static_cast<unsigned char>(c) < 0x20) c = ' ';
            }
            log_(log_level::warn,
                 "pg_notify tpubsub_ingest: " + req.message() + "; payload starts: " + head);
        }
        return;
    }
    in_.submit(std::move(req->draft), ack_mode::queued, [this](const result<event_id>& r) {
        if (r.ok()) {
            accepted_.fetch_add(1, std::memory_order_relaxed);
        } else {
            refused_.fetch_add(1, std::memory_order_relaxed);
            if (log_)
                log_(log_level::error, "pg_notify tpubsub_ingest: event refused: " + r.message());
        }
    });
}

}  // namespace pubsub
