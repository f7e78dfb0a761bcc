// End-to-end: pubsubd refuses to start on a database whose encoding is not UTF8 (SPEC 7.1):
// exit 1, an error naming the encoding, and no pubsub table created there.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

#include "tests/e2e/e2e_env.h"

namespace pubsub::e2e {
namespace {

using namespace std::chrono_literals;

class encoding_e2e : public e2e_test {};

TEST_F(encoding_e2e, ALatin1DatabaseIsRefusedAtStart) {
    const std::string db = "pubsub_latin1_" + std::to_string(::getpid());
    (void)conn().exec("DROP DATABASE IF EXISTS " + db);
    ASSERT_TRUE(conn()
                    .exec("CREATE DATABASE " + db +
                          " ENCODING 'LATIN1' TEMPLATE template0 LC_COLLATE 'C' LC_CTYPE 'C'")
                    .ok())
        << conn().last_error();
    struct dropper {
        pg::connection& c;
        std::string db;
        ~dropper() { (void)c.exec("DROP DATABASE IF EXISTS " + db + " WITH (FORCE)"); }
    } drop{conn(), db};

    const std::string latin1_dsn = dsn() + " dbname=" + db;  // the last dbname wins
    auto child = child_process::spawn({bin_dir() + "/pubsubd", "--dsn", latin1_dsn, "--schema",
                                       schema(), "--socket", socket_path(), "--db-wait", "5"},
                                      tmp().path() / "pubsubd.log");
    ASSERT_TRUE(child.ok()) << child.message();
    EXPECT_EQ(child->wait(30s), std::optional<int>(1)) << child->log_tail();
    std::string log = child->log_tail();
    EXPECT_NE(log.find("uses encoding LATIN1; pubsub needs UTF8"), std::string::npos) << log;

    auto c = pg::connection::open(latin1_dsn);
    ASSERT_TRUE(c.ok()) << c.message();
    auto r = c->query("SELECT count(*) FROM pg_namespace WHERE nspname = $1", {schema()});
    ASSERT_TRUE(r.ok()) << r.message();
    EXPECT_EQ(r->get_int(0, 0), 0) << "pubsubd created its schema in the LATIN1 database";
}

}  // namespace
}  // namespace pubsub::e2e
