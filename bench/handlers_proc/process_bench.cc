// Process starts per second through run_process, from 1, 2 and 8 threads: a trivial
// `#!/bin/sh\nexit 0` script (kernel exec + dash start-up), and /bin/true for the floor without
// an interpreter. items_per_second is the figure to read.
#include <benchmark/benchmark.h>
#include <stdlib.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "handlers/process_runner.h"

namespace {

// The script lives in a mkdtemp directory for the whole run.
class script_dir {
  public:
    script_dir() {
        char tmpl[] = "/tmp/pubsub-bench-XXXXXX";
        if (::mkdtemp(tmpl) == nullptr) std::abort();
        dir_ = tmpl;
        script_ = dir_ + "/exit0.sh";
        std::ofstream(script_) << "#!/bin/sh\nexit 0\n";
        ::chmod(script_.c_str(), 0755);
    }
    ~script_dir() {
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    const std::string& script() const { return script_; }

  private:
    std::string dir_, script_;
};

const script_dir& scripts() {
    static script_dir d;
    return d;
}

void run_loop(benchmark::State& state, const std::string& program) {
    pubsub::process_spec spec;
    spec.argv = {program};
    spec.env = {"PATH=/usr/bin:/bin"};
    spec.stdin_data = R"({"id":1,"type":"bench"})";
    for (auto _ : state) {
        auto out = pubsub::run_process(spec);
        if (!out.success()) {
            state.SkipWithError(out.describe().c_str());
            break;
        }
    }
    state.SetItemsProcessed(state.iterations());
}

void BM_start_sh_script(benchmark::State& state) { run_loop(state, scripts().script()); }
void BM_start_bin_true(benchmark::State& state) { run_loop(state, "/bin/true"); }

BENCHMARK(BM_start_sh_script)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();
BENCHMARK(BM_start_bin_true)->Threads(1)->Threads(2)->Threads(8)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
