// The job runners as the pools call them (make_job_runner): the custom runner's --scripts-dir
// check (outside, through a symlink, not executable, missing), what a handler receives (its
// environment, the event JSON on stdin, the attempt number of the delivery), event data with
// shell metacharacters arriving literally through a --job-command, and the config_id hook.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "handlers/process_job_runner.h"
#include "router/transition_log.h"
#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

using testing::temp_dir;

class null_log final : public transition_log {
  public:
    void record(transition) override {}
    status admit() const override { return {}; }
};

struct fixture {
    temp_dir dir;
    std::string scripts = dir.mkdir("scripts");
    null_log log;

    handler_settings settings() const {
        handler_settings s;
        s.scripts_dirs = {scripts};
        return s;
    }

    delivery make(job_type job, std::string script_path, event_ptr ev = nullptr) {
        if (!ev) {
            auto e = std::make_shared<event>();
            e->id = 77;
            e->type = "import_complete";
            e->source = "generic_import:42";
            e->data_json = R"({"rows":3})";
            ev = e;
        }
        subscriber s;
        s.id = 5;
        s.name = "sales loader";
        s.job = job;
        s.config_id = 42;
        s.script_path = std::move(script_path);
        s.timeout_s = 20;
        delivery d;
        d.group = std::make_shared<delivery_group>(ev, 1, 1, log);
        d.sub = std::make_shared<const subscriber>(std::move(s));
        return d;
    }

    run_outcome run(job_type job, const delivery& d, handler_settings s) {
        auto r = make_job_runner(job, s);
        EXPECT_TRUE(r.ok()) << r.message();
        return r.ok() ? (*r)->run(d) : run_outcome{false, r.message()};
    }
};

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(custom_runner, handler_gets_its_environment_stdin_and_the_delivery_attempt) {
    fixture f;
    auto out_file = f.dir.path() + "/seen";
    auto script = f.dir.script(
        "scripts/show.sh", "env | grep -v -e '^PWD=' -e '^SHLVL=' -e '^_=' | sort > '" + out_file +
                               "'\necho --- >> '" + out_file + "'\ncat >> '" + out_file + "'\n");
    auto d = f.make(job_type::custom, script);
    d.attempt = 3;
    auto out = f.run(job_type::custom, d, f.settings());
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(slurp(out_file),
              "PATH=/usr/local/bin:/usr/bin:/bin\nPUBSUB_ATTEMPT=3\nPUBSUB_CONFIG_ID=42\n"
              "PUBSUB_EVENT_ID=77\nPUBSUB_EVENT_SOURCE=generic_import:42\n"
              "PUBSUB_EVENT_TYPE=import_complete\nPUBSUB_SUBSCRIBER=sales loader\n"
              "---\n"
              R"({"event_id":77,"event_type":"import_complete","event_source":)"
              R"("generic_import:42","event_data":{"rows":3},"priority":5,"attempt":3,)"
              R"("subscriber":"sales loader"})");
}

TEST(custom_runner, non_zero_exit_fails_with_the_stderr_tail) {
    fixture f;
    auto d = f.make(job_type::custom,
                    f.dir.script("scripts/bad.sh", "echo 'config 42 is broken' >&2\nexit 3\n"));
    auto out = f.run(job_type::custom, d, f.settings());
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.error, "exit 3: config 42 is broken");
}

TEST(custom_runner, refuses_scripts_outside_the_allowed_directory) {
    fixture f;
    auto marker = f.dir.path() + "/ran";
    auto outside = f.dir.script("elsewhere/evil.sh", "touch '" + marker + "'\n");
    auto link = f.scripts + "/innocent.sh";
    ASSERT_EQ(::symlink(outside.c_str(), link.c_str()), 0);

    auto direct = f.run(job_type::custom, f.make(job_type::custom, outside), f.settings());
    EXPECT_FALSE(direct.ok);
    EXPECT_NE(direct.error.find("outside the allowed directories"), std::string::npos)
        << direct.error;
    auto through_link = f.run(job_type::custom, f.make(job_type::custom, link), f.settings());
    EXPECT_FALSE(through_link.ok);
    EXPECT_NE(through_link.error.find("outside the allowed directories"), std::string::npos)
        << through_link.error;
    auto dotdot =
        f.run(job_type::custom, f.make(job_type::custom, f.scripts + "/../elsewhere/evil.sh"),
              f.settings());
    EXPECT_FALSE(dotdot.ok);
    EXPECT_FALSE(std::filesystem::exists(marker)) << "the refused script ran";
}

TEST(custom_runner, missing_not_executable_no_script_no_scripts_dir) {
    fixture f;
    auto missing =
        f.run(job_type::custom, f.make(job_type::custom, f.scripts + "/nope.sh"), f.settings());
    EXPECT_FALSE(missing.ok);
    EXPECT_NE(missing.error.find("not found"), std::string::npos) << missing.error;
    auto plain = f.dir.write("scripts/plain.sh", "#!/bin/sh\nexit 0\n", 0644);
    auto not_exec = f.run(job_type::custom, f.make(job_type::custom, plain), f.settings());
    EXPECT_FALSE(not_exec.ok);
    EXPECT_NE(not_exec.error.find("not executable"), std::string::npos) << not_exec.error;
    auto none = f.run(job_type::custom, f.make(job_type::custom, ""), f.settings());
    EXPECT_FALSE(none.ok);
    EXPECT_NE(none.error.find("has no script_path"), std::string::npos) << none.error;
    auto ok_script = f.dir.script("scripts/ok.sh", "exit 0\n");
    auto no_dir = f.run(job_type::custom, f.make(job_type::custom, ok_script), handler_settings{});
    EXPECT_FALSE(no_dir.ok);
    EXPECT_NE(no_dir.error.find("no --scripts-dir configured"), std::string::npos) << no_dir.error;
}

TEST(command_runner, event_values_with_shell_syntax_arrive_as_literal_arguments) {
    fixture f;
    auto out_file = f.dir.path() + "/args";
    auto program = f.dir.script("bin/show_args.sh",
                                "for a in \"$@\"; do printf '[%s]' \"$a\"; "
                                "done > '" +
                                    out_file + "'\n");
    auto ev = std::make_shared<event>();
    ev->id = 9;
    ev->type = "t";
    ev->source = "$(touch " + f.dir.path() + "/pwned); `id` | ls\nline2";
    ev->data_json = "{}";
    handler_settings s = f.settings();
    s.job_commands[job_type::report] = program + " --config {config_id} --source {event_source}";
    auto out = f.run(job_type::report, f.make(job_type::report, "", ev), s);
    ASSERT_TRUE(out.ok) << out.error;
    EXPECT_EQ(slurp(out_file), "[--config][42][--source][" + ev->source + "]");
    EXPECT_FALSE(std::filesystem::exists(f.dir.path() + "/pwned"));
}

TEST(command_runner, config_check_failure_fails_the_delivery_without_running) {
    fixture f;
    auto marker = f.dir.path() + "/ran";
    handler_settings s = f.settings();
    s.job_commands[job_type::import] = f.dir.script("bin/run.sh", "touch '" + marker + "'\n");
    std::optional<std::int32_t> asked;
    s.check_config = [&](job_type t, std::optional<std::int32_t> id) -> status {
        asked = id;
        return t == job_type::import
                   ? status::error("config_id 42 not found in dba.timportconfig.config_id")
                   : status();
    };
    auto out = f.run(job_type::import, f.make(job_type::import, ""), s);
    EXPECT_FALSE(out.ok);
    EXPECT_EQ(out.error, "config_id 42 not found in dba.timportconfig.config_id");
    EXPECT_EQ(asked, 42);
    EXPECT_FALSE(std::filesystem::exists(marker));
    s.check_config = [](job_type, std::optional<std::int32_t>) { return status(); };
    auto ran = f.run(job_type::import, f.make(job_type::import, ""), s);
    EXPECT_TRUE(ran.ok) << ran.error;
    EXPECT_TRUE(std::filesystem::exists(marker));
}

}  // namespace
}  // namespace pubsub
