// router/eval.h: the built-in routing evaluation (`hearth router eval` and `hearth router calibrate`).
//
// The set: one JSON object a line with `id`, `question`, `answer` (the final number), `weak_correct`,
// `strong_correct` (RouteLLM's GSM8K labels; ../shared/fixtures/README.md). The local model answers every
// question itself (greedy, with top-K logprobs), graded by the final number of its answer; an escalated
// question counts as correct when `strong_correct` is true (the frozen stand-in for the cloud model).
//
// Answers go to a checkpoint (one JSON line per question: answer text, extracted number, correct, prompt
// info and the per-token signals of the first `window` tokens), appended as each one finishes, so a rerun
// skips the ids already there; a torn last line (an interrupted write) is dropped.
//
// Measures (RouteLLM's definitions): for a router sending a share s of the questions to the cloud,
// accuracy(s); PGR(s) = (accuracy(s) - acc_local) / (acc_cloud - acc_local); APGR = the area under PGR
// against s over [0, 1] (every s = k/n, trapezoids); the cloud share needed for 50% / 80% of the gap = the
// smallest s with PGR(s) >= 0.5 / 0.8. A random router has APGR 0.5 in expectation. Learned routers are
// scored out of sample only: k-fold cross-validation fits on k-1 folds and scores the held-out one.
#pragma once

#include "base/status.h"
#include "engine/engine.h"
#include "router/signals.h"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::router {

struct Question {
    int64_t id = 0;
    std::string question;
    std::string answer; // the final number, as text
    bool weak_correct = false, strong_correct = false;
};
Result<std::vector<Question>> read_question_set(const std::string& path);

// The final number of a model's answer: the number after the last "answer is" / "answer:" when there is one,
// else inside the last \boxed{}, else after the last "####", else the last number in the text. Commas between
// digit groups, a leading '$' and a trailing '.' or '%' are ignored; '-' before a number is kept.
std::optional<double> final_number(std::string_view text);
// Whether `text`'s final number equals `expected` (a number as text) within 1e-6 relative.
bool answer_matches(std::string_view text, std::string_view expected);

// The prompt the local model gets for one question (one user turn). It asks for step-by-step reasoning in
// plain text that ends with the line "The answer is N." so final_number finds N. Version 1 asked for "the key
// calculations in a few short lines": Qwen2.5-Coder-1.5B then often wrote only "The answer is N." (no
// reasoning, mostly wrong), which no user would want measured. Checkpoints record the version; answers of
// another version are not mixed (load_checkpoint refuses them).
inline constexpr int kEvalPromptVersion = 2;
std::string eval_prompt(std::string_view question);

// One answered question: a checkpoint line.
struct Record {
    int64_t id = 0;
    std::string model;
    int prompt_version = kEvalPromptVersion; // absent in a checkpoint line: 1
    std::string text;                        // the local answer
    std::optional<double> extracted;
    bool correct = false;
    int32_t completion_tokens = 0;
    double seconds = 0;
    PromptInfo prompt;
    std::vector<TokenSignal> signals; // the first `window` generated tokens
    std::vector<int32_t> ends;        // per recorded token: the byte offset in `text` where it ends (may be
                                      // empty: checkpoints written before it was recorded)
};
std::string record_to_line(const Record& r); // one JSON line with '\n'

// Whole-answer features of a record whose signals cover every generated token: window_features over all of
// them, log1p(completion tokens), 1 if the answer says "answer is", and the mean and min logprob of the tokens
// that wrote the final number (-30 when there is none or `ends` is missing).
std::vector<double> answer_features(const Record& r);
Result<Record> record_from_line(std::string_view line);

// Reads the checkpoint at `path` (a missing file is empty). Lines that do not parse (an interrupted write)
// are dropped and the file is rewritten without them, so later appends start on a fresh line. Records of a
// different model than `model`, or of another prompt version, are an error (use another --out).
Result<std::vector<Record>> load_checkpoint(const std::string& path, const std::string& model);

struct AnswerOptions {
    std::string model;   // as engine::Request::model
    int32_t window = 16; // signals kept per question
    int32_t top_logprobs = 8;
    int32_t max_tokens = 384;
    int32_t num_ctx = 1024;
    int parallel = 4; // concurrent generate() calls (the engine batches them)
};
// Progress after each answer: done so far, total to do, the record.
using Progress = std::function<void(size_t done, size_t total, const Record&)>;

// Answers every question whose id is not in `done_ids` through `engine` with `parallel` concurrent requests,
// appending each record to the checkpoint at `path` as it finishes. Stops early (returning the error) when a
// request fails for a reason other than its own question; *stop set stops after the answers in flight.
Status answer_questions(engine::Engine& engine, const std::vector<Question>& todo, const AnswerOptions& opts,
                        const std::string& path, const Progress& progress, const std::atomic<bool>* stop = nullptr);

// ---- measures ----

// One labelled example: the local answer was correct, and the cloud's (strong_correct).
struct Outcome {
    bool local_correct = false, cloud_correct = false;
};

// accuracy[k] for k = 0..n questions escalated, by escalating the k highest scores first (ties by index).
std::vector<double> accuracy_by_count(std::span<const double> scores, std::span<const Outcome> outcomes);
// The live router's two-stage policy: of k escalations, round(k * pre_fraction) go by the highest pre-generation
// scores, the rest by the highest cascade scores among the questions the pre stage kept.
std::vector<double> two_stage_accuracy(std::span<const double> pre_scores, std::span<const double> cascade_scores,
                                       std::span<const Outcome> outcomes, double pre_fraction);
// The best possible router: escalates first the questions only the cloud gets right.
std::vector<double> oracle_accuracy(std::span<const Outcome> outcomes);
// Expected accuracy of a random router: linear from always-local to always-cloud.
std::vector<double> random_accuracy(std::span<const Outcome> outcomes);

struct CurveSummary {
    double apgr = 0;
    std::optional<double> share_50, share_80; // cloud share for 50% / 80% of the gap (none: never reached)
};
// From accuracy[k], k = 0..n (accuracy[0] = always local, accuracy[n] = always cloud).
CurveSummary summarize(std::span<const double> accuracy);

// Out-of-sample scores: folds by position (i % folds); each fold scored by a model fit on the others.
Result<std::vector<double>> cross_validated_scores(std::span<const std::vector<double>> x, std::span<const uint8_t> y,
                                                   int folds, const FitOptions& fit_opts = {});

struct RouterCurve {
    std::string name;
    std::vector<double> accuracy; // (n + 1,)
    CurveSummary summary;
};

struct EvalReport {
    size_t n = 0;
    double acc_local = 0, acc_cloud = 0;
    std::vector<RouterCurve> routers;          // random, oracle, then the variants
    double score_p50_us = 0, score_p99_us = 0; // decision cost (features + both stages) per question
};
// The report over answered questions (`records` joined with `questions` by id): random, oracle, single raw
// signals, and the learned variants pre-generation, cascade (window tokens only), combined (prompt + window) and
// two-stage (pre-generation for half the share, then combined: what calibrate configures), each cross-validated
// with `folds` folds.
Result<EvalReport> evaluate(const std::vector<Record>& records, const std::vector<Question>& questions, int32_t window,
                            int folds);
std::string format_report(const EvalReport& r);
// The accuracy / cloud-share curves as a stand-alone SVG document.
std::string curves_svg(const EvalReport& r);

// Fits the DecisionModel on every record (pre on pre_features, cascade on cascade_features at `window`) and sets
// the thresholds for `target_share`: the pre stage escalates `pre_fraction` of it right after prefill, the
// cascade stage the rest (over this set).
Result<DecisionModel> calibrate(const std::vector<Record>& records, int32_t window, int32_t top_logprobs,
                                double target_share, double pre_fraction = 0.5);

} // namespace hearth::router
