#include "bench/pubsub_bench/run_end.h"

#include <iostream>

namespace pubsub::bench {

int end_run(const bench_options& opt, const std::optional<cluster_handle>& cluster,
            bench_report& rep, json_object& j) {
    if (cluster && cluster->started_here && !opt.keep_cluster) {
        if (auto s = stop_cluster(*cluster, 60); !s.ok()) rep.errors.push_back(s.message());
    }
    json_object errs;
    for (std::size_t i = 0; i < rep.errors.size(); ++i) errs.str(std::to_string(i), rep.errors[i]);
    j.raw("errors", errs.done());
    std::cout << (opt.json ? j.done() + "\n" : format_table(rep));
    return rep.errors.empty() ? 0 : 1;
}

}  // namespace pubsub::bench
