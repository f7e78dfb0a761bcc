// http_client: a blocking one-request HTTP/1.1 client (Boost.Beast) for the admin API tests, and
// a strict parser of the Prometheus text format (0.0.4) for /metrics.
// Not thread-safe; test code only.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace pubsub::test {

struct http_reply {
    int status = 0;
    std::string content_type;
    std::string www_authenticate;
    std::string body;
};

// One request to 127.0.0.1:port; token non-empty adds Authorization: Bearer <token>;
// raw_authorization (when not empty) is sent as the Authorization header verbatim.
result<http_reply> http_call(std::uint16_t port, const std::string& method,
                             const std::string& target, const std::string& body = "",
                             const std::string& token = "",
                             const std::string& raw_authorization = "",
                             const std::string& host = "127.0.0.1");

// Sends `request` (raw bytes: request line, headers, body) to 127.0.0.1:port and reads one
// response; an error when the server closes first or nothing comes within timeout.
result<http_reply> http_raw(std::uint16_t port, const std::string& request,
                            std::chrono::milliseconds timeout = std::chrono::seconds(30));

// One sample of a metric family: name (with _bucket/_sum/_count suffix), labels, value.
struct prom_sample {
    std::string name;
    std::map<std::string, std::string> labels;
    double value = 0;
};

struct prom_family {
    std::string type;  // counter, gauge, histogram, summary, untyped
    std::string help;
    std::vector<prom_sample> samples;
};

// Parses the whole text strictly: every line is # HELP, # TYPE, or a sample of the family last
// announced (HELP and TYPE once per family, before its samples), names and label names match
// the format's grammar, label values are quoted with valid escapes, values are floats, no
// series appears twice, a histogram has cumulative buckets ending in le="+Inf" equal to its
// _count, and a _sum. The error names the line.
result<std::map<std::string, prom_family>> parse_prometheus(const std::string& text);

// The value of the sample `name` with exactly these labels; error when absent.
result<double> prom_value(const std::map<std::string, prom_family>& m, const std::string& name,
                          const std::map<std::string, std::string>& labels = {});

}  // namespace pubsub::test
