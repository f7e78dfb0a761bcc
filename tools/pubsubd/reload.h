// config_reloader: what SIGHUP does with pubsubd's settings (SPEC 7.4). It reads the flags,
// environment and config file again, applies the log level at once, and names in the log every
// other setting that changed: those take effect only after a restart (the subscribers are
// reloaded by the daemon itself). A configuration that no longer parses is logged and changes
// nothing. Not thread-safe: the signal thread alone calls reload().
#pragma once

#include <functional>
#include <map>
#include <string>

#include "config.h"

namespace pubsub {

class config_reloader {
  public:
    // settings: config_outcome::settings of the running configuration; reread: parses again.
    config_reloader(std::map<std::string, std::string> settings,
                    std::function<config_outcome()> reread)
        : settings_(std::move(settings)), reread_(std::move(reread)) {}

    void reload();

  private:
    std::map<std::string, std::string> settings_;
    std::function<config_outcome()> reread_;
};

}  // namespace pubsub
