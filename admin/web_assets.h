// web_assets: the admin page's static files (web/*.html, *.js, *.css), compiled into the
// library at build time by embed_web.cmake, so pubsubd serves them without a source tree.
// Immutable data; thread-safe.
#pragma once

#include <string_view>

namespace pubsub::admin {

struct web_asset {
    std::string_view name;  // file name, e.g. "app.js"
    std::string_view content_type;
    std::string_view body;
};

// The asset with that file name, or nullptr.
const web_asset* find_web_asset(std::string_view name);

}  // namespace pubsub::admin
