#include "admin/http_access.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace pubsub::admin {

namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) ==
                      std::tolower(static_cast<unsigned char>(y));
           });
}

bool all_digits(std::string_view s, std::size_t max_len) {
    return !s.empty() && s.size() <= max_len &&
           std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Splits "name[:port]" or "[v6]:port"; false when the port part is not 1 to 5 digits or the
// brackets do not close. The name keeps its brackets.
bool split_host_port(std::string_view host, std::string_view& name, std::string_view& port) {
    std::size_t end = 0;
    if (!host.empty() && host.front() == '[') {
        end = host.find(']');
        if (end == std::string_view::npos) return false;
        ++end;
    } else {
        end = host.find(':');
        if (end == std::string_view::npos) end = host.size();
    }
    name = host.substr(0, end);
    port = host.substr(end);
    if (port.empty()) return !name.empty();
    if (port.front() != ':' || !all_digits(port.substr(1), 5)) return false;
    port.remove_prefix(1);
    return !name.empty();
}

// 127.x.y.z in the canonical form a browser sends: four decimal parts 0..255, no leading zero.
bool loopback_ipv4(std::string_view name) {
    for (int i = 0; i < 4; ++i) {
        auto dot = name.find('.');
        if ((i < 3) != (dot != std::string_view::npos)) return false;  // exactly three dots
        std::string_view part = name.substr(0, dot);
        if (!all_digits(part, 3) || (part.size() > 1 && part.front() == '0')) return false;
        int v = 0;
        for (char c : part) v = v * 10 + (c - '0');
        if (v > 255 || (i == 0 && v != 127)) return false;
        if (dot != std::string_view::npos) name.remove_prefix(dot + 1);
    }
    return true;
}

bool loopback_ipv6(std::string_view bracketed) {
    if (bracketed.size() < 3 || bracketed.front() != '[') return false;
    std::string literal(bracketed.substr(1, bracketed.size() - 2));
    in6_addr a{};
    return inet_pton(AF_INET6, literal.c_str(), &a) == 1 && IN6_IS_ADDR_LOOPBACK(&a);
}

}  // namespace

bool loopback_host(std::string_view host, const std::vector<std::string>& allowed) {
    std::string_view name, port;
    if (!split_host_port(host, name, port)) return false;
    if (name.front() == '[') return loopback_ipv6(name);
    if (iequals(name, "localhost") || loopback_ipv4(name)) return true;
    return std::any_of(allowed.begin(), allowed.end(),
                       [&](const std::string& a) { return iequals(name, a); });
}

bool same_origin(std::string_view origin, std::string_view host) {
    auto sep = origin.find("://");
    if (sep == std::string_view::npos) return false;
    std::string_view scheme = origin.substr(0, sep);
    std::string_view default_port;
    if (iequals(scheme, "http")) {
        default_port = "80";
    } else if (iequals(scheme, "https")) {
        default_port = "443";
    } else {
        return false;
    }
    std::string_view o_name, o_port, h_name, h_port;
    if (!split_host_port(origin.substr(sep + 3), o_name, o_port)) return false;
    if (!split_host_port(host, h_name, h_port)) return false;
    if (o_port.empty()) o_port = default_port;
    if (h_port.empty()) h_port = default_port;
    return iequals(o_name, h_name) && o_port == h_port;
}

bool json_content_type(std::string_view content_type) {
    std::string_view media = content_type.substr(0, content_type.find(';'));
    while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
    while (!media.empty() && media.front() == ' ') media.remove_prefix(1);
    return iequals(media, "application/json");
}

}  // namespace pubsub::admin
