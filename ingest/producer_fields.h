// producer_fields: the socket and pg_notify doors' fields of SPEC 7.2, `idempotency_key`,
// `run_at` (RFC 3339 with an offset) and `delay_ms`, read from their validated JSON tokens.
// Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"

namespace pubsub {

inline constexpr std::size_t max_idempotency_key_bytes = 256;
inline constexpr std::int64_t max_delay_us = std::int64_t{30} * 24 * 3600 * 1'000'000;

// `text` is the key after JSON unescaping; errors name the field and the problem.
status check_idempotency_key(std::string_view text);

// Microseconds since the Unix epoch of an RFC 3339 date-time with an offset
// (`2026-12-05T06:00:00Z`, `2026-12-05T07:00:00.250+01:00`).
result<std::int64_t> parse_rfc3339(std::string_view text);

// The run_at a request asks for, refused beyond now + 30 days (both in microseconds).
status check_run_at(std::int64_t run_at_us, std::int64_t now);

// A delay_ms token (a JSON number): an integer from 0 to 30 days.
result<std::int64_t> parse_delay_ms(std::string_view token);

}  // namespace pubsub
