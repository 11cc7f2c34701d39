// tests/store_pull/test_pull.cpp: pull() end to end against a fake Hugging Face hub and a plain URL
// server on 127.0.0.1: file choice, manifests, blobs, resume after an interrupted pull, a file that
// changed between attempts, the partial file's lock, symbolic links planted in tmp/, checksum failures,
// non-GGUF files, tokens and offline mode.
#include "store/pull/download.h"
#include "store/pull/pull.h"
#include "store/store.h"
#include "test_server.h"

#include <atomic>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sys/file.h>
#include <unistd.h>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;
using test::ServeOptions;
using test::sha256_hex;
using test::TestServer;

std::string slurp(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

size_t count_files(const fs::path& dir) {
    size_t n = 0;
    if (fs::exists(dir))
        for (const auto& e : fs::recursive_directory_iterator(dir))
            n += e.is_regular_file();
    return n;
}

class PullTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::random_device rd;
        dir_ = fs::temp_directory_path() / ("hearth-pull-" + std::to_string(rd()) + std::to_string(rd()));
        fs::create_directories(dir_);
        auto st = open_store(dir_);
        ASSERT_TRUE(st) << st.message();
        store_ = *st;
        q4km_ = slurp(std::string(HEARTH_TEST_DATA) + "/tiny/tiny-llama3.gguf");
        q8_ = slurp(std::string(HEARTH_TEST_DATA) + "/tiny/tiny-qwen2.gguf");
        q40_ = slurp(std::string(HEARTH_TEST_DATA) + "/tiny/tiny-qwen3.gguf");
        ASSERT_GT(q4km_.size(), 1000u);
        ASSERT_GT(q8_.size(), 1000u);
        opts_.allow_insecure = true;
        opts_.allow_private = true;
        opts_.retry_base_s = 0.01;
        opts_.max_retries = 2;
    }
    void start() {
        server_.start();
        opts_.hf_endpoint = server_.base();
    }
    void TearDown() override {
        server_.stop();
        std::error_code ec;
        fs::remove_all(dir_, ec);
    }

    static nlohmann::json entry(const std::string& path, const std::string& data, const std::string& oid = "") {
        return {{"type", "file"},
                {"path", path},
                {"size", data.size()},
                {"lfs", {{"oid", oid.empty() ? sha256_hex(data) : oid}, {"size", data.size()}}}};
    }

    // A fake hub: the tree listing and resolve/main/<file> for each file.
    void serve_hub(const std::string& repo, const std::vector<std::pair<std::string, const std::string*>>& files,
                   nlohmann::json listing = nullptr) {
        if (listing.is_null()) {
            listing = nlohmann::json::array();
            listing.push_back({{"type", "file"}, {"path", "README.md"}, {"size", 5}});
            listing.push_back({{"type", "directory"}, {"path", "extra"}});
            for (const auto& [name, data] : files)
                listing.push_back(entry(name, *data));
        }
        server_.srv().Get("/api/models/" + repo + "/tree/main",
                          [listing](const httplib::Request&, httplib::Response& res) {
                              res.set_content(listing.dump(), "application/json");
                          });
        for (const auto& [name, data] : files) {
            server_.srv().Get("/" + repo + "/resolve/main/" + name,
                              [this, d = data](const httplib::Request& req, httplib::Response& res) {
                                  server_.serve(req, res, *d, behaviour_(file_requests_++));
                              });
        }
    }

    fs::path dir_;
    Store store_;
    std::string q4km_, q8_, q40_;
    PullOptions opts_;
    TestServer server_;
    std::atomic<int> file_requests_{0};
    std::function<ServeOptions(int)> behaviour_ = [](int) { return ServeOptions{}; };
};

TEST_F(PullTest, HubDefaultPicksQ4KM) {
    serve_hub("org/repo", {{"model-Q8_0.gguf", &q8_}, {"model-Q4_K_M.gguf", &q4km_}, {"model-Q4_0.gguf", &q40_}});
    start();
    auto name = pull(store_, "hf.co/org/repo", opts_);
    ASSERT_TRUE(name) << name.message();
    EXPECT_EQ(name->host, "hf.co");
    EXPECT_EQ(name->ns, "org");
    EXPECT_EQ(name->model, "repo");
    EXPECT_EQ(name->tag, "q4_k_m");
    auto m = read_manifest(store_, *name);
    ASSERT_TRUE(m) << m.message();
    ASSERT_EQ(m->layers.size(), 1u);
    EXPECT_EQ(m->layers[0].media_type, kMediaModel);
    EXPECT_EQ(m->layers[0].digest, "sha256:" + sha256_hex(q4km_));
    EXPECT_EQ(m->layers[0].size, q4km_.size());
    EXPECT_EQ(m->config.value("file", ""), "model-Q4_K_M.gguf");
    EXPECT_EQ(m->config.value("quant", ""), "Q4_K_M");
    EXPECT_EQ(m->config.value("source", ""), "hf.co/org/repo");
    EXPECT_EQ(slurp(blob_path(store_, m->layers[0].digest)), q4km_);
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
    EXPECT_EQ(server_.requests_for("/org/repo/resolve/main/model-Q8_0.gguf"), 0u);
}

TEST_F(PullTest, HubQuantTagChoosesThatFile) {
    serve_hub("Org/Repo-GGUF", {{"model-Q8_0.gguf", &q8_}, {"model-Q4_K_M.gguf", &q4km_}});
    start();
    auto name = pull(store_, "Org/Repo-GGUF:q8_0", opts_);
    ASSERT_TRUE(name) << name.message();
    EXPECT_EQ(name->display(), "hf.co/org/repo-gguf:q8_0");
    auto m = read_manifest(store_, *name);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->layers[0].digest, "sha256:" + sha256_hex(q8_));
    // A quant the repository does not have is an error that lists what it has.
    auto missing = pull(store_, "Org/Repo-GGUF:Q6_K", opts_);
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("model-Q4_K_M.gguf"), std::string::npos) << missing.message();
}

TEST_F(PullTest, ExistingBlobIsNotDownloadedAgain) {
    serve_hub("org/repo", {{"model-Q4_K_M.gguf", &q4km_}});
    start();
    ASSERT_TRUE(pull(store_, "org/repo", opts_));
    auto again = pull(store_, "org/repo", opts_, parse_name("copy").value());
    ASSERT_TRUE(again) << again.message();
    EXPECT_EQ(server_.requests_for("/org/repo/resolve/main/model-Q4_K_M.gguf"), 1u);
    EXPECT_EQ(read_manifest(store_, *again)->layers[0].digest, "sha256:" + sha256_hex(q4km_));
}

TEST_F(PullTest, WrongHubChecksumStoresNothing) {
    nlohmann::json listing = nlohmann::json::array({entry("model-Q4_K_M.gguf", q4km_, sha256_hex("not it"))});
    serve_hub("org/repo", {{"model-Q4_K_M.gguf", &q4km_}}, listing);
    start();
    auto name = pull(store_, "org/repo", opts_);
    ASSERT_FALSE(name);
    EXPECT_NE(name.message().find("checksum mismatch"), std::string::npos) << name.message();
    EXPECT_EQ(count_files(dir_ / "blobs"), 0u);
    EXPECT_EQ(count_files(dir_ / "manifests"), 0u);
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
}

TEST_F(PullTest, InterruptedPullLeavesOnlyAPartialAndResumes) {
    const int64_t cut = static_cast<int64_t>(q4km_.size() / 2);
    behaviour_ = [cut](int n) {
        ServeOptions o;
        o.chunk = 4096;
        if (n == 0) o.cut_after = cut;
        return o;
    };
    serve_hub("org/repo", {{"model-Q4_K_M.gguf", &q4km_}});
    start();
    opts_.max_retries = 0; // the cut ends the first pull, like Ctrl-C
    auto first = pull(store_, "org/repo", opts_);
    ASSERT_FALSE(first);
    EXPECT_EQ(count_files(dir_ / "blobs"), 0u); // never under the final name
    EXPECT_EQ(count_files(dir_ / "manifests"), 0u);
    ASSERT_EQ(count_files(dir_ / "tmp"), 1u);
    opts_.max_retries = 2;
    auto second = pull(store_, "org/repo", opts_);
    ASSERT_TRUE(second) << second.message();
    const auto seen = server_.seen();
    ASSERT_GE(seen.size(), 2u);
    EXPECT_EQ(seen.back().range, "bytes=" + std::to_string(cut) + "-");
    EXPECT_EQ(slurp(blob_path(store_, "sha256:" + sha256_hex(q4km_))), q4km_);
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
}

// ---- resume safety: a changed file, concurrent pulls, links planted in tmp/ ------------------------
TEST_F(PullTest, FileChangedBetweenAttemptsIsDownloadedAnewNotSpliced) {
    std::atomic<int> version{1};
    const int64_t cut = static_cast<int64_t>(q4km_.size() / 2);
    server_.srv().Get("/files/m.gguf", [&](const httplib::Request& req, httplib::Response& res) {
        ServeOptions o;
        o.chunk = 4096;
        if (version == 1) {
            o.etag = "\"one\"";
            o.cut_after = cut;
            server_.serve(req, res, q4km_, o);
        } else {
            o.etag = "\"two\"";
            server_.serve(req, res, q8_, o);
        }
    });
    start();
    const std::string url = server_.url("/files/m.gguf");
    opts_.max_retries = 0;
    ASSERT_FALSE(pull(store_, url, opts_));
    EXPECT_EQ(count_files(dir_ / "tmp"), 2u); // the partial file and its validator
    version = 2;
    opts_.max_retries = 2;
    auto name = pull(store_, url, opts_);
    ASSERT_TRUE(name) << name.message();
    auto m = read_manifest(store_, *name);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->layers[0].digest, "sha256:" + sha256_hex(q8_));
    EXPECT_EQ(slurp(blob_path(store_, m->layers[0].digest)), q8_);
    EXPECT_EQ(count_files(dir_ / "blobs"), 1u);
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].if_range, "\"one\"");
}

TEST_F(PullTest, UrlPullWithoutValidatorStartsOverAfterAnInterruption) {
    const int64_t cut = static_cast<int64_t>(q4km_.size() / 2);
    std::atomic<int> n{0};
    server_.srv().Get("/files/m.gguf", [&](const httplib::Request& req, httplib::Response& res) {
        ServeOptions o;
        o.chunk = 4096;
        if (n++ == 0) o.cut_after = cut;
        server_.serve(req, res, q4km_, o); // no ETag, no Last-Modified
    });
    start();
    opts_.max_retries = 0;
    ASSERT_FALSE(pull(store_, server_.url("/files/m.gguf"), opts_));
    ASSERT_EQ(count_files(dir_ / "tmp"), 1u);
    auto name = pull(store_, server_.url("/files/m.gguf"), opts_);
    ASSERT_TRUE(name) << name.message();
    EXPECT_EQ(server_.seen().back().range, ""); // started over
    EXPECT_EQ(read_manifest(store_, *name)->layers[0].digest, "sha256:" + sha256_hex(q4km_));
}

TEST_F(PullTest, ConcurrentPullOfTheSameModelIsRefused) {
    server_.srv().Get("/files/m.gguf",
                      [this](const httplib::Request& req, httplib::Response& res) { server_.serve(req, res, q4km_); });
    start();
    const std::string url = server_.url("/files/m.gguf");
    const fs::path partial = partial_path(store_, "url:" + url);
    {
        std::ofstream f(partial, std::ios::binary);
        f << "in progress";
    }
    const int held = ::open(partial.c_str(), O_RDWR | O_CLOEXEC); // the other pull
    ASSERT_GE(held, 0);
    ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0);
    auto refused = pull(store_, url, opts_);
    ::close(held);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.message().find("another pull of this model is in progress"), std::string::npos)
        << refused.message();
    EXPECT_EQ(server_.requests(), 0u);
    EXPECT_EQ(slurp(partial), "in progress"); // not removed or truncated under the other pull
    EXPECT_EQ(count_files(dir_ / "blobs"), 0u);
    auto ok = pull(store_, url, opts_);
    ASSERT_TRUE(ok) << ok.message();
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
}

TEST_F(PullTest, SymlinkPlantedAtThePartialPathIsRefused) {
    server_.srv().Get("/files/m.gguf",
                      [this](const httplib::Request& req, httplib::Response& res) { server_.serve(req, res, q4km_); });
    start();
    const std::string url = server_.url("/files/m.gguf");
    const fs::path outside = fs::path(dir_.string() + "-outside");
    fs::create_directories(outside);
    const fs::path victim = outside / "victim";
    {
        std::ofstream f(victim, std::ios::binary);
        f << "precious";
    }
    const fs::path partial = partial_path(store_, "url:" + url);
    // A link at the partial file, then one at its validator sidecar.
    for (const fs::path& planted : {partial, validator_path(partial)}) {
        fs::create_symlink(victim, planted);
        auto name = pull(store_, url, opts_);
        ASSERT_FALSE(name) << planted;
        EXPECT_NE(name.message().find("symbolic link"), std::string::npos) << name.message();
        EXPECT_EQ(slurp(victim), "precious");
        EXPECT_EQ(server_.requests(), 0u);
        EXPECT_EQ(count_files(dir_ / "blobs"), 0u);
        EXPECT_EQ(count_files(dir_ / "manifests"), 0u);
        fs::remove(planted);
    }
    std::error_code ec;
    fs::remove_all(outside, ec);
}

TEST_F(PullTest, SplitOnlyRepositoryIsRefused) {
    serve_hub("org/split", {{"big-Q4_K_M-00001-of-00002.gguf", &q4km_}, {"big-Q4_K_M-00002-of-00002.gguf", &q8_}});
    start();
    auto name = pull(store_, "org/split", opts_);
    ASSERT_FALSE(name);
    EXPECT_NE(name.message().find("split GGUFs are not supported yet"), std::string::npos) << name.message();
}

TEST_F(PullTest, TokenGoesOnlyToTheHubHost) {
    nlohmann::json listing = nlohmann::json::array({entry("m-Q4_K_M.gguf", q4km_)});
    server_.srv().Get("/api/models/org/repo/tree/main", [listing](const httplib::Request&, httplib::Response& res) {
        res.set_content(listing.dump(), "application/json");
    });
    // resolve/ redirects to a CDN on another host name (localhost rather than 127.0.0.1).
    server_.srv().Get("/org/repo/resolve/main/m-Q4_K_M.gguf", [this](const httplib::Request&, httplib::Response& res) {
        res.set_redirect("http://localhost:" + std::to_string(server_.port()) + "/cdn/blob", 302);
    });
    server_.srv().Get("/cdn/blob",
                      [this](const httplib::Request& req, httplib::Response& res) { server_.serve(req, res, q4km_); });
    start();
    opts_.hf_token = "hf_secret";
    auto name = pull(store_, "org/repo", opts_);
    ASSERT_TRUE(name) << name.message();
    for (const auto& s : server_.seen()) {
        if (s.path.starts_with("/cdn/"))
            EXPECT_EQ(s.authorization, "") << s.path;
        else
            EXPECT_EQ(s.authorization, "Bearer hf_secret") << s.path;
    }
    EXPECT_EQ(server_.requests_for("/cdn/blob"), 1u);
}

TEST_F(PullTest, OfflineModeMakesNoRequest) {
    serve_hub("org/repo", {{"model-Q4_K_M.gguf", &q4km_}});
    start();
    opts_.offline = true;
    auto name = pull(store_, "org/repo", opts_);
    ASSERT_FALSE(name);
    EXPECT_NE(name.message().find("offline"), std::string::npos) << name.message();
    opts_.offline = false;
    ::setenv("HEARTH_OFFLINE", "1", 1);
    auto env = pull(store_, server_.url("/org/repo/resolve/main/model-Q4_K_M.gguf"), opts_);
    ::unsetenv("HEARTH_OFFLINE");
    ASSERT_FALSE(env);
    EXPECT_EQ(server_.requests(), 0u);
}

TEST_F(PullTest, UrlPullNamesTheModelAfterTheFile) {
    server_.srv().Get("/files/My_Model.Q4_K_M.gguf",
                      [this](const httplib::Request& req, httplib::Response& res) { server_.serve(req, res, q4km_); });
    start();
    auto name = pull(store_, server_.url("/files/My_Model.Q4_K_M.gguf"), opts_);
    ASSERT_TRUE(name) << name.message();
    EXPECT_EQ(name->display(), "my_model.q4_k_m:latest");
    auto m = read_manifest(store_, *name);
    ASSERT_TRUE(m) << m.message();
    EXPECT_EQ(m->layers[0].digest, "sha256:" + sha256_hex(q4km_));
    EXPECT_EQ(m->config.value("architecture", ""), "llama");
    auto named = pull(store_, server_.url("/files/My_Model.Q4_K_M.gguf"), opts_, parse_name("mine:v1").value());
    ASSERT_TRUE(named) << named.message();
    EXPECT_EQ(named->display(), "mine:v1");
}

TEST_F(PullTest, UrlThatIsNotAGgufStoresNothing) {
    const std::string junk(50000, 'j');
    server_.srv().Get("/junk.gguf", [this, &junk](const httplib::Request& req, httplib::Response& res) {
        server_.serve(req, res, junk);
    });
    start();
    auto name = pull(store_, server_.url("/junk.gguf"), opts_);
    ASSERT_FALSE(name);
    EXPECT_NE(name.message().find("not a valid GGUF"), std::string::npos) << name.message();
    EXPECT_EQ(count_files(dir_ / "blobs"), 0u);
    EXPECT_EQ(count_files(dir_ / "tmp"), 0u);
    EXPECT_EQ(count_files(dir_ / "manifests"), 0u);
}

TEST_F(PullTest, PlainHttpNeedsInsecure) {
    start();
    opts_.allow_insecure = false;
    auto name = pull(store_, server_.url("/x.gguf"), opts_);
    ASSERT_FALSE(name);
    EXPECT_NE(name.message().find("--insecure"), std::string::npos) << name.message();
    EXPECT_EQ(server_.requests(), 0u);
}

TEST_F(PullTest, ConfiguredEndpointIsTrustedButItsRedirectsAreNot) {
    // The user set HF_ENDPOINT (here: plain http on loopback): its own host needs no --insecure /
    // --allow-private. A redirect from it to another loopback host is still refused.
    serve_hub("org/repo", {{"model-Q4_K_M.gguf", &q4km_}, {"model-Q8_0.gguf", &q8_}});
    server_.srv().Get("/org/away/resolve/main/model-Q8_0.gguf",
                      [this](const httplib::Request&, httplib::Response& res) {
                          res.set_redirect("http://localhost:" + std::to_string(server_.port()) +
                                           "/org/repo/resolve/main/model-Q8_0.gguf");
                      });
    nlohmann::json away = nlohmann::json::array({entry("model-Q8_0.gguf", q8_)});
    server_.srv().Get("/api/models/org/away/tree/main", [away](const httplib::Request&, httplib::Response& res) {
        res.set_content(away.dump(), "application/json");
    });
    start();
    opts_.allow_insecure = false;
    opts_.allow_private = false;
    auto name = pull(store_, "org/repo", opts_);
    ASSERT_TRUE(name) << name.message();
    EXPECT_EQ(name->display(), "hf.co/org/repo:q4_k_m");
    auto refused = pull(store_, "org/away", opts_);
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.message().find("refusing redirect"), std::string::npos) << refused.message();
}

} // namespace
} // namespace hearth::store
