// command_template: parsing the configured command and rendering it per delivery.
#include "handlers/command_template.h"

#include <gtest/gtest.h>

namespace pubsub {
namespace {

using argv_t = std::vector<std::string>;

command_template parse_ok(std::string_view text) {
    auto t = parse_command_template(text);
    EXPECT_TRUE(t.ok()) << text << ": " << t.message();
    return t.ok() ? *t : *parse_command_template("/bin/false");
}

std::string parse_error(std::string_view text) {
    auto t = parse_command_template(text);
    EXPECT_FALSE(t.ok()) << text;
    return t.ok() ? "" : t.message();
}

TEST(CommandTemplate, TheSpecExample) {
    auto t =
        parse_ok("/usr/bin/python3 /opt/etl/run_import.py --config {config_id} --event {event_id}");
    placeholders v;
    v.config_id = 7;
    v.event_id = 123456789012;
    EXPECT_EQ(t.render(v), (argv_t{"/usr/bin/python3", "/opt/etl/run_import.py", "--config", "7",
                                   "--event", "123456789012"}));
    EXPECT_EQ(t.program(), "/usr/bin/python3");
    EXPECT_TRUE(t.uses(placeholder::config_id));
    EXPECT_TRUE(t.uses(placeholder::event_id));
    EXPECT_FALSE(t.uses(placeholder::attempt));
}

TEST(CommandTemplate, QuotingRules) {
    auto t = parse_ok(R"(/bin/echo 'a b' "c \"d\" \\e \n" f\ g 'it''s' "" '' x{{y}} "x"'y'z)");
    EXPECT_EQ(t.render({}),
              (argv_t{"/bin/echo", "a b", R"(c "d" \e \n)", "f g", "its", "", "", "x{y}", "xyz"}));
    t = parse_ok("  /bin/x\ta  \n b\\\nc  ");
    EXPECT_EQ(t.render({}), (argv_t{"/bin/x", "a", "bc"}));
}

TEST(CommandTemplate, NothingIsExpanded) {
    auto t = parse_ok(R"(/bin/x $HOME ~ * $(id) `id` "$PATH" a;b a|b >out)");
    EXPECT_EQ(t.render({}), (argv_t{"/bin/x", "$HOME", "~", "*", "$(id)", "`id`", "$PATH", "a;b",
                                    "a|b", ">out"}));
}

TEST(CommandTemplate, EveryPlaceholderRendersInsideItsWord) {
    auto t = parse_ok(
        "/bin/x --config={config_id} {event_id}/{attempt} '{event_type}' \"{event_source}\" "
        "sub:{subscriber}");
    placeholders v;
    v.config_id = 3;
    v.event_id = 42;
    v.attempt = 2;
    v.event_type = "sales_created";
    v.event_source = "shop";
    v.subscriber = "etl";
    EXPECT_EQ(t.render(v),
              (argv_t{"/bin/x", "--config=3", "42/2", "sales_created", "shop", "sub:etl"}));
    v.config_id.reset();
    EXPECT_EQ(t.render(v)[1], "--config=");
}

TEST(CommandTemplate, HostileValuesStayOneLiteralArgument) {
    auto t = parse_ok("/bin/x --type={event_type} {event_source} {subscriber}");
    placeholders v;
    v.event_type = "$(rm -rf /)";
    v.event_source = "a b\nc 'd' \"e\" {event_id} ; | &";
    v.subscriber = "";
    EXPECT_EQ(t.render(v),
              (argv_t{"/bin/x", "--type=$(rm -rf /)", std::string(v.event_source), ""}));
}

TEST(CommandTemplate, Errors) {
    EXPECT_EQ(parse_error(""), "command template: the command is empty");
    EXPECT_EQ(parse_error(" \n\t"), "command template: the command is empty");
    EXPECT_EQ(parse_error("/bin/x 'abc"),
              "command template: unterminated single quote (starting at column 8)");
    EXPECT_EQ(parse_error("/bin/x \"a\\\"bc"),
              "command template: unterminated double quote (starting at column 8)");
    EXPECT_EQ(parse_error("/bin/x \\"), "command template: ends with a lone backslash");
    EXPECT_EQ(parse_error("/bin/x --e={event}"),
              "command template: unknown placeholder {event} in word 2 (\"--e={event}\") (known: "
              "{config_id}, {event_id}, {event_type}, {event_source}, {subscriber}, {attempt})");
    EXPECT_NE(parse_error("/bin/x {event_id").find("unterminated '{'"), std::string::npos);
    EXPECT_NE(parse_error("/bin/x a}b").find("single '}'"), std::string::npos);
    EXPECT_NE(parse_error("/bin/x '{\"a\": 1}'").find("unknown placeholder {\"a\": 1}"),
              std::string::npos);
    EXPECT_NE(parse_error("/opt/{event_type}/run").find("cannot contain placeholders"),
              std::string::npos);
    EXPECT_EQ(parse_error("python3 x.py"),
              "command template: the program \"python3\" must be an absolute path (there is no "
              "PATH search)");
}

TEST(CommandTemplate, EscapedBracesAreLiteral) {
    auto t = parse_ok("/bin/x '{{\"a\": {event_id}}}' }}{{");
    placeholders v;
    v.event_id = 9;
    EXPECT_EQ(t.render(v), (argv_t{"/bin/x", "{\"a\": 9}", "}{"}));
}

}  // namespace
}  // namespace pubsub
