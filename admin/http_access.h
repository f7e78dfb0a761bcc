// http_access: the admin endpoint's checks of who may send a request, as pure functions of
// header values (no I/O). Thread-safe.
//
// Loopback Host (against DNS rebinding): a page whose DNS name was rebound to 127.0.0.1 sends
// its own name as Host, so a loopback listener serves only Host values that cannot belong to
// an attacker: an IPv4 literal in 127.0.0.0/8 (dotted decimal, four parts, no leading zeros,
// as browsers write it), the IPv6 literal [::1], `localhost`, or a name the operator allowed
// (--http-allow-host); each with an optional :port. `127.attacker.example` is not loopback.
//
// Cross-site changes (only where no token protects them, --http-allow-unauthenticated): a
// browser lets any page POST a form (urlencoded, multipart or text/plain) to any address, with
// its own Origin; it cannot send application/json cross-site without the page's consent
// (CORS preflight). So such a change must carry no Origin or this endpoint's own, and a body,
// if any, must be application/json.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace pubsub::admin {

// Whether the Host header names loopback (see above); `allowed` names compare without case.
bool loopback_host(std::string_view host, const std::vector<std::string>& allowed);

// Whether Origin ("scheme://host[:port]") names the same host and port as the Host header
// (default ports 80/443 are implied). "null" and malformed values are not.
bool same_origin(std::string_view origin, std::string_view host);

// Whether a Content-Type is application/json (any case, parameters such as charset allowed).
bool json_content_type(std::string_view content_type);

// Which requests need the bearer token (SPEC 7.4): `changes` (default) or `all` (every route
// but the probes and /metrics, see api.h).
enum class http_auth { changes, all };

}  // namespace pubsub::admin
