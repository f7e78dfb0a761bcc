// pubsubctl pools pause|resume JOB_TYPE, and the pause lines of `pubsubctl status`.
#include <iostream>

#include "commands.h"
#include "router/subscriber.h"
#include "storage/audit_log.h"
#include "storage/pause_store.h"

namespace pubsub::ctl {

void print_pause_change(const std::string& what, bool changed, bool paused) {
    if (!changed) {
        std::cout << what << (paused ? " was already paused\n" : " was not paused\n");
    } else if (paused) {
        std::cout << what << " paused: its new deliveries are held until it is resumed\n";
    } else {
        std::cout << what << " resumed: its held deliveries run now, most urgent first\n";
    }
}

int pools_set_paused(const context& ctx, const std::string& job_type, bool paused) {
    if (!parse_job_type(job_type)) {
        return fail("unknown job type \"" + job_type +
                    "\" (import, inbox_processor, report, custom, noop)");
    }
    auto c = ctx.connect();
    if (!c.ok()) return fail(c.message());
    auto r = set_pool_paused(*c, ctx.schema, job_type, paused, os_user_actor());
    if (!r.ok()) return fail(r.message());
    print_pause_change("pool " + job_type, r->changed, paused);
    return 0;
}

void print_pauses(pg::connection& c, const context& ctx) {
    auto p = load_pause_summary(c, ctx.schema);
    if (!p.ok()) {
        std::cout << "pauses: " << p.message() << "\n\n";
        return;
    }
    auto join = [](const std::vector<std::string>& v) {
        std::string out;
        for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
        return out.empty() ? std::string("none") : out;
    };
    std::cout << "paused subscribers: " << join(p->subscribers) << "\n"
              << "paused pools: " << join(p->pools) << "\n"
              << "held deliveries: " << p->held << "\n\n";
}

}  // namespace pubsub::ctl
