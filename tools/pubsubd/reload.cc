// config_reloader: see reload.h.
#include "reload.h"

#include "logger.h"

namespace pubsub {

void config_reloader::reload() {
    if (!reread_) return;
    config_outcome next = reread_();
    if (!next.config) {
        log_line(log_level::error, "SIGHUP: configuration not reloaded: " + next.message);
        return;
    }
    log_level level;
    if (!parse_log_level(next.config->log_level, level)) {
        log_line(log_level::error, "SIGHUP: --log-level must be debug, info, warn or error");
    } else if (next.settings["--log-level"] != settings_["--log-level"]) {
        set_log_level(level);
        settings_["--log-level"] = next.settings["--log-level"];
        log_line(log_level::info, "SIGHUP: log level changed", "level=" + next.config->log_level);
    }
    for (const auto& [name, value] : next.settings) {
        auto it = settings_.find(name);
        if (it == settings_.end() || it->second != value) {
            log_line(log_level::warn, "SIGHUP: setting changed; it takes effect after a restart",
                     "setting=" + name);
        }
    }
}

}  // namespace pubsub
