#include "ctl_context.h"

#include <cstdio>
#include <iostream>

#include "ingest/request.h"
#include "storage/embedded_pg.h"

namespace pubsub::ctl {

result<pg::connection> context::connect() const {
    std::string target = dsn;
    if (target.empty()) {
        auto found = embedded_cluster::find_running(data_dir);
        if (!found) {
            return status::error("no --dsn given and no running embedded cluster under " +
                                 data_dir + " (start pubsubd, or pass --dsn / PUBSUB_DSN)");
        }
        target = *found;
    }
    return pg::connection::open(target);
}

int fail(const std::string& message) {
    std::fprintf(stderr, "pubsubctl: %s\n", message.c_str());
    return 1;
}

void print_rows(const pg::query_result& r, bool json) {
    if (json) {
        std::string out = "[";
        for (int i = 0; i < r.rows(); ++i) {
            out += i ? ",{" : "{";
            for (int c = 0; c < r.columns(); ++c) {
                if (c) out += ",";
                append_json_string(out, r.name(c));
                out += ":";
                if (r.is_null(i, c)) {
                    out += "null";
                } else if (r.is_json(c)) {
                    out += r.get(i, c);
                } else {
                    append_json_string(out, r.get(i, c));
                }
            }
            out += "}";
        }
        std::cout << out << "]\n";
        return;
    }
    std::vector<std::size_t> width(static_cast<std::size_t>(r.columns()));
    for (int c = 0; c < r.columns(); ++c) {
        width[static_cast<std::size_t>(c)] = r.name(c).size();
        for (int i = 0; i < r.rows(); ++i) {
            width[static_cast<std::size_t>(c)] =
                std::max(width[static_cast<std::size_t>(c)], r.get(i, c).size());
        }
    }
    auto cell = [&](std::string_view v, int c, bool last) {
        std::cout << v;
        if (!last) std::cout << std::string(width[static_cast<std::size_t>(c)] - v.size() + 2, ' ');
    };
    for (int c = 0; c < r.columns(); ++c) cell(r.name(c), c, c + 1 == r.columns());
    std::cout << "\n";
    for (int i = 0; i < r.rows(); ++i) {
        for (int c = 0; c < r.columns(); ++c) cell(r.get(i, c), c, c + 1 == r.columns());
        std::cout << "\n";
    }
}

}  // namespace pubsub::ctl
