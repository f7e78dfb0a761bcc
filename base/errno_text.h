// errno_text: the message of an errno value ("No such file or directory"), for error strings.
// Thread-safe (unlike strerror, it shares no buffer), not localised; never throws.
#pragma once

#include <string>

namespace pubsub {

std::string errno_text(int err);

}  // namespace pubsub
