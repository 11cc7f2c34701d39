// sampling/sampling.h: choose the next token from a row of logits.
//
// A Sampler belongs to one sequence. It owns its RNG (rng.h), the window of recent tokens used by the
// penalties, and scratch buffers sized once for n_vocab, so sample() and accept() never allocate.
//
// The chain, in order (llama.cpp's order for the stages it shares, except where noted):
//   1. logit bias         logit[id] += bias for each (id, bias) in SamplingParams::logit_bias; a bias
//                         of -inf bans the token.
//   2. penalties          over the last penalty_last_n accepted tokens, for each distinct token t that
//                         occurs count(t) > 0 times there (llama.cpp semantics, OpenAI's formula):
//                           logit[t] = logit[t] <= 0 ? logit[t] * repeat_penalty : logit[t] / repeat_penalty
//                           logit[t] -= count(t) * frequency_penalty + presence_penalty
//   3. clean-up           NaN becomes -inf (never sampled); +inf becomes FLT_MAX (so such a token wins
//                         instead of turning the softmax into NaN). Tokens at -inf are dropped.
//   -- temperature == 0 or top_k == 1: return the argmax of the row now (ties go to the lowest id). --
//   4. top-k              keep the top_k highest logits (0 = off).
//   5. softmax            p = exp((logit - max) / temperature), over the kept tokens.
//   6. top-p (nucleus)    keep the smallest highest-first prefix whose mass reaches top_p (1 = off).
//   7. min-p              keep tokens with p >= min_p * p_max (0 = off).
//   8. draw               one token from what is left, with probability proportional to p.
// Unlike llama.cpp's default chain, which applies temperature last, temperature here scales the
// distribution that top-p and min-p see (as in Hugging Face transformers and vLLM): a hotter
// temperature widens the nucleus.
//
// Ties in logit are broken by the lower token id everywhere and the RNG is exact integer arithmetic, so a
// seed gives the same tokens with every standard library; only std::exp, which math libraries may round
// differently in the last bit, could (very rarely) flip a draw between platforms.
//
// All logits at -inf or NaN (everything banned, or a broken model output) leaves nothing to sample:
// sample() then returns 0 and degenerate() is true until the next sample(); the caller should stop
// the sequence with an error rather than use that token.
#pragma once

#include "base/status.h"
#include "sampling/rng.h"

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

namespace hearth {

struct SamplingParams {
    float temperature = 0.8f; // [0, kMaxTemperature]; 0 = greedy
    int32_t top_k = 40;       // >= 0; 0 = off; values >= n_vocab are the same as off
    float top_p = 0.95f;      // (0, 1]; 1 = off
    float min_p = 0.05f;      // [0, 1]; 0 = off

    float repeat_penalty = 1.0f;    // (0, kMaxRepeatPenalty]; 1 = off
    int32_t penalty_last_n = 64;    // [0, kMaxPenaltyLastN]; how many recent tokens the penalties see; 0 = off
    float presence_penalty = 0.0f;  // [-kMaxPresenceFrequency, kMaxPresenceFrequency]; 0 = off
    float frequency_penalty = 0.0f; // [-kMaxPresenceFrequency, kMaxPresenceFrequency]; 0 = off

    // (token id, additive bias) pairs; ids in [0, n_vocab); a bias is finite or -inf (ban). An id listed
    // twice gets both biases.
    std::vector<std::pair<int32_t, float>> logit_bias;

    // The RNG seed. The same seed, parameters and logits give the same tokens; a caller that wants
    // fresh randomness picks a random seed itself.
    uint64_t seed = 0;

    // As in OpenAI's API: logprobs asks for the sampled token's log-probability (sampled_logprob()),
    // top_logprobs for that many most likely alternatives (top_logprobs()), [0, kMaxLogprobs]; both are
    // computed only when logprobs is true, at the cost of one more pass over the vocabulary.
    bool logprobs = false;
    int32_t top_logprobs = 0;
};

inline constexpr float kMaxTemperature = 100.0f;
inline constexpr float kMaxRepeatPenalty = 100.0f;
inline constexpr float kMaxPresenceFrequency = 100.0f;
inline constexpr int32_t kMaxPenaltyLastN = 1 << 20;
inline constexpr int32_t kMaxLogprobs = 20; // OpenAI's limit for top_logprobs

// Ollama's parameter names (Modelfile PARAMETER, API "options", `/set parameter`) for the fields above.
inline constexpr std::string_view kSamplingParameterNames[] = {
    "temperature",      "top_k", "top_p", "min_p", "repeat_penalty", "repeat_last_n", "presence_penalty",
    "frequency_penalty"};
// Sets the field `name` stands for (repeat_last_n -1: every token, kMaxPenaltyLastN); false if `name` is not
// one of kSamplingParameterNames. Ranges are checked later, by validate().
bool set_sampling_parameter(SamplingParams& s, std::string_view name, double value);

// Checks every field against its range (and logit_bias ids against n_vocab). The error names the field
// and the offending value, e.g. "sampling: top_p must be in (0, 1], got 1.5".
Status validate(const SamplingParams& params, int32_t n_vocab);

struct TokenLogprob {
    int32_t token;
    float logprob; // natural log
};

class Sampler {
public:
    // Validates params (see validate()) and allocates all scratch for n_vocab > 0.
    static Result<Sampler> create(const SamplingParams& params, int32_t n_vocab);

    // Runs the chain above on logits (n_vocab) and returns the chosen token. The logits are modified in
    // place (bias, penalties, clean-up). Does not add the token to the history: call accept() for that.
    int32_t sample(std::span<float> logits);

    // Appends a token to the penalty window (prompt tokens too, if they should count). Precondition:
    // 0 <= token < n_vocab.
    void accept(int32_t token);
    void accept(std::span<const int32_t> tokens) {
        for (int32_t t : tokens)
            accept(t);
    }

    // Empties the penalty window and restarts the RNG from the seed.
    void reset();

    // True when the last sample() found no token with a logit above -inf (see the header comment).
    bool degenerate() const { return degenerate_; }

    // Log-probabilities from the last sample(), taken from the distribution after bias, penalties and
    // clean-up at temperature 1, before top-k/top-p/min-p (the model's view, as OpenAI reports them).
    // Only when params.logprobs; tokens at -inf are never listed.
    // top_logprobs(): the params.top_logprobs most likely tokens, most likely first (ties: lower id first).
    std::span<const TokenLogprob> top_logprobs() const { return {top_logprobs_.data(), n_top_logprobs_}; }
    float sampled_logprob() const { return sampled_logprob_; }

    const SamplingParams& params() const { return params_; }
    int32_t n_vocab() const { return n_vocab_; }

private:
    struct Candidate {
        int32_t id;
        float logit;
        float p; // unnormalized probability exp((logit - max) / temperature)
    };

    Sampler(const SamplingParams& params, int32_t n_vocab);

    bool penalties_active() const;
    void apply_logit_bias(std::span<float> logits) const;
    void apply_penalties(std::span<float> logits);
    void compute_logprobs(std::span<const float> logits, int32_t token);
    void sort_prefix(size_t want); // makes cand_[0, want) sorted, highest logit first
    int32_t sample_candidates(float max_logit);
    void apply_min_p();
    void apply_top_p_sorted(double target);
    void apply_top_p_bucketed(double target, float max_logit);
    int32_t draw();

    SamplingParams params_;
    int32_t n_vocab_ = 0;
    Rng rng_;

    // Penalty window: a ring of the last penalty_last_n accepted tokens and the count of each token in it.
    std::vector<int32_t> history_; // (penalty_last_n,)
    size_t history_head_ = 0;      // next slot to write
    size_t history_size_ = 0;
    std::vector<int32_t> counts_; // (n_vocab,) when penalties are active, else empty

    std::vector<Candidate> cand_; // (n_vocab,)
    size_t cand_n_ = 0;           // live candidates in cand_
    size_t cand_sorted_ = 0;      // cand_[0, cand_sorted_) is sorted and >= every later live candidate

    std::vector<double> bucket_mass_; // (kTopPBuckets,) top-p histogram, see sampling.cpp

    std::vector<TokenLogprob> top_logprobs_; // (params.top_logprobs,)
    size_t n_top_logprobs_ = 0;
    float sampled_logprob_ = 0.0f;
    bool degenerate_ = false;
};

// Index of the largest value; NaN counts as -inf; ties go to the lowest index; a row of only NaN/-inf
// gives 0. Precondition: logits is not empty.
int32_t argmax(std::span<const float> logits);

} // namespace hearth
