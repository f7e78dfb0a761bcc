#include "tests/admin/http_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cmath>
#include <regex>
#include <set>
#include <sstream>

namespace pubsub::test {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

result<http_reply> http_call(std::uint16_t port, const std::string& method,
                             const std::string& target, const std::string& body,
                             const std::string& token, const std::string& raw_authorization,
                             const std::string& host) {
    http::request<http::string_body> req(http::string_to_verb(method), target, 11);
    req.set(http::field::host, host);
    if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
    if (!raw_authorization.empty()) req.set(http::field::authorization, raw_authorization);
    if (!body.empty() || method == "POST" || method == "PUT") {
        req.set(http::field::content_type, "application/json");
        req.body() = body;
    }
    req.prepare_payload();
    std::ostringstream text;
    text << req;
    auto r = http_raw(port, text.str(), std::chrono::seconds(30));
    if (!r.ok()) return status::error(method + " " + target + ": " + r.message());
    return r;
}

result<http_reply> http_raw(std::uint16_t port, const std::string& request,
                            std::chrono::milliseconds timeout) {
    try {
        boost::asio::io_context io;
        beast::tcp_stream stream(io);
        stream.expires_after(timeout);
        stream.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), port));
        boost::asio::write(stream, boost::asio::buffer(request));
        beast::flat_buffer buf;
        http::response<http::string_body> res;
        http::read(stream, buf, res);
        beast::error_code ec;
        stream.socket().shutdown(tcp::socket::shutdown_both, ec);
        http_reply r;
        r.status = static_cast<int>(res.result_int());
        r.content_type = std::string(res[http::field::content_type]);
        r.www_authenticate = std::string(res[http::field::www_authenticate]);
        r.body = std::move(res.body());
        return r;
    } catch (const std::exception& e) {
        return status::error(e.what());
    }
}

namespace {

const std::regex metric_name("[a-zA-Z_:][a-zA-Z0-9_:]*");
const std::regex label_name("[a-zA-Z_][a-zA-Z0-9_]*");

status line_error(std::size_t n, const std::string& line, const std::string& what) {
    return status::error("line " + std::to_string(n) + ": " + what + ": \"" + line + "\"");
}

// Parses `name{a="x",b="y"} value`; the error says what is wrong.
status parse_sample(const std::string& line, prom_sample& s) {
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!std::regex_match(s.name, metric_name)) return status::error("bad metric name");
    if (i < line.size() && line[i] == '{') {
        ++i;
        while (i < line.size() && line[i] != '}') {
            std::size_t eq = line.find('=', i);
            if (eq == std::string::npos) return status::error("label without =");
            std::string key = line.substr(i, eq - i);
            if (!std::regex_match(key, label_name)) return status::error("bad label name");
            if (eq + 1 >= line.size() || line[eq + 1] != '"') return status::error("unquoted");
            std::string value;
            std::size_t j = eq + 2;
            for (; j < line.size() && line[j] != '"'; ++j) {
                if (line[j] == '\\') {
                    if (++j >= line.size()) return status::error("dangling escape");
                    char e = line[j];
                    if (e != '\\' && e != '"' && e != 'n') return status::error("bad escape");
                    value += e == 'n' ? '\n' : e;
                } else {
                    value += line[j];
                }
            }
            if (j >= line.size()) return status::error("unterminated label value");
            if (!s.labels.emplace(key, value).second) return status::error("duplicate label");
            i = j + 1;
            if (i < line.size() && line[i] == ',') ++i;
        }
        if (i >= line.size()) return status::error("unterminated label set");
        ++i;
    }
    if (i >= line.size() || line[i] != ' ') return status::error("no space before the value");
    std::string rest = line.substr(i + 1);
    if (auto sp = rest.find(' '); sp != std::string::npos) {  // optional timestamp
        std::string ts = rest.substr(sp + 1);
        if (!std::regex_match(ts, std::regex("-?[0-9]+"))) return status::error("bad timestamp");
        rest = rest.substr(0, sp);
    }
    if (rest == "+Inf" || rest == "-Inf" || rest == "NaN") {
        s.value = rest == "NaN" ? NAN : rest[0] == '-' ? -INFINITY : INFINITY;
        return {};
    }
    if (!std::regex_match(rest,
                          std::regex("[-+]?([0-9]+\\.?[0-9]*|\\.[0-9]+)([eE][-+]?[0-9]+)?"))) {
        return status::error("bad value");
    }
    s.value = std::stod(rest);
    return {};
}

std::string series_key(const prom_sample& s) {
    std::string k = s.name + "{";
    for (const auto& [a, b] : s.labels) k += a + "=" + b + ",";
    return k + "}";
}

// The family a sample belongs to: its name, or the name without a histogram suffix.
bool belongs(const std::string& sample, const std::string& family, const std::string& type) {
    if (sample == family) return type != "histogram";
    if (type != "histogram" && type != "summary") return false;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
        if (sample == family + suffix)
            return type == "histogram" || std::string(suffix) != "_bucket";
    }
    return false;
}

status check_histogram(const std::string& name, const prom_family& f) {
    double last = -1, inf = -1, count = -1;
    bool sum = false;
    double last_le = -INFINITY;
    for (const auto& s : f.samples) {
        if (s.name == name + "_bucket") {
            auto le = s.labels.find("le");
            if (le == s.labels.end()) return status::error(name + ": bucket without le");
            double bound = le->second == "+Inf" ? INFINITY : std::stod(le->second);
            if (bound <= last_le) return status::error(name + ": buckets not in increasing le");
            if (s.value < last) return status::error(name + ": buckets not cumulative");
            last_le = bound;
            last = s.value;
            if (le->second == "+Inf") inf = s.value;
        } else if (s.name == name + "_count") {
            count = s.value;
        } else if (s.name == name + "_sum") {
            sum = true;
        }
    }
    if (inf < 0) return status::error(name + ": no le=\"+Inf\" bucket");
    if (count != inf) return status::error(name + ": _count differs from the +Inf bucket");
    if (!sum) return status::error(name + ": no _sum");
    return {};
}

}  // namespace

result<std::map<std::string, prom_family>> parse_prometheus(const std::string& text) {
    std::map<std::string, prom_family> out;
    std::set<std::string> series, helped, typed;
    std::string current;
    std::size_t n = 0, pos = 0;
    if (!text.empty() && text.back() != '\n') return status::error("text does not end in \\n");
    while (pos < text.size()) {
        std::size_t nl = text.find('\n', pos);
        std::string line = text.substr(pos, nl - pos);
        pos = nl + 1;
        ++n;
        if (line.empty()) return line_error(n, line, "empty line");
        if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
            bool help = line[2] == 'H';
            std::string rest = line.substr(7);
            auto sp = rest.find(' ');
            std::string name = rest.substr(0, sp);
            std::string arg = sp == std::string::npos ? "" : rest.substr(sp + 1);
            if (!std::regex_match(name, metric_name)) return line_error(n, line, "bad name");
            if (!(help ? helped : typed).insert(name).second) {
                return line_error(n, line, "second HELP/TYPE for a family");
            }
            if (out.count(name) && !out[name].samples.empty()) {
                return line_error(n, line, "HELP/TYPE after the family's samples");
            }
            if (help) {
                out[name].help = arg;
            } else {
                static const std::set<std::string> types = {"counter", "gauge", "histogram",
                                                            "summary", "untyped"};
                if (!types.count(arg)) return line_error(n, line, "unknown type");
                out[name].type = arg;
            }
            current = name;
            continue;
        }
        if (line[0] == '#') continue;  // a comment
        prom_sample s;
        if (status st = parse_sample(line, s); !st.ok()) return line_error(n, line, st.message());
        if (current.empty() || !belongs(s.name, current, out[current].type)) {
            return line_error(n, line, "sample outside its family's TYPE block");
        }
        if (out[current].type == "counter" && (s.value < 0 || std::isnan(s.value))) {
            return line_error(n, line, "negative counter");
        }
        if (!series.insert(series_key(s)).second) return line_error(n, line, "duplicate series");
        out[current].samples.push_back(std::move(s));
    }
    for (const auto& [name, f] : out) {
        if (f.type.empty()) return status::error(name + ": no TYPE line");
        if (f.type == "histogram") {
            if (status st = check_histogram(name, f); !st.ok()) return st;
        }
    }
    return out;
}

result<double> prom_value(const std::map<std::string, prom_family>& m, const std::string& name,
                          const std::map<std::string, std::string>& labels) {
    for (const auto& [family, f] : m) {
        for (const auto& s : f.samples) {
            if (s.name == name && s.labels == labels) return s.value;
        }
    }
    return status::error("no sample " + name);
}

}  // namespace pubsub::test
