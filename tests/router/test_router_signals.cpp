// tests/router/test_router_signals.cpp: the routing decision's pure parts (router/signals.h) and the
// evaluation's measures, grading and checkpoint (router/eval.h), without a model.
#include "router/eval.h"
#include "router/signals.h"

#include <cmath>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sstream>
#include <unistd.h>

namespace hearth::router {
namespace {

namespace fs = std::filesystem;

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() /
               ("hearth-router-test-" + std::to_string(getpid()) + "-" + std::to_string(std::random_device{}()));
        fs::create_directories(path);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

std::string read_all(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    std::stringstream ss;
    ss << f.rdbuf();
    return ss.str();
}

TokenSignal signal(std::vector<float> probs) { // probabilities, most likely first
    TokenSignal s;
    for (float p : probs)
        s.top.push_back(std::log(p));
    s.logprob = s.top[0];
    return s;
}

TEST(RouterPromptInfo, CountsWordsNumbersSentencesAndCues) {
    const PromptInfo p = prompt_info("Sara had $1,200.50 and spent 8 each day. How much is left after 3 days?");
    EXPECT_EQ(p.numbers, 3); // 1,200.50 is one numeral
    EXPECT_EQ(p.sentences, 2);
    EXPECT_EQ(p.questions, 1);
    EXPECT_EQ(p.cues, 3); // each, left, after
    EXPECT_EQ(p.words, 15);
    EXPECT_EQ(p.chars, 71);
    const PromptInfo empty = prompt_info("");
    EXPECT_EQ(empty.words, 0);
    EXPECT_EQ(empty.sentences, 0);
}

TEST(RouterTokenStats, EntropyMarginAndTail) {
    const TokenStats certain = token_stats(signal({1.0f}));
    EXPECT_NEAR(certain.entropy, 0, 1e-6);
    EXPECT_NEAR(certain.margin, 1, 1e-6);
    EXPECT_NEAR(certain.tail, 0, 1e-6);

    const TokenStats even = token_stats(signal({0.5f, 0.5f}));
    EXPECT_NEAR(even.entropy, std::log(2.0), 1e-6);
    EXPECT_NEAR(even.margin, 0, 1e-6);

    // Top-2 covers 0.8: the 0.2 tail counts as one more outcome.
    const TokenStats tail = token_stats(signal({0.6f, 0.2f}));
    EXPECT_NEAR(tail.tail, 0.2, 1e-6);
    EXPECT_NEAR(tail.entropy, -(0.6 * std::log(0.6) + 0.2 * std::log(0.2) + 0.2 * std::log(0.2)), 1e-6);
    EXPECT_NEAR(tail.margin, 0.4, 1e-6);

    // No alternatives: only the sampled logprob.
    TokenSignal only;
    only.logprob = std::log(0.9f);
    const TokenStats o = token_stats(only);
    EXPECT_NEAR(o.tail, 0.1, 1e-6);
    EXPECT_NEAR(o.margin, 0.8, 1e-6);
}

TEST(RouterWindowFeatures, MeansMinimaAndLowMarginShare) {
    const std::vector<TokenSignal> w = {signal({1.0f}), signal({0.5f, 0.5f}), signal({0.6f, 0.2f})};
    const auto f = window_features(w);
    EXPECT_NEAR(f[0], (0 + std::log(0.5) + std::log(0.6)) / 3, 1e-6); // mean logprob
    EXPECT_NEAR(f[1], std::log(0.5), 1e-6);                           // min logprob
    EXPECT_NEAR(f[3], token_stats(w[2]).entropy, 1e-6);               // max entropy
    EXPECT_NEAR(f[4], (1 + 0 + 0.4) / 3, 1e-6);                       // mean margin
    EXPECT_NEAR(f[5], 2.0 / 3, 1e-9);                                 // margins 0 and 0.4 are < 0.5
    EXPECT_NEAR(f[6], 0.2 / 3, 1e-6);                                 // mean tail
    EXPECT_EQ(cascade_features(prompt_info("x"), w).size(), kCascadeFeatures);
    EXPECT_EQ(pre_features(prompt_info("x"), w[0]).size(), kPreFeatures);
    EXPECT_EQ(cascade_feature_names().size(), kCascadeFeatures);
    EXPECT_EQ(pre_feature_names().size(), kPreFeatures);
}

TEST(RouterScores, DefaultModelRanksUncertaintyHigher) {
    const DecisionModel m = default_decision_model();
    const PromptInfo p = prompt_info("How many apples are left?");
    const TokenSignal sure = signal({0.99f, 0.005f});
    const TokenSignal unsure = signal({0.3f, 0.25f, 0.2f});
    EXPECT_GT(pre_score(m, p, unsure), pre_score(m, p, sure));
    const std::vector<TokenSignal> calm(16, sure), shaky(16, unsure);
    EXPECT_GT(cascade_score(m, p, shaky), cascade_score(m, p, calm));
    const double s = cascade_score(m, p, shaky);
    EXPECT_GT(s, 0);
    EXPECT_LT(s, 1);
}

TEST(RouterFit, SeparatesSyntheticData) {
    // y = 1 when x0 + 0.5 x1 > 1 (x2 is noise); the fit must rank nearly perfectly and weigh x0 most.
    std::mt19937 rng(3);
    std::normal_distribution<double> n(0, 1);
    std::vector<std::vector<double>> x;
    std::vector<uint8_t> y;
    for (int i = 0; i < 400; ++i) {
        const double a = n(rng), b = n(rng), c = 10 + 5 * n(rng);
        x.push_back({a, b, c});
        y.push_back(a + 0.5 * b > 1 ? 1 : 0);
    }
    auto m = fit(x, y, {.l2 = 0.1, .max_iter = 100});
    ASSERT_TRUE(m) << m.message();
    EXPECT_GT(m->weights[0], 2 * std::abs(m->weights[2]));
    EXPECT_GT(m->weights[0], m->weights[1]);
    EXPECT_GT(m->weights[1], 0);
    int right = 0;
    for (size_t i = 0; i < x.size(); ++i)
        right += (stage_score(*m, x[i]) > 0.5) == (y[i] == 1);
    EXPECT_GE(right, 390);
    // Deterministic: the same data gives the same model.
    auto again = fit(x, y, {.l2 = 0.1, .max_iter = 100});
    ASSERT_TRUE(again);
    EXPECT_EQ(again->weights, m->weights);
    EXPECT_EQ(again->bias, m->bias);
    // Bad input is an error, not a crash.
    EXPECT_FALSE(fit(std::vector<std::vector<double>>{}, std::vector<uint8_t>{}));
    EXPECT_FALSE(fit(x, std::span<const uint8_t>(y).first(3)));
}

TEST(RouterThreshold, HitsTargetShare) {
    std::vector<double> s;
    for (int i = 0; i < 1000; ++i)
        s.push_back(std::sin(i * 12.9898) * 0.5 + 0.5);
    for (double share : {0.0, 0.1, 0.3, 0.5, 0.77, 1.0}) {
        const double t = threshold_for_share(s, share);
        const auto above = std::count_if(s.begin(), s.end(), [&](double v) { return v > t; });
        EXPECT_NEAR(static_cast<double>(above) / 1000, share, 0.0015) << share;
    }
    // Ties: a block of equal scores goes all one way, to the side closer to the target.
    const std::vector<double> tied = {0.9, 0.5, 0.5, 0.5, 0.1};
    const double t = threshold_for_share(tied, 0.4); // 2 wanted: 1 (0.9) or 4 (0.9 + the 0.5s): 1 is closer
    EXPECT_EQ(std::count_if(tied.begin(), tied.end(), [&](double v) { return v > t; }), 1);
    EXPECT_EQ(threshold_for_share({}, 0.5), 1);
}

TEST(RouterDecisionToml, RoundTripsAndKeepsOtherTables) {
    TempDir dir;
    const fs::path cfg = dir.path / "router.toml";
    std::ofstream(cfg) << "# user config\n[upstream.big]\nbase_url = \"https://example.com/v1\"\nmodel = \"gpt\"\n\n"
                          "[decision]\nwindow = 3\n";
    DecisionModel m = default_decision_model();
    m.window = 24;
    m.top_logprobs = 5;
    m.pre.threshold = 0.625;
    m.cascade.weights[3] = -1.25;
    m.cascade.bias = 0.125;
    ASSERT_TRUE(write_decision_file(cfg.string(), m));
    auto back = read_decision_file(cfg.string());
    ASSERT_TRUE(back) << back.message();
    EXPECT_EQ(back->window, 24);
    EXPECT_EQ(back->top_logprobs, 5);
    EXPECT_EQ(back->pre.threshold, 0.625);
    EXPECT_EQ(back->pre.mean, m.pre.mean);
    EXPECT_EQ(back->cascade.weights, m.cascade.weights);
    EXPECT_EQ(back->cascade.bias, 0.125);
    const std::string text = read_all(cfg);
    EXPECT_NE(text.find("mean_entropy"), std::string::npos) << text;
    const toml::table root = toml::parse(text);
    EXPECT_EQ(root["upstream"]["big"]["base_url"].value<std::string>(), "https://example.com/v1") << text;
    EXPECT_EQ(root["upstream"]["big"]["model"].value<std::string>(), "gpt") << text;
    // No temp file left behind.
    size_t files = 0;
    for ([[maybe_unused]] const auto& e : fs::directory_iterator(dir.path))
        ++files;
    EXPECT_EQ(files, 1u);

    // A bad table is an error naming the field; a broken file is not overwritten.
    toml::table t;
    decision_to_toml(m, t);
    t["decision"].as_table()->insert_or_assign("window", 0);
    auto bad = decision_from_toml(*t["decision"].as_table());
    ASSERT_FALSE(bad);
    EXPECT_NE(bad.message().find("decision.window"), std::string::npos);
    decision_to_toml(m, t);
    (*t["decision"]["cascade"].as_table())["features"].as_array()->at(0).as_string()->get() = "other";
    auto renamed = decision_from_toml(*t["decision"].as_table());
    ASSERT_FALSE(renamed);
    EXPECT_NE(renamed.message().find("decision.cascade.features[0]"), std::string::npos) << renamed.message();
    std::ofstream(cfg, std::ios::trunc) << "[broken\n";
    EXPECT_FALSE(write_decision_file(cfg.string(), m));
    EXPECT_EQ(read_all(cfg), "[broken\n");
    // A missing file is created.
    ASSERT_TRUE(write_decision_file((dir.path / "new" / "router.toml").string(), m));
    EXPECT_TRUE(read_decision_file((dir.path / "new" / "router.toml").string()));
}

TEST(RouterMeasures, HandComputedTinyExample) {
    // 4 questions: local right on 0 and 1; cloud right on 1, 2, 3. acc_local 0.5, acc_cloud 0.75.
    const std::vector<Outcome> o = {{true, false}, {true, true}, {false, true}, {false, true}};
    const auto oracle = oracle_accuracy(o);
    ASSERT_EQ(oracle.size(), 5u);
    // Escalate 2, then 3 (gains), then 1 (neutral), then 0 (loss).
    EXPECT_EQ(oracle, (std::vector<double>{0.5, 0.75, 1.0, 1.0, 0.75}));
    const CurveSummary so = summarize(oracle);
    // PGR: 0, 1, 2, 2, 1 -> trapezoids (0.5 + 1.5 + 2 + 1.5) / 4.
    EXPECT_NEAR(so.apgr, 1.375, 1e-12);
    EXPECT_EQ(so.share_50, 0.25);
    EXPECT_EQ(so.share_80, 0.25);

    const CurveSummary sr = summarize(random_accuracy(o));
    EXPECT_NEAR(sr.apgr, 0.5, 1e-12);
    EXPECT_EQ(sr.share_50, 0.5);
    EXPECT_EQ(sr.share_80, 1.0); // random's PGR is k/n: 3/4 = 0.75 < 0.8

    // A scored router: the worst order (losses first).
    const std::vector<double> scores = {0.9, 0.5, 0.1, 0.2};
    const auto acc = accuracy_by_count(scores, o);
    EXPECT_EQ(acc, (std::vector<double>{0.5, 0.25, 0.25, 0.5, 0.75}));
    // PGR: 0, -1, -1, 0, 1.
    EXPECT_NEAR(summarize(acc).apgr, (-0.5 - 1 - 0.5 + 0.5) / 4, 1e-12);
}

TEST(RouterMeasures, TwoStageSplitsTheShare) {
    const std::vector<Outcome> o = {{true, false}, {true, true}, {false, true}, {false, true}};
    // Pre ranks 0 first (a loss), cascade ranks 2, 3 first (gains).
    const std::vector<double> pre = {0.9, 0.1, 0.2, 0.3}, cas = {0.5, 0.1, 0.9, 0.8};
    // k = 2: one by pre (0: -1), one by cascade (2: +1) -> 0.5; k = 4: everything -> 0.75.
    EXPECT_EQ(two_stage_accuracy(pre, cas, o, 0.5), (std::vector<double>{0.5, 0.25, 0.5, 0.75, 0.75}));
    // All by cascade, or all by pre: the single-score curves.
    EXPECT_EQ(two_stage_accuracy(pre, cas, o, 0.0), accuracy_by_count(cas, o));
    EXPECT_EQ(two_stage_accuracy(pre, cas, o, 1.0), accuracy_by_count(pre, o));
}

TEST(RouterMeasures, RandomScoresAverageHalfAPGR) {
    std::mt19937 rng(11);
    std::bernoulli_distribution local(0.4), cloud(0.9);
    std::vector<Outcome> o(2000);
    for (auto& x : o)
        x = {local(rng), cloud(rng)};
    std::uniform_real_distribution<double> u(0, 1);
    double sum = 0;
    for (int rep = 0; rep < 10; ++rep) {
        std::vector<double> s(o.size());
        for (double& v : s)
            v = u(rng);
        sum += summarize(accuracy_by_count(s, o)).apgr;
    }
    EXPECT_NEAR(sum / 10, 0.5, 0.03);
    // Oracle: gains on ~54% (local wrong, cloud right), losses on ~4%, gap ~0.5: APGR about 0.79.
    EXPECT_NEAR(summarize(oracle_accuracy(o)).apgr, 0.79, 0.03);
}

TEST(RouterMeasures, CrossValidationIsOutOfSample) {
    // Labels are pure noise: in-sample fitting with many features would rank above chance; out of sample it
    // must not (AUC-like APGR near 0.5 on average).
    std::mt19937 rng(5);
    std::normal_distribution<double> n(0, 1);
    std::bernoulli_distribution coin(0.5);
    std::vector<std::vector<double>> x;
    std::vector<uint8_t> y;
    std::vector<Outcome> o;
    for (int i = 0; i < 80; ++i) {
        std::vector<double> row(20);
        for (double& v : row)
            v = n(rng);
        x.push_back(row);
        const bool wrong = coin(rng);
        y.push_back(wrong);
        o.push_back({!wrong, true});
    }
    auto in = fit(x, y, {.l2 = 0.01});
    ASSERT_TRUE(in);
    std::vector<double> in_scores;
    for (const auto& row : x)
        in_scores.push_back(stage_score(*in, row));
    const double apgr_in = summarize(accuracy_by_count(in_scores, o)).apgr;
    auto cv = cross_validated_scores(x, y, 5, {.l2 = 0.01});
    ASSERT_TRUE(cv);
    const double apgr_cv = summarize(accuracy_by_count(*cv, o)).apgr;
    EXPECT_GT(apgr_in, 0.6);
    EXPECT_LT(apgr_cv, apgr_in - 0.05);
    EXPECT_FALSE(cross_validated_scores(x, y, 1));
}

TEST(RouterGrading, FinalNumber) {
    EXPECT_EQ(final_number("So 3 + 4 = 7. The answer is 7."), 7);
    EXPECT_EQ(final_number("Total: $1,234.50\nThe answer is $1,234.50."), 1234.5);
    EXPECT_EQ(final_number("The answer is -12"), -12);
    EXPECT_EQ(final_number("Step 1: 5 - 8 = -3\nSo the result is -3"), -3);
    EXPECT_EQ(final_number("The answer is: 42 apples. 3 more later"), 42);
    EXPECT_EQ(final_number("He gets 10 + 20 = 30 cookies."), 30);
    EXPECT_EQ(final_number("\\boxed{18}"), 18);
    EXPECT_EQ(final_number("#### 72"), 72);
    EXPECT_EQ(final_number("1,2,3"), 3); // a list, not a thousands separator
    EXPECT_EQ(final_number("0.5 of it"), 0.5);
    EXPECT_EQ(final_number("no numbers here"), std::nullopt);
    EXPECT_TRUE(answer_matches("The answer is 1,200.", "1200"));
    EXPECT_TRUE(answer_matches("The answer is $18.00", "18"));
    EXPECT_FALSE(answer_matches("The answer is 17.", "18"));
    EXPECT_FALSE(answer_matches("I don't know", "18"));
    EXPECT_NE(eval_prompt("Q?").find("The answer is"), std::string::npos);
}

TEST(RouterEvalFeatures, AnswerFeaturesReadTheFinalNumbersTokens) {
    Record r;
    r.text = "3 + 4 = 7. The answer is 17.";
    // Tokens: "3 + 4 = 7." | " The answer is " | "1" | "7" | "."
    r.ends = {10, 25, 26, 27, 28};
    r.signals = {signal({0.9f}), signal({0.9f}), signal({0.5f, 0.4f}), signal({0.25f, 0.2f}), signal({0.99f})};
    r.completion_tokens = 5;
    const auto x = answer_features(r);
    ASSERT_EQ(x.size(), kWindowFeatures + 4);
    EXPECT_NEAR(x[kWindowFeatures], std::log1p(5.0), 1e-9);
    EXPECT_EQ(x[kWindowFeatures + 1], 1.0);
    EXPECT_NEAR(x[kWindowFeatures + 2], (std::log(0.5) + std::log(0.25)) / 2, 1e-4); // "1" and "7" only
    EXPECT_NEAR(x[kWindowFeatures + 3], std::log(0.25), 1e-4);
    // Without token ends (an older checkpoint) or without a number, the final-number features say "unknown".
    r.ends.clear();
    EXPECT_EQ(answer_features(r)[kWindowFeatures + 2], -30.0);
    r.text = "I cannot tell.";
    r.ends = {14, 14, 14, 14, 14};
    EXPECT_EQ(answer_features(r)[kWindowFeatures + 1], 0.0);
    EXPECT_EQ(answer_features(r)[kWindowFeatures + 3], -30.0);
}

TEST(RouterCheckpoint, RoundTripsAndDropsATornLine) {
    TempDir dir;
    const std::string path = (dir.path / "answers.jsonl").string();
    Record a;
    a.id = 4;
    a.model = "m";
    a.text = "The answer is 20.\n\"quoted\"";
    a.extracted = 20;
    a.correct = true;
    a.completion_tokens = 9;
    a.prompt = prompt_info("How many?");
    a.signals = {signal({0.5f, 0.25f}), signal({0.9f})};
    a.ends = {4, 11};
    Record b = a;
    b.id = 6;
    b.extracted.reset();
    b.correct = false;
    const std::string line_b = record_to_line(b);
    std::ofstream(path, std::ios::binary) << record_to_line(a) << line_b.substr(0, line_b.size() / 2);

    auto got = load_checkpoint(path, "m");
    ASSERT_TRUE(got) << got.message();
    ASSERT_EQ(got->size(), 1u);
    const Record& r = got->front();
    EXPECT_EQ(r.id, 4);
    EXPECT_EQ(r.text, a.text);
    EXPECT_EQ(r.extracted, 20);
    EXPECT_TRUE(r.correct);
    EXPECT_EQ(r.prompt.words, a.prompt.words);
    ASSERT_EQ(r.signals.size(), 2u);
    EXPECT_NEAR(r.signals[0].top[1], std::log(0.25f), 1e-4);
    EXPECT_EQ(r.ends, a.ends);
    // The torn line is gone from the file, so the next append starts a fresh line.
    EXPECT_EQ(read_all(path), record_to_line(a));
    std::ofstream(path, std::ios::binary | std::ios::app) << line_b;
    got = load_checkpoint(path, "m");
    ASSERT_TRUE(got);
    ASSERT_EQ(got->size(), 2u);
    EXPECT_EQ((*got)[1].id, 6);
    EXPECT_FALSE((*got)[1].extracted);
    // Another model's checkpoint is refused; a missing file is empty.
    EXPECT_FALSE(load_checkpoint(path, "other"));
    auto none = load_checkpoint((dir.path / "none.jsonl").string(), "m");
    ASSERT_TRUE(none);
    EXPECT_TRUE(none->empty());
    // Answers to another prompt version are refused, and a line without a version is version 1.
    std::string old = record_to_line(a);
    const size_t at = old.find("\"prompt_version\":");
    ASSERT_NE(at, std::string::npos);
    old.erase(at, old.find(',', at) + 1 - at);
    ASSERT_TRUE(record_from_line(old));
    EXPECT_EQ(record_from_line(old)->prompt_version, 1);
    const std::string old_path = (dir.path / "old.jsonl").string();
    std::ofstream(old_path, std::ios::binary) << old;
    auto refused = load_checkpoint(old_path, "m");
    ASSERT_FALSE(refused);
    EXPECT_NE(refused.message().find("prompt version 1"), std::string::npos) << refused.message();
}

TEST(RouterCalibrate, ThresholdsHitTheTargetShare) {
    // Synthetic records: uncertain windows go with wrong answers.
    std::mt19937 rng(9);
    std::uniform_real_distribution<float> u(0.05f, 0.95f);
    std::vector<Record> recs;
    for (int i = 0; i < 200; ++i) {
        Record r;
        r.id = i;
        const float p1 = u(rng);
        r.correct = p1 + 0.2f * (u(rng) - 0.5f) > 0.5f;
        r.prompt = prompt_info("How many apples?");
        r.signals.assign(8, signal({p1, (1 - p1) / 2}));
        recs.push_back(r);
    }
    auto m = calibrate(recs, 8, 8, 0.3, 0.5);
    ASSERT_TRUE(m) << m.message();
    size_t early = 0, late = 0;
    for (const auto& r : recs) {
        if (pre_score(*m, r.prompt, r.signals[0]) > m->pre.threshold)
            ++early;
        else if (cascade_score(*m, r.prompt, r.signals) > m->cascade.threshold)
            ++late;
    }
    EXPECT_NEAR(static_cast<double>(early) / 200, 0.15, 0.02);
    EXPECT_NEAR(static_cast<double>(early + late) / 200, 0.3, 0.02);
    EXPECT_FALSE(calibrate({}, 8, 8, 0.3));

    // A window longer than the signals the checkpoint kept (answers of 20 tokens, 8 kept) is refused, naming
    // --keep-signals: features over "the window" would cover fewer tokens than the live router reads.
    for (auto& r : recs)
        r.completion_tokens = 20;
    EXPECT_TRUE(calibrate(recs, 8, 8, 0.3, 0.5));
    auto longer = calibrate(recs, 16, 8, 0.3, 0.5);
    ASSERT_FALSE(longer);
    EXPECT_NE(longer.message().find("--keep-signals"), std::string::npos) << longer.message();
    std::vector<Question> qs;
    for (const auto& r : recs)
        qs.push_back(Question{r.id, "q", "1", false, true});
    EXPECT_TRUE(evaluate(recs, qs, 8, 5));
    auto report = evaluate(recs, qs, 16, 5);
    ASSERT_FALSE(report);
    EXPECT_NE(report.message().find("--window 16"), std::string::npos) << report.message();
    // An answer shorter than the window needs only its own tokens (its end-of-generation token has no signal).
    for (auto& r : recs)
        r.completion_tokens = 9;
    EXPECT_TRUE(calibrate(recs, 16, 8, 0.3, 0.5));
}

} // namespace
} // namespace hearth::router
