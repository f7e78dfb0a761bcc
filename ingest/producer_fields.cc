#include "ingest/producer_fields.h"

#include <charconv>

namespace pubsub {

status check_idempotency_key(std::string_view text) {
    if (text.empty() || text.size() > max_idempotency_key_bytes) {
        return status::error("idempotency_key must be a string of 1 to 256 bytes (got " +
                             std::to_string(text.size()) + " bytes)");
    }
    return status();
}

namespace {

// Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar (H. Hinnant's algorithm).
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
    y -= m <= 2;
    const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = static_cast<unsigned>(y - era * 400);
    const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool digits(std::string_view s, std::size_t at, std::size_t n, int& out) {
    if (at + n > s.size()) return false;
    out = 0;
    for (std::size_t i = at; i < at + n; ++i) {
        if (s[i] < '0' || s[i] > '9') return false;
        out = out * 10 + (s[i] - '0');
    }
    return true;
}

bool is_leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

result<std::int64_t> parse_rfc3339(std::string_view s) {
    const status bad = status::error(
        "run_at must be an RFC 3339 date-time with an offset, e.g. 2026-12-05T06:00:00Z (got \"" +
        std::string(s.substr(0, 40)) + "\")");
    int y, mo, d, h, mi, sec;
    if (!digits(s, 0, 4, y) || s.size() < 20 || s[4] != '-' || !digits(s, 5, 2, mo) ||
        s[7] != '-' || !digits(s, 8, 2, d) || (s[10] != 'T' && s[10] != 't') ||
        !digits(s, 11, 2, h) || s[13] != ':' || !digits(s, 14, 2, mi) || s[16] != ':' ||
        !digits(s, 17, 2, sec)) {
        return bad;
    }
    static constexpr int month_days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (mo < 1 || mo > 12 || d < 1 || h > 23 || mi > 59 || sec > 60) return bad;
    if (d > month_days[mo - 1] + (mo == 2 && is_leap(y) ? 1 : 0)) return bad;
    std::size_t i = 19;
    std::int64_t frac_us = 0;
    if (i < s.size() && s[i] == '.') {
        std::size_t start = ++i;
        std::int64_t scale = 100000;
        while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
            frac_us += (s[i] - '0') * scale;
            scale /= 10;
            ++i;
        }
        if (i == start) return bad;
    }
    std::int64_t offset_s = 0;
    if (i < s.size() && (s[i] == 'Z' || s[i] == 'z')) {
        ++i;
    } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (!digits(s, i + 1, 2, oh) || i + 3 >= s.size() || s[i + 3] != ':' ||
            !digits(s, i + 4, 2, om) || oh > 23 || om > 59) {
            return bad;
        }
        offset_s = (s[i] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
        i += 6;
    } else {
        return bad;
    }
    if (i != s.size()) return bad;
    std::int64_t secs =
        days_from_civil(y, static_cast<unsigned>(mo), static_cast<unsigned>(d)) * 86400 + h * 3600 +
        mi * 60 + std::min(sec, 59) - offset_s;
    return secs * 1'000'000 + frac_us;
}

status check_run_at(std::int64_t run_at_us, std::int64_t now) {
    if (run_at_us - now > max_delay_us) {
        return status::error("run_at must be at most 30 days ahead");
    }
    return status();
}

result<std::int64_t> parse_delay_ms(std::string_view token) {
    std::int64_t ms = -1;
    const auto [end, ec] = std::from_chars(token.data(), token.data() + token.size(), ms);
    if (ec != std::errc() || end != token.data() + token.size() || ms < 0 ||
        ms > max_delay_us / 1000) {
        return status::error("delay_ms must be an integer from 0 to 2592000000 (30 days; got " +
                             std::string(token.substr(0, 40)) + ")");
    }
    return ms;
}

}  // namespace pubsub
