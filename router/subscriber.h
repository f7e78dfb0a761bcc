// A subscriber: one row of tpubsub_subscribers, as the router and the handlers see it.
//
// Plain value; the router holds the active set in an immutable snapshot
// (shared_ptr<const subscriber_set>) that is swapped whole on reload, so readers never lock.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace pubsub {

enum class job_type : std::uint8_t { import, inbox_processor, report, custom, noop };
inline constexpr int job_type_count = 5;

std::string_view to_string(job_type t);
std::optional<job_type> parse_job_type(std::string_view s);

// How a subscriber's handler runs (SPEC 7.3): one process per delivery, or long-lived workers
// that take deliveries over a pipe. noop runs in-process and has no persistent mode.
enum class run_mode : std::uint8_t { process, persistent };
std::string_view to_string(run_mode m);
std::optional<run_mode> parse_run_mode(std::string_view s);

// Bounds of a subscriber's `workers` (per node), also enforced by the table.
inline constexpr int min_workers = 1;
inline constexpr int max_workers = 64;

// Empty when (job, mode, workers) may be stored together, else what is wrong, naming the field.
std::string check_run_mode(job_type job, run_mode mode, int workers);

struct subscriber {
    std::int64_t id = 0;
    std::string name;
    std::string event_type;   // "*" matches every type
    std::string filter_json;  // "{}" when absent
    job_type job = job_type::noop;
    std::optional<std::int32_t> config_id;
    std::string script_path;
    bool is_active = true;
    int max_retries = 3;
    int timeout_s = 300;
    run_mode mode = run_mode::process;
    int workers = 1;  // persistent worker processes per node
};

}  // namespace pubsub
