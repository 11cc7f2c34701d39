// `hearth router eval` and `hearth router calibrate` through the real binary: three questions of
// tests/data/routing/mini.jsonl answered by the SmolLM2 fixture (short answers, so it stays fast), the report,
// the SVG, the checkpoint and its resume, and the calibrated [decision] table.
#include "model_paths.h"
#include "router/eval.h"
#include "run_command.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sstream>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;

std::pair<int, std::string> run(const std::string& args) {
    const std::string cmd = std::string(HEARTH_BIN) + " " + args + " 2>&1";
    auto r = hearth::test::run_command(cmd);
    return {r.rc, std::move(r.out)};
}

std::string read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

size_t count_lines(const std::string& s) {
    return static_cast<size_t>(std::count(s.begin(), s.end(), '\n'));
}

TEST(RouterEvalCli, AnswersReportsResumesAndCalibrates) {
    const std::string model = hearth::test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(fs::exists(model)) << hearth::test::missing_model_message(model);
    const fs::path dir = fs::temp_directory_path() / ("hearth-router-cli-" + std::to_string(getpid()) + "-" +
                                                      std::to_string(std::random_device{}()));
    fs::create_directories(dir);
    const std::string set = std::string(HEARTH_TEST_DATA) + "/routing/mini.jsonl";
    const std::string common = "--set '" + set + "' --model '" + model + "' --out '" + dir.string() +
                               "' --max-tokens 8 --window 4 --parallel 3 -t 2";

    auto [rc, out] = run("router eval " + common + " --limit 3 --folds 2 --svg '" + (dir / "c.svg").string() + "'");
    ASSERT_EQ(rc, 0) << out;
    for (const char* s :
         {"questions: 3", "always-local accuracy", "random", "oracle", "APGR", "combined", "decision cost"})
        EXPECT_NE(out.find(s), std::string::npos) << s << " missing in:\n" << out;
    const std::string answers = read_all(dir / "answers.jsonl");
    ASSERT_EQ(count_lines(answers), 3u) << answers;
    std::istringstream lines(answers);
    std::string line;
    while (std::getline(lines, line)) {
        auto r = hearth::router::record_from_line(line);
        ASSERT_TRUE(r) << r.message();
        EXPECT_GE(r->id, 1);
        EXPECT_LE(r->id, 3);
        EXPECT_FALSE(r->signals.empty());
        EXPECT_LE(r->signals.size(), 4u);
        EXPECT_EQ(r->signals[0].top.size(), 8u);
    }
    const std::string svg = read_all(dir / "c.svg");
    EXPECT_TRUE(svg.starts_with("<svg")) << svg.substr(0, 100);
    EXPECT_NE(svg.find("polyline"), std::string::npos);
    EXPECT_NE(svg.find("</svg>"), std::string::npos);

    // Tear the last line: the rerun answers only that question again (and 3 more with --limit 6).
    const std::string torn = answers.substr(0, answers.size() - 20);
    std::ofstream(dir / "answers.jsonl", std::ios::binary | std::ios::trunc) << torn;
    auto [rc2, out2] = run("router eval " + common + " --limit 6 --folds 2");
    ASSERT_EQ(rc2, 0) << out2;
    EXPECT_NE(out2.find("2 already answered"), std::string::npos) << out2;
    EXPECT_NE(out2.find("4 to go"), std::string::npos) << out2;
    EXPECT_EQ(count_lines(read_all(dir / "answers.jsonl")), 6u);

    // Calibrate needs 10 answers: an error with 6, and nothing written.
    const fs::path cfg = dir / "router.toml";
    std::ofstream(cfg) << "[upstream.x]\nmodel = \"big\"\n";
    auto [rc3, out3] =
        run("router calibrate " + common + " --limit 6 --target-share 0.3 --config '" + cfg.string() + "'");
    EXPECT_EQ(rc3, 1) << out3;
    EXPECT_NE(out3.find("at least 10"), std::string::npos) << out3;
    EXPECT_EQ(read_all(cfg), "[upstream.x]\nmodel = \"big\"\n");

    auto [rc4, out4] = run("router eval --set /nonexistent.jsonl --model '" + model + "'");
    EXPECT_EQ(rc4, 1);
    EXPECT_NE(out4.find("cannot open /nonexistent.jsonl"), std::string::npos) << out4;
    std::error_code ec;
    fs::remove_all(dir, ec);
}

} // namespace
