// resolve_script: the allowlist for custom handlers' scripts.
#include "handlers/script_path.h"

#include <gtest/gtest.h>
#include <limits.h>
#include <stdlib.h>
#include <unistd.h>

#include "tests/handlers_proc/temp_dir.h"

namespace pubsub {
namespace {

std::string real(const std::string& p) {
    char buf[PATH_MAX];
    return ::realpath(p.c_str(), buf) ? buf : "";
}

class ResolveScript : public ::testing::Test {
  protected:
    void SetUp() override {
        allowed_ = dir_.mkdir("scripts");
        dir_.script("scripts/ok.sh", "exit 0\n");
        dir_.write("scripts/plain.sh", "#!/bin/sh\n", 0644);
        dir_.mkdir("scripts/sub");
        dir_.script("outside/evil.sh", "exit 0\n");
        dir_.script("scripts-evil/x.sh", "exit 0\n");
        ASSERT_EQ(::symlink("../outside/evil.sh", (allowed_ + "/link_out.sh").c_str()), 0);
        ASSERT_EQ(::symlink("ok.sh", (allowed_ + "/link_in.sh").c_str()), 0);
        ASSERT_EQ(::symlink("../scripts/ok.sh", (dir_.path() + "/outside/to_in.sh").c_str()), 0);
        ASSERT_EQ(::symlink("scripts", (dir_.path() + "/scripts_link").c_str()), 0);
    }
    result<std::string> resolve(const std::string& p) { return resolve_script(p, {allowed_}); }

    testing::temp_dir dir_;
    std::string allowed_;
};

TEST_F(ResolveScript, InsideIsAcceptedAndFullyResolved) {
    auto r = resolve(allowed_ + "/ok.sh");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, real(allowed_ + "/ok.sh"));
    r = resolve(allowed_ + "/sub/../ok.sh");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, real(allowed_ + "/ok.sh"));
}

TEST_F(ResolveScript, SymlinkInsideIsAcceptedAsItsTarget) {
    auto r = resolve(allowed_ + "/link_in.sh");
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(*r, real(allowed_ + "/ok.sh"));
    r = resolve(dir_.path() + "/outside/to_in.sh");  // judged by where it lands
    ASSERT_TRUE(r.ok()) << r.message();
}

TEST_F(ResolveScript, AllowedDirMayBeGivenThroughASymlinkOrWithTrailingSlash) {
    auto r = resolve_script(allowed_ + "/ok.sh", {dir_.path() + "/scripts_link"});
    EXPECT_TRUE(r.ok()) << r.message();
    r = resolve_script(dir_.path() + "/scripts_link/ok.sh", {allowed_ + "/"});
    EXPECT_TRUE(r.ok()) << r.message();
}

TEST_F(ResolveScript, OutsideIsRefused) {
    const std::string p = dir_.path() + "/outside/evil.sh";
    auto r = resolve(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "script \"" + p + "\" resolves to \"" + real(p) +
                               "\", outside the allowed directories (" + allowed_ + ")");
}

TEST_F(ResolveScript, SymlinkPointingOutsideIsRefused) {
    auto r = resolve(allowed_ + "/link_out.sh");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("outside the allowed directories"), std::string::npos);
    EXPECT_NE(r.message().find(real(dir_.path() + "/outside/evil.sh")), std::string::npos);
}

TEST_F(ResolveScript, DotDotEscapeIsRefused) {
    auto r = resolve(allowed_ + "/../outside/evil.sh");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("outside the allowed directories"), std::string::npos);
    r = resolve(allowed_ + "/..");  // the parent directory itself
    EXPECT_FALSE(r.ok());
    r = resolve(allowed_);  // the allowed directory itself is not inside it
    EXPECT_FALSE(r.ok());
}

TEST_F(ResolveScript, PrefixOfAnotherDirectoryIsNotInside) {
    auto r = resolve(dir_.path() + "/scripts-evil/x.sh");
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("outside the allowed directories"), std::string::npos);
}

TEST_F(ResolveScript, NotExecutableIsRefused) {
    const std::string p = allowed_ + "/plain.sh";
    auto r = resolve(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "script \"" + p + "\" is not executable");
}

TEST_F(ResolveScript, DirectoryIsRefused) {
    auto r = resolve(allowed_ + "/sub");
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "script \"" + allowed_ + "/sub\" is not a regular file");
}

TEST_F(ResolveScript, MissingIsRefused) {
    const std::string p = allowed_ + "/nope.sh";
    auto r = resolve(p);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "script \"" + p + "\" not found");
    r = resolve(allowed_ + "/ok.sh/x");  // ENOTDIR
    ASSERT_FALSE(r.ok());
    EXPECT_NE(r.message().find("not found"), std::string::npos);
}

TEST_F(ResolveScript, NoAllowedDirectoriesDisablesCustomHandlers) {
    auto r = resolve_script(allowed_ + "/ok.sh", {});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.message(), "no --scripts-dir configured: custom handlers are disabled");
}

TEST_F(ResolveScript, MissingAllowedDirAllowsNothingButOthersStillCount) {
    auto r = resolve_script(allowed_ + "/ok.sh", {dir_.path() + "/gone"});
    EXPECT_FALSE(r.ok());
    r = resolve_script(allowed_ + "/ok.sh", {dir_.path() + "/gone", allowed_});
    EXPECT_TRUE(r.ok()) << r.message();
}

}  // namespace
}  // namespace pubsub
