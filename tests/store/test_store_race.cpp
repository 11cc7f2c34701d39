// Concurrent create / copy / remove on one store, the models sharing blobs (issue #12): garbage
// collection must never delete a blob that a model being created or copied is about to reference.
// Each round prepares two models with their own system prompt, then at once: creates `pair` with the
// same system prompt as `victim` while `victim` is removed, and copies `src` while `src` is removed.
// Every model reported created must be whole afterwards. The removals run on another thread, or in a
// forked child process (the CLI and the server share $HEARTH_HOME from different processes).
#include "base/check.h"
#include "store/modelfile.h"
#include "store/store.h"
#include "store_test_util.h"

#include <barrier>
#include <chrono>
#include <cstdlib>
#include <gtest/gtest.h>
#include <random>
#include <sys/stat.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hearth::store;
using hearth::Status;
using hearth::test::tiny_model;

namespace {

fs::path make_shm_dir() {
    std::error_code ec;
    if (!fs::is_directory("/dev/shm", ec) || ::access("/dev/shm", W_OK) != 0) return {};
    std::random_device rd;
    const fs::path dir = fs::path("/dev/shm") / ("hearth-race-" + std::to_string(rd()) + "-" + std::to_string(rd()));
    return fs::create_directories(dir, ec) ? dir : fs::path();
}

ModelName name_of(const std::string& s) {
    auto n = parse_name(s);
    HEARTH_CHECK(n.is_ok(), "bad test name");
    return *n;
}

// The oracle, independent of the store's own checks: every layer of the manifest is a regular file in
// blobs/ of the recorded size. Empty when whole, else what is wrong.
std::string damage(const Store& store, const ModelName& name) {
    auto m = read_manifest(store, name);
    if (!m) return m.message();
    for (const auto& l : m->layers) {
        struct stat st;
        if (::lstat(blob_path(store, l.digest).c_str(), &st) != 0) return "blob " + l.digest + " is missing";
        if (static_cast<uint64_t>(st.st_size) != l.size) return "blob " + l.digest + " has the wrong size";
    }
    return "";
}

struct Round {
    ModelName victim, pair, src, dst;
    Modelfile pair_mf;
};

class StoreRace : public hearth::test::TempDirTest {
protected:
    void SetUp() override {
        // On tmpfs when there is one: the race is in the order of operations, not in the disk, and there
        // fsync is free, so a round costs well under a millisecond instead of a dozen fsyncs.
        dir_ = make_shm_dir();
        if (dir_.empty()) TempDirTest::SetUp();
        auto s = open_store(dir_ / "store");
        ASSERT_TRUE(s) << s.message();
        store_ = *s;
        ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen2.gguf"), name_of("base"), /*link=*/false));
    }

    Modelfile with_system(const std::string& system) {
        Modelfile mf;
        mf.from = "base";
        mf.from_line = 1;
        mf.system = system;
        return mf;
    }

    // Creates the round's victim and copy source, each with a system prompt no other model has.
    Round prepare(int i) {
        const std::string n = std::to_string(i);
        Round r{name_of("victim" + n), name_of("pair" + n), name_of("src" + n), name_of("dst" + n),
                with_system("shared prompt " + n)};
        auto v = create_model(store_, r.victim, r.pair_mf, dir_);
        EXPECT_TRUE(v) << v.message();
        auto s = create_model(store_, r.src, with_system("copied prompt " + n), dir_);
        EXPECT_TRUE(s) << s.message();
        return r;
    }

    // The writer's half of a round; failures are collected (gtest asserts are not for other threads).
    void write_half(const Round& r, std::vector<std::string>& failures, bool& copied) {
        auto c = create_model(store_, r.pair, r.pair_mf, dir_);
        if (!c) failures.push_back("create " + r.pair.display() + ": " + c.message());
        Status cp = copy_model(store_, r.src, r.dst);
        copied = cp.is_ok();
        if (!cp && cp.message().find("not found") == std::string::npos)
            failures.push_back("copy " + r.src.display() + ": " + cp.message());
    }

    static std::string remove_half(const Store& store, const Round& r) {
        std::string out;
        for (const auto& n : {r.victim, r.src})
            if (Status s = remove_model(store, n); !s) out += "remove " + n.display() + ": " + s.message() + "\n";
        return out;
    }

    // After a round: what was reported created must be whole; then the round's models go.
    void check_and_clear(const Round& r, bool copied, std::vector<std::string>& failures) {
        if (std::string d = damage(store_, r.pair); !d.empty()) failures.push_back(r.pair.display() + ": " + d);
        if (copied)
            if (std::string d = damage(store_, r.dst); !d.empty()) failures.push_back(r.dst.display() + ": " + d);
        (void)remove_model(store_, r.pair);
        if (copied) (void)remove_model(store_, r.dst);
    }

    void expect_store_whole() {
        auto list = list_models(store_);
        ASSERT_TRUE(list) << list.message();
        ASSERT_EQ(list->size(), 1u); // base only
        EXPECT_EQ(damage(store_, name_of("base")), "");
        EXPECT_EQ((*list)[0].problem, "");
        auto checks = check_store(store_, /*hash=*/true); // hearth doctor --hash
        ASSERT_TRUE(checks) << checks.message();
        ASSERT_EQ(checks->size(), 1u);
        EXPECT_TRUE((*checks)[0].problems.empty()) << (*checks)[0].problems[0];
    }

    // Rounds go on until kRounds or the time budget (sanitized builds on a slow disk are much slower).
    // HEARTH_STORE_RACE_ROUNDS and HEARTH_STORE_RACE_SECONDS override both for a long run by hand
    // (the figures of #12: 1,000 rounds each).
    static int env_int(const char* name, int fallback) {
        const char* v = std::getenv(name);
        return v && *v ? std::atoi(v) : fallback;
    }
    bool more(int i, int rounds, std::chrono::steady_clock::time_point start) {
        return i < env_int("HEARTH_STORE_RACE_ROUNDS", rounds) &&
               std::chrono::steady_clock::now() - start < std::chrono::seconds(env_int("HEARTH_STORE_RACE_SECONDS", 4));
    }

    Store store_;
};

// Small random delays shift the two halves against each other from round to round.
void jitter(std::mt19937& rng) {
    std::this_thread::sleep_for(std::chrono::microseconds(rng() % 300));
}

TEST_F(StoreRace, CreateCopyAndRemoveOnThreads) {
    constexpr int kRounds = 300;
    const auto start = std::chrono::steady_clock::now();
    std::vector<std::string> failures;
    std::string remove_errors;
    std::barrier sync(2);
    Round round;
    bool go = true; // written before the first barrier of a round, read after it
    std::thread remover([&] {
        std::mt19937 rng(1);
        while (true) {
            sync.arrive_and_wait(); // round prepared (or over)
            if (!go) return;
            jitter(rng);
            remove_errors += remove_half(store_, round);
            sync.arrive_and_wait(); // round done
        }
    });
    std::mt19937 rng(2);
    int rounds = 0;
    for (; more(rounds, kRounds, start); ++rounds) {
        round = prepare(rounds);
        bool copied = false;
        sync.arrive_and_wait();
        jitter(rng);
        write_half(round, failures, copied);
        sync.arrive_and_wait();
        check_and_clear(round, copied, failures);
    }
    go = false;
    sync.arrive_and_wait();
    remover.join();
    EXPECT_EQ(remove_errors, "");
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures in " << rounds
                                  << " rounds, first: " << failures.front();
    expect_store_whole();
    std::printf("%d rounds in %.2f s\n", rounds,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

TEST_F(StoreRace, CreateCopyAndRemoveAcrossProcesses) {
    constexpr int kRounds = 200;
    const auto start = std::chrono::steady_clock::now();
    int go[2], done[2];
    ASSERT_EQ(::pipe(go), 0);
    ASSERT_EQ(::pipe(done), 0);
    // The child removes what the parent prepared, in step with the parent's rounds (until the parent
    // closes the pipe); it learns the round's names from the round number alone.
    const pid_t child = ::fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
        ::close(go[1]);
        std::mt19937 rng(3);
        int bad = 0;
        char c;
        for (int i = 0; ::read(go[0], &c, 1) == 1; ++i) {
            const std::string n = std::to_string(i);
            jitter(rng);
            bad += !remove_half(store_, Round{name_of("victim" + n), {}, name_of("src" + n), {}, {}}).empty();
            if (::write(done[1], "d", 1) != 1) break;
        }
        ::_exit(bad ? 1 : 0);
    }
    ::close(go[0]);
    ::close(done[1]);
    std::vector<std::string> failures;
    std::mt19937 rng(4);
    int rounds = 0;
    for (; more(rounds, kRounds, start); ++rounds) {
        Round r = prepare(rounds);
        bool copied = false;
        ASSERT_EQ(::write(go[1], "g", 1), 1);
        jitter(rng);
        write_half(r, failures, copied);
        char c;
        ASSERT_EQ(::read(done[0], &c, 1), 1);
        check_and_clear(r, copied, failures);
    }
    ::close(go[1]);
    ::close(done[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(child, &status, 0), child);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "the child's removals failed";
    EXPECT_TRUE(failures.empty()) << failures.size() << " failures in " << rounds
                                  << " rounds, first: " << failures.front();
    expect_store_whole();
    std::printf("%d rounds in %.2f s\n", rounds,
                std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

} // namespace
