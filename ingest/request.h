// request: parsing and validation of one event request, the socket door's NDJSON line
// (SPEC 3.1) and the pg_notify door's payload alike, and the JSON reply lines.
//
// One parser for every door that reads JSON from producers: it refuses what PostgreSQL cannot
// store, naming the field (SPEC 7.1, ingest/json_scan.h), accepts what jsonb accepts, and hands
// on event_data with each object's last occurrence of a repeated key only, as jsonb keeps it.
// parse() is a pure function of its input; the parser object is per thread (it reuses its
// buffers, so it is not thread-safe, and reusing one avoids allocation per line).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "router/intake.h"
#include "base/json_text.h"
#include "base/result.h"

namespace pubsub {

struct parsed_request {
    event_draft draft;
    ack_mode ack = ack_mode::durable;
};

class request_parser {
  public:
    request_parser();
    ~request_parser();
    request_parser(const request_parser&) = delete;
    request_parser& operator=(const request_parser&) = delete;

    // Errors name the field and the problem, e.g. `priority must be an integer from 1 to 10
    // (got 11)`, `unknown field "foo"`, `malformed JSON: ...`, `event_data.s: \u0000 is not
    // allowed (PostgreSQL cannot store it)`.
    result<parsed_request> parse(std::string_view line);

  private:
    struct impl;
    std::unique_ptr<impl> impl_;
};

std::string ok_reply(event_id id);            // {"ok":true,"event_id":123}\n
// A repeated idempotency key: {"ok":true,"event_id":<first>,"duplicate":true}\n
std::string duplicate_reply(event_id first);
std::string error_reply(std::string_view e);  // {"ok":false,"error":"..."}\n

}  // namespace pubsub
