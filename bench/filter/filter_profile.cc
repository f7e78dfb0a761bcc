// filter_profile: the filter_bench workload without Google Benchmark's calibration, for
// profilers that count (valgrind --tool=callgrind) rather than time:
//   filter_profile SUBSCRIBERS EVENTS [globs]
// builds the matcher, matches EVENTS events (cycling over 4096) and prints the matches per
// event. Run callgrind with --toggle-collect='pubsub::compiled_matcher::match(*' to count the
// matching alone; divide by EVENTS.
#include <cstdio>
#include <string>

#include "bench/filter/workload.h"

int main(int argc, char** argv) {
    if (argc < 3) {
        std::fprintf(stderr, "usage: filter_profile SUBSCRIBERS EVENTS [globs]\n");
        return 2;
    }
    pubsub::bench::workload w = pubsub::bench::make_workload(std::stoi(argv[1]));
    const long events = std::stol(argv[2]);
    const bool globs = argc > 3 && std::string(argv[3]) == "globs";
    pubsub::compiled_matcher m(w.entries(globs));
    std::vector<pubsub::bench::workload::ev> evs = w.events(4096);
    pubsub::match_scratch scratch;
    std::vector<std::uint32_t> out;
    std::size_t matches = 0;
    for (long k = 0; k < events; ++k) {
        const pubsub::bench::workload::ev& e = evs[static_cast<std::size_t>(k) & 4095];
        out.clear();
        m.match(pubsub::event_view{e.type, e.source, e.data, true}, scratch, out);
        matches += out.size();
    }
    std::printf("%ld events, %.3f matches per event\n", events, double(matches) / double(events));
    return 0;
}
