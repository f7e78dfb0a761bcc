#include "base/errno_text.h"

#include <string.h>

namespace pubsub {

std::string errno_text(int err) {
    const char* text = ::strerrordesc_np(err);
    return text ? text : "unknown error " + std::to_string(err);
}

}  // namespace pubsub
