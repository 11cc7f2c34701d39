// `hearth pull` and `hearth run` end to end through the binary, against a fake Hugging Face hub on
// 127.0.0.1 (HF_ENDPOINT) serving the real SmolLM2 fixture: `hearth run ORG/REPO` pulls and answers like
// the same file run from its path; offline mode and plain http are refused without touching the network.
#include "model_paths.h"
#include "run_command.h"
#include "test_server.h"

#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace hearth::test {
namespace {

using Ran = hearth::test::CommandResult;

Ran run_bin(const fs::path& home, const std::string& env, const std::string& args) {
    return hearth::test::run_command(
        "HEARTH_HOME='" + home.string() + "' " + env + " " + HEARTH_BIN + " " + args + " </dev/null", true);
}

TEST(PullCommand, RunPullsFromTheHubAndAnswersLikeTheLocalFile) {
    const std::string path = model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(fs::exists(path)) << missing_model_message(path);
    std::ifstream in(path, std::ios::binary);
    const std::string data((std::istreambuf_iterator<char>(in)), {});
    const std::string sha = "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53";

    TestServer server;
    const nlohmann::json listing = nlohmann::json::array({{{"type", "file"}, {"path", "README.md"}, {"size", 10}},
                                                          {{"type", "file"},
                                                           {"path", "SmolLM2-135M-Instruct-Q4_1.gguf"},
                                                           {"size", data.size()},
                                                           {"lfs", {{"oid", sha}, {"size", data.size()}}}}});
    server.srv().Get(
        "/api/models/HuggingFaceTB/SmolLM2-GGUF/tree/main",
        [&](const httplib::Request&, httplib::Response& res) { res.set_content(listing.dump(), "application/json"); });
    server.srv().Get("/HuggingFaceTB/SmolLM2-GGUF/resolve/main/SmolLM2-135M-Instruct-Q4_1.gguf",
                     [&](const httplib::Request& req, httplib::Response& res) { server.serve(req, res, data); });
    server.start();

    const fs::path home = fs::temp_directory_path() / ("hearth-pull-cli-" + std::to_string(getpid()));
    fs::create_directories(home);
    const std::string env = "HF_ENDPOINT=" + server.base();

    // Not in the store: `run` pulls it (hub metadata: file, size, sha256), stores it, answers.
    auto pulled = run_bin(home, env, "run HuggingFaceTB/SmolLM2-GGUF --temp 0 -n 12 'What is 2+2?'");
    ASSERT_EQ(pulled.rc, 0) << pulled.err;
    auto local = run_bin(home, "", "run '" + path + "' --temp 0 -n 12 'What is 2+2?'");
    ASSERT_EQ(local.rc, 0) << local.err;
    EXPECT_EQ(pulled.out, local.out);
    EXPECT_TRUE(fs::exists(home / "blobs" / ("sha256-" + sha)));
    EXPECT_EQ(server.requests_for("/HuggingFaceTB/SmolLM2-GGUF/resolve/main/SmolLM2-135M-Instruct-Q4_1.gguf"), 1u);

    auto list = run_bin(home, "", "list");
    ASSERT_EQ(list.rc, 0) << list.err;
    EXPECT_NE(list.out.find("hf.co/huggingfacetb/smollm2-gguf:q4_1"), std::string::npos) << list.out;

    // Second run: from the store, no network at all (offline mode would refuse it).
    const size_t before = server.requests();
    auto again = run_bin(home, "HEARTH_OFFLINE=1", "run HuggingFaceTB/SmolLM2-GGUF --temp 0 -n 12 'What is 2+2?'");
    ASSERT_EQ(again.rc, 0) << again.err;
    EXPECT_EQ(again.out, local.out);

    // Offline: a pull is refused before any request.
    auto offline = run_bin(home, "HEARTH_OFFLINE=1 " + env, "pull HuggingFaceTB/Other-GGUF");
    EXPECT_NE(offline.rc, 0);
    EXPECT_NE(offline.err.find("offline"), std::string::npos) << offline.err;
    // Plain http to loopback without the flags: refused before any request.
    auto insecure = run_bin(home, "", "pull " + server.url("/x.gguf"));
    EXPECT_NE(insecure.rc, 0);
    EXPECT_NE(insecure.err.find("--insecure"), std::string::npos) << insecure.err;
    EXPECT_EQ(server.requests(), before);

    // rm removes the manifest and the blob no other model uses.
    auto rm = run_bin(home, "", "rm hf.co/huggingfacetb/smollm2-gguf:q4_1");
    EXPECT_EQ(rm.rc, 0) << rm.err;
    EXPECT_FALSE(fs::exists(home / "blobs" / ("sha256-" + sha)));
    server.stop();
    fs::remove_all(home);
}

} // namespace
} // namespace hearth::test
