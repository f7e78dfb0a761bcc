// pubsubd: the pubsub event router daemon. See README.md and SPEC.md section 6.
#include <cstdio>

#include "daemon/config.h"
#include "daemon/daemon.h"
#include "base/logger.h"

int main(int argc, char** argv) {
    auto cfg = pubsub::parse_config(argc, argv);
    if (!cfg.config) {
        std::fprintf(cfg.exit_code == 0 ? stdout : stderr, "%s\n", cfg.message.c_str());
        return cfg.exit_code;
    }
    pubsub::log_level level;
    if (!pubsub::parse_log_level(cfg.config->log_level, level)) {
        std::fprintf(stderr, "pubsubd: --log-level must be debug, info, warn or error\n");
        return 2;
    }
    pubsub::set_log_level(level);
    pubsub::log_format format;
    if (!pubsub::parse_log_format(cfg.config->log_format, format)) {
        std::fprintf(stderr, "pubsubd: --log-format must be logfmt or json\n");
        return 2;
    }
    pubsub::set_log_format(format);
    return pubsub::run_daemon(*cfg.config);
}
