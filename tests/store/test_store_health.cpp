// The store's upkeep (issue #12): the store lock excludes threads as well as processes, opening the
// store sweeps tmp/ of what dead writers left (keeping files in use and downloads to resume), and
// check_model / check_store (hearth doctor) find models whose blobs are missing, truncated or corrupt.
#include "store/modelfile.h"
#include "store/store.h"
#include "store/store_fs.h"
#include "store_fixture.h"

#include <atomic>
#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <optional>
#include <sys/file.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hearth::store;
using hearth::test::tiny_model;
using hearth::test::write_file;

namespace {

class StoreHealth : public hearth::test::StoreFixture {
protected:
    bool in_tmp(const std::string& file) { return fs::exists(fs::symlink_status(store_.root / "tmp" / file)); }
};

TEST_F(StoreHealth, LockExcludesThreadsOfOneProcess) {
    auto pin = lock_store(store_, LockMode::Shared);
    ASSERT_TRUE(pin) << pin.message();
    auto second_pin = lock_store(store_, LockMode::Shared); // pins do not exclude each other
    ASSERT_TRUE(second_pin) << second_pin.message();
    std::atomic<bool> got{false};
    std::thread collector([&] {
        auto ex = lock_store(store_, LockMode::Exclusive); // waits for both pins
        got = ex.is_ok();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_FALSE(got);
    *pin = StoreLock();
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_FALSE(got);
    *second_pin = StoreLock();
    collector.join();
    EXPECT_TRUE(got);
}

TEST_F(StoreHealth, OpenSweepsWhatDeadWritersLeftButNothingInUse) {
    const fs::path tmp = store_.root / "tmp";
    // `hearth import --copy` killed with -9 halfway through its copy.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        auto t = detail::TmpFile::create(store_, ".copy");
        if (t && t->write_all(std::string(1 << 16, 'x'))) ::raise(SIGKILL);
        ::_exit(1);
    }
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status));
    const std::string dead = std::to_string(child) + "-";
    auto dead_copy = [&] {
        for (const auto& e : fs::directory_iterator(tmp))
            if (e.path().filename().string().starts_with(dead)) return true;
        return false;
    };
    ASSERT_TRUE(dead_copy());

    // In use: a copy written and not yet renamed into blobs/, a download in progress (locked), and a
    // download waiting to be resumed (unlocked, with its validator).
    auto created = detail::TmpFile::create(store_, ".copy");
    ASSERT_TRUE(created) << created.message();
    std::optional<detail::TmpFile> live(std::move(*created));
    ASSERT_TRUE(live->write_all("live bytes"));
    ASSERT_TRUE(live->finish());
    write_file(tmp / "busy.partial", "downloading");
    const int busy = ::open((tmp / "busy.partial").c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(busy, 0);
    ASSERT_EQ(::flock(busy, LOCK_EX), 0);
    write_file(tmp / "idle.partial", "resume me");
    write_file(tmp / "idle.partial.validator", "\"etag\"\n");
    write_file(tmp / "gone.partial.validator", "\"etag\"\n"); // its partial is gone
    fs::create_symlink(dir_ / "elsewhere", tmp / "planted");  // not ours to judge: left alone

    // Default ages: all of it is too new to go.
    ASSERT_TRUE(open_store(store_.root));
    EXPECT_TRUE(dead_copy());
    EXPECT_TRUE(in_tmp("gone.partial.validator"));

    // Every age reached but that of partial downloads: the dead writer's copy and the stray sidecar go.
    OpenOptions now;
    now.tmp_max_age = std::chrono::seconds(0);
    ASSERT_TRUE(open_store(store_.root, now));
    EXPECT_FALSE(dead_copy());
    EXPECT_FALSE(in_tmp("gone.partial.validator"));
    EXPECT_TRUE(fs::exists(live->path()));
    EXPECT_TRUE(in_tmp("busy.partial"));
    EXPECT_TRUE(in_tmp("idle.partial"));
    EXPECT_TRUE(in_tmp("idle.partial.validator"));
    EXPECT_TRUE(in_tmp("planted"));

    // Partial downloads too old to resume: the idle one goes with its sidecar, the locked one stays.
    now.partial_max_age = std::chrono::seconds(0);
    ASSERT_TRUE(open_store(store_.root, now));
    EXPECT_FALSE(in_tmp("idle.partial"));
    EXPECT_FALSE(in_tmp("idle.partial.validator"));
    EXPECT_TRUE(in_tmp("busy.partial"));
    EXPECT_TRUE(fs::exists(live->path()));

    // Once their writers let go, they are stale like the rest.
    ::close(busy);
    const fs::path live_path = live->path();
    live->keep(); // as if its writer died: the file stays, its lock goes with the descriptor
    live.reset();
    const SweepResult swept = sweep_tmp(store_, now);
    EXPECT_EQ(swept.files, 2u);
    EXPECT_EQ(swept.bytes, 21u); // "downloading" + "live bytes"
    EXPECT_FALSE(in_tmp("busy.partial"));
    EXPECT_FALSE(fs::exists(live_path));
    EXPECT_TRUE(in_tmp("planted"));
}

TEST_F(StoreHealth, CheckFindsMissingTruncatedAndCorruptBlobs) {
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen2.gguf"), name("base"), /*link=*/false));
    Modelfile mf;
    mf.from = "base";
    mf.system = "be brief";
    ASSERT_TRUE(create_model(store_, name("brief"), mf, dir_));
    auto all = check_store(store_, /*hash=*/true);
    ASSERT_TRUE(all) << all.message();
    ASSERT_EQ(all->size(), 2u);
    for (const auto& c : *all)
        EXPECT_TRUE(c.problems.empty()) << c.name.display() << ": " << c.problems[0];

    // The system prompt's blob vanishes: `brief` is broken, `base` is not; list still lists both.
    const Manifest m = *read_manifest(store_, name("brief"));
    const fs::path model = blob_path(store_, m.layers[0].digest);
    fs::remove(blob_path(store_, m.layers[1].digest));
    ModelCheck c = check_model(store_, name("brief"), false);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("missing"), std::string::npos) << c.problems[0];
    EXPECT_TRUE(check_model(store_, name("base"), false).problems.empty());
    auto list = list_models(store_);
    ASSERT_TRUE(list && list->size() == 2u);
    EXPECT_EQ((*list)[0].problem, "");
    EXPECT_NE((*list)[1].problem.find("not in the store"), std::string::npos) << (*list)[1].problem;

    // The weights rewritten in place (same size): only the hash notices. Then truncated: the size does.
    fs::permissions(model, fs::perms::owner_write, fs::perm_options::add);
    std::string bytes = hearth::test::read_file(model);
    bytes.back() ^= 0x55;
    write_file(model, bytes);
    EXPECT_TRUE(check_model(store_, name("base"), false).problems.empty());
    c = check_model(store_, name("base"), true);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("corrupt"), std::string::npos) << c.problems[0];
    fs::resize_file(model, 100);
    c = check_model(store_, name("base"), false);
    ASSERT_EQ(c.problems.size(), 1u);
    EXPECT_NE(c.problems[0].find("100 bytes"), std::string::npos) << c.problems[0];

    // A malformed manifest is a broken model (by name, so `hearth rm` can fix it); a stray entry is
    // reported without one.
    write_file(store_.root / "manifests/local/library/junk/latest", "{");
    fs::create_symlink(dir_, store_.root / "manifests/local/library/junk/planted");
    all = check_store(store_, false);
    ASSERT_TRUE(all);
    ASSERT_EQ(all->size(), 4u);
    size_t unnamed = 0;
    for (const auto& e : *all) {
        EXPECT_FALSE(e.problems.empty()) << e.name.display();
        unnamed += e.name.model.empty();
        if (e.name.model == "junk") {
            EXPECT_NE(e.problems[0].find("malformed"), std::string::npos);
        }
    }
    EXPECT_EQ(unnamed, 1u);
}

} // namespace
