// delayed_send: a test helper that sends delayed events over one socket connection, one at a
// time (durable acks), event i with delay_ms = base_ms + i * step_ms. Header-only; blocking.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "tests/e2e/ndjson_client.h"

namespace pubsub::e2e {

// The ids of the `count` events, or the first error (a refused event included).
inline result<std::vector<std::int64_t>> send_delayed(const std::string& socket,
                                                      const std::string& type, int count,
                                                      int base_ms, int step_ms) {
    auto c = ndjson_client::connect(socket);
    if (!c.ok()) return c.error();
    std::vector<std::int64_t> ids;
    for (int i = 0; i < count; ++i) {
        const std::string line = R"({"event_type":")" + type + R"(","delay_ms":)" +
                                 std::to_string(base_ms + i * step_ms) + "}";
        if (status s = c->send_line(line); !s.ok()) return s;
        auto r = c->read_reply(std::chrono::seconds(10));
        if (!r.ok()) return r.error();
        if (!r->ok) return status::error("refused: " + r->raw);
        ids.push_back(r->event_id);
    }
    return ids;
}

}  // namespace pubsub::e2e
