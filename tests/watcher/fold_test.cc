// Exactly once across a crash: a file_received event that committed while the watcher's record
// of it did not (kill -9 in between) is folded back in at the next start, so the file is not
// emitted again. Rows are written here as the write-behind would have left them.
#include <sys/stat.h>

#include "ingest/file_watch_event.h"
#include "tests/watcher/watch_fixture.h"

namespace pubsub::test {
namespace {

class fold_test : public watcher_test {
  protected:
    // A committed file_received event of the watched dir for `path` at its current version,
    // created `age_s` seconds ago.
    void committed_event(event_id id, const std::string& path, int age_s = 0,
                         const std::string& source = "") {
        struct stat st {};
        ASSERT_EQ(::stat(path.c_str(), &st), 0) << path;
        const std::int64_t mtime_us =
            static_cast<std::int64_t>(st.st_mtim.tv_sec) * 1000000 + st.st_mtim.tv_nsec / 1000;
        event_draft d = file_received_draft(dir_->path(), path, st.st_size, mtime_us);
        insert(id, source.empty() ? d.source : source, d.data_json, age_s);
    }
    void insert(event_id id, const std::string& source, const std::string& data, int age_s) {
        auto r = conn().query("INSERT INTO " + conn().quote_identifier(schema()) +
                                  ".tpubsub_events (event_id, event_type, event_source, "
                                  "event_data, status, created_at) VALUES ($1::bigint, "
                                  "'file_received', $2, $3::jsonb, 'completed', now() - "
                                  "$4::int * interval '1 second')",
                              {std::to_string(id), source, data, std::to_string(age_s)});
        ASSERT_TRUE(r.ok()) << r.message();
    }
};

TEST_F(fold_test, committed_events_without_their_record_are_not_emitted_again) {
    const std::string& d = dir_->path();
    // The watcher ran once (its checkpoint exists), then these files' events committed and
    // pubsubd died before recording them.
    start_watcher()->close();
    for (const char* n : {"/a.csv", "/b.csv", "/c.csv"}) write_file(d + n, "x");
    committed_event(501, d + "/a.csv");
    committed_event(502, d + "/b.csv");
    // Forged or foreign rows change nothing and break nothing: another directory's source, a
    // non-numeric size, a path outside the directory.
    committed_event(503, d + "/c.csv", 0, "file_watcher:/elsewhere");
    insert(504, file_watcher_source(d), R"({"path":")" + d + R"(/c.csv","size":"big"})", 0);
    insert(505, file_watcher_source(d), R"({"path":"/etc/passwd","size":1,"mtime_us":1})", 0);

    auto w = start_watcher();
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1; }));
    quiet();
    w->close();
    auto got = intake_.accepted();
    ASSERT_EQ(got.size(), 1u) << "a.csv and b.csv were emitted again";
    EXPECT_EQ(got[0].path, d + "/c.csv");
    EXPECT_EQ(state_rows(), 3);
}

TEST_F(fold_test, events_older_than_the_checkpoint_are_not_read) {
    const std::string& d = dir_->path();
    start_watcher()->close();  // writes the checkpoint (now, minus a margin of a minute)
    // An event created ten minutes ago is older than the checkpoint, which says that every
    // event before it is reflected in the records: the start must not even read it.
    write_file(d + "/old.csv", "x");
    committed_event(601, d + "/old.csv", 600);
    auto w = start_watcher();
    ASSERT_TRUE(wait_until([&] { return intake_.accepted_count() >= 1; }))
        << "an event older than the checkpoint was folded in";
    w->close();
}

}  // namespace
}  // namespace pubsub::test
