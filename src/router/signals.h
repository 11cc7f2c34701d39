// router/signals.h: the routing decision's inputs and its model, as pure functions.
//
// The router decides on the device, from the local model's own signals, whether a request is answered
// locally or escalated. Two moments:
//   - pre-generation: right after prefill, from the prompt (PromptInfo) and the distribution of the first
//     generated token (the model's uncertainty after reading the whole prompt; no extra compute, the engine
//     already has those logits);
//   - cascade: after the first `window` generated tokens (held back from the client), from their
//     distributions (sampled logprob, top-K entropy, margin p1-p2) plus the prompt features.
// A DecisionModel turns features into score = P(the local answer is wrong) through standardization and
// logistic weights; a stage escalates when score > its threshold. fit() learns the weights on labelled
// examples (L2 logistic regression, Newton's method: small and deterministic); threshold_for_share() picks
// the threshold that sends a target share of a calibration set to the cloud.
//
// Signal source: engine::TokenEvent with sampling.logprobs = true and top_logprobs = K (K <= 20); the
// logprobs are the log-softmax of the raw logits (temperature does not change them). Per-prompt-position
// uncertainty is deliberately not used: the engine keeps the logits of the last prompt position only, and
// scoring every prompt position would cost the output layer (the whole vocabulary) per prompt token.
//
// Cost: scoring is a few hundred floating-point operations (bench/bench_router_signals.cpp: well under
// a microsecond per decision), nothing next to a forward pass.
#pragma once

#include "base/status.h"

#include <array>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <toml++/toml.h>
#include <vector>

namespace hearth::router {

// What the prompt itself says about its difficulty (cheap text statistics, no model).
struct PromptInfo {
    int32_t chars = 0;
    int32_t words = 0;
    int32_t numbers = 0;   // numerals ("15", "2.5", "1,200", "$3")
    int32_t sentences = 0; // runs ending in . ! ?
    int32_t cues = 0;      // multi-step task cues ("each", "per", "percent", "twice", "remaining", ...)
    int32_t questions = 0; // question marks
};
PromptInfo prompt_info(std::string_view text);

// One generated token's signal: the sampled token's logprob and the top-K logprobs, most likely first
// (as engine::TokenEvent carries them; K may be 0, then only the sampled logprob is known).
struct TokenSignal {
    float logprob = 0;
    std::vector<float> top; // (K,) natural logs, descending
};

// Per-token uncertainty measures computed from one TokenSignal.
struct TokenStats {
    double logprob = 0; // sampled token
    double entropy = 0; // top-K entropy plus the tail mass as one more outcome (a lower bound), nats
    double margin = 1;  // p1 - p2 (p2 = 0 when K < 2)
    double tail = 0;    // 1 - sum of the top-K probabilities
};
TokenStats token_stats(const TokenSignal& s);

// Feature vectors. Every stage uses the prompt features followed by its own token features.
inline constexpr size_t kPromptFeatures = 5;
inline constexpr size_t kWindowFeatures = 7;
inline constexpr size_t kPreFeatures = kPromptFeatures + 3;
inline constexpr size_t kCascadeFeatures = kPromptFeatures + kWindowFeatures;
inline constexpr double kLowMargin = 0.5; // a token is "low margin" when p1 - p2 < this

// Names, in vector order, as written to the [decision] table.
std::span<const std::string_view> pre_feature_names();
std::span<const std::string_view> cascade_feature_names();

// log1p(chars), log1p(words), log1p(numbers), sentences, cues.
std::array<double, kPromptFeatures> prompt_features(const PromptInfo& p);
// Over the window (empty: all zeros but margin features at "certain"): mean and min sampled logprob, mean and
// max entropy, mean margin, share of low-margin tokens, mean tail mass.
std::array<double, kWindowFeatures> window_features(std::span<const TokenSignal> window);

std::vector<double> pre_features(const PromptInfo& p, const TokenSignal& first);
std::vector<double> cascade_features(const PromptInfo& p, std::span<const TokenSignal> first_n);

// One stage: score = sigmoid(bias + sum_i weights[i] * (x[i] - mean[i]) / scale[i]); escalate when
// score > threshold.
struct StageModel {
    std::vector<double> mean, scale, weights; // (n_features,)
    double bias = 0;
    double threshold = 1; // 1: never escalates
};
double stage_score(const StageModel& m, std::span<const double> x);

struct DecisionModel {
    // Cascade: generated tokens held back before deciding. 64: on the 1.5B model and GSM8K (README, "Routing
    // quality, measured") 16-32 tokens add little beyond the prompt (APGR 0.59), 64 reaches 0.61 calibrated and
    // uncalibrated, the whole answer 0.64; longer windows hold a streaming client's first text back longer.
    int32_t window = 64;
    int32_t top_logprobs = 8; // K to ask the engine for
    StageModel pre;           // kPreFeatures
    StageModel cascade;       // kCascadeFeatures
};

// The model used without calibration. Hand-set, not fitted: features standardized by their typical values for
// Qwen2.5-Coder-0.5B-Instruct on GSM8K; weights +0.5 on the prompt's length (log words) and, for `pre`, +0.5 on
// the first token's entropy, for `cascade` +1 on the window's mean entropy, -0.5 on its mean logprob and +0.5 on
// its low-margin share; bias 0; thresholds 0.8 (pre: only outliers) and 0.7 (cascade: about the most uncertain
// quarter). `hearth router eval` reports how it ranks ("default model"); calibrate for real use.
DecisionModel default_decision_model();

double pre_score(const DecisionModel& m, const PromptInfo& p, const TokenSignal& first);
double cascade_score(const DecisionModel& m, const PromptInfo& p, std::span<const TokenSignal> first_n);

// L2-regularized logistic regression of y (1 = the local answer is wrong) on x, standardized by the sample's
// mean and standard deviation (scale 1 for a constant feature); Newton's method from zero weights, at most
// `max_iter` steps. Deterministic. The threshold is left at 1 (set it with threshold_for_share).
struct FitOptions {
    double l2 = 1.0; // penalty on the weights (not the bias), in the standardized space
    int max_iter = 50;
};
Result<StageModel> fit(std::span<const std::vector<double>> x, std::span<const uint8_t> y, const FitOptions& opts = {});

// The threshold t such that the share of `scores` strictly above t is as close to `share` as ties allow
// (share <= 0: nothing above; share >= 1: everything above).
double threshold_for_share(std::span<const double> scores, double share);

// The [decision] table: window, top_logprobs, and [decision.pre] / [decision.cascade] with features (names,
// checked on read), mean, scale, weights, bias, threshold.
Result<DecisionModel> decision_from_toml(const toml::table& t); // t is the [decision] table itself
void decision_to_toml(const DecisionModel& m, toml::table& t);  // writes/replaces t["decision"]
// Reads the TOML file at `path` if it exists (a parse error is an error), replaces its [decision] table and
// writes it back atomically (temp file in the same folder + rename); other tables survive.
Status write_decision_file(const std::string& path, const DecisionModel& m);
Result<DecisionModel> read_decision_file(const std::string& path);

} // namespace hearth::router
