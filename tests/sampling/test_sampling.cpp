#include "sampling/sampling.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <gtest/gtest.h>
#include <limits>
#include <set>
#include <string>
#include <vector>

namespace hearth {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

// Plain sampling from the softmax: every truncation off.
SamplingParams plain(float temperature = 1.0f, uint64_t seed = 1) {
    SamplingParams p;
    p.temperature = temperature;
    p.top_k = 0;
    p.top_p = 1.0f;
    p.min_p = 0.0f;
    p.seed = seed;
    return p;
}

Sampler make(const SamplingParams& p, int32_t n_vocab) {
    Result<Sampler> s = Sampler::create(p, n_vocab);
    EXPECT_TRUE(s.is_ok()) << s.message();
    return std::move(s).value();
}

// Draws n tokens, each from a fresh copy of logits (sample() modifies its row); returns counts per token.
std::vector<int> histogram(Sampler& s, const std::vector<float>& logits, int n) {
    std::vector<int> counts(logits.size(), 0);
    std::vector<float> row;
    for (int i = 0; i < n; ++i) {
        row = logits;
        ++counts[static_cast<size_t>(s.sample(row))];
    }
    return counts;
}

std::vector<float> log_probs(const std::vector<double>& probs) {
    std::vector<float> l;
    for (double p : probs)
        l.push_back(static_cast<float>(std::log(p)));
    return l;
}

std::vector<double> softmax(const std::vector<float>& logits, double temperature) {
    double mx = *std::max_element(logits.begin(), logits.end());
    std::vector<double> p;
    double sum = 0;
    for (float l : logits) {
        p.push_back(std::exp((l - mx) / temperature));
        sum += p.back();
    }
    for (double& v : p)
        v /= sum;
    return p;
}

// Pearson's chi-square of observed counts against expected probabilities (all expected > 0).
double chi_square(const std::vector<int>& counts, const std::vector<double>& probs, int n) {
    double chi = 0;
    for (size_t i = 0; i < counts.size(); ++i) {
        const double e = probs[i] * n;
        chi += (counts[i] - e) * (counts[i] - e) / e;
    }
    return chi;
}

std::set<int32_t> sampled_set(const std::vector<int>& counts) {
    std::set<int32_t> s;
    for (size_t i = 0; i < counts.size(); ++i)
        if (counts[i] > 0) s.insert(static_cast<int32_t>(i));
    return s;
}

// ---------------------------------------------------------------------------------------------- validation

TEST(SamplingValidate, DefaultsAreValid) {
    EXPECT_TRUE(validate(SamplingParams{}, 32000).is_ok());
    EXPECT_TRUE(validate(plain(0.0f), 1).is_ok());
}

TEST(SamplingValidate, EveryBadFieldIsNamed) {
    struct Case {
        const char* field;
        std::function<void(SamplingParams&)> set;
    };
    const std::vector<Case> cases = {
        {"temperature", [](SamplingParams& p) { p.temperature = kNaN; }},
        {"temperature", [](SamplingParams& p) { p.temperature = -0.1f; }},
        {"temperature", [](SamplingParams& p) { p.temperature = 101.0f; }},
        {"temperature", [](SamplingParams& p) { p.temperature = kInf; }},
        {"top_k", [](SamplingParams& p) { p.top_k = -1; }},
        {"top_p", [](SamplingParams& p) { p.top_p = 0.0f; }},
        {"top_p", [](SamplingParams& p) { p.top_p = 1.5f; }},
        {"top_p", [](SamplingParams& p) { p.top_p = -0.5f; }},
        {"top_p", [](SamplingParams& p) { p.top_p = kNaN; }},
        {"min_p", [](SamplingParams& p) { p.min_p = -0.01f; }},
        {"min_p", [](SamplingParams& p) { p.min_p = 1.01f; }},
        {"min_p", [](SamplingParams& p) { p.min_p = kNaN; }},
        {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = 0.0f; }},
        {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = -1.0f; }},
        {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = kNaN; }},
        {"repeat_penalty", [](SamplingParams& p) { p.repeat_penalty = 1e9f; }},
        {"penalty_last_n", [](SamplingParams& p) { p.penalty_last_n = -1; }},
        {"penalty_last_n", [](SamplingParams& p) { p.penalty_last_n = kMaxPenaltyLastN + 1; }},
        {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = kNaN; }},
        {"presence_penalty", [](SamplingParams& p) { p.presence_penalty = 1e6f; }},
        {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = -kInf; }},
        {"frequency_penalty", [](SamplingParams& p) { p.frequency_penalty = -101.0f; }},
        {"top_logprobs", [](SamplingParams& p) { p.top_logprobs = -1; }},
        {"top_logprobs", [](SamplingParams& p) { p.top_logprobs = kMaxLogprobs + 1; }},
        {"logit_bias",
         [](SamplingParams& p) {
             p.logit_bias = {{-1, 1.0f}};
         }},
        {"logit_bias",
         [](SamplingParams& p) {
             p.logit_bias = {{1, 1.0f}, {100, 1.0f}};
         }},
        {"logit_bias",
         [](SamplingParams& p) {
             p.logit_bias = {{3, kNaN}};
         }},
        {"logit_bias",
         [](SamplingParams& p) {
             p.logit_bias = {{3, kInf}};
         }},
    };
    for (const Case& c : cases) {
        SamplingParams p;
        c.set(p);
        const Status st = validate(p, 100);
        ASSERT_FALSE(st.is_ok()) << c.field;
        EXPECT_NE(st.message().find(c.field), std::string::npos) << st.message();
        EXPECT_EQ(st.code(), Code::BadField) << st.message(); // callers branch on the code and field
        EXPECT_EQ(st.field(), c.field) << st.message();
        const Result<Sampler> s = Sampler::create(p, 100);
        ASSERT_FALSE(s.is_ok()) << c.field;
        EXPECT_EQ(s.message(), st.message());
        EXPECT_EQ(s.status().field(), c.field);
    }
}

TEST(SamplingValidate, EdgesThatAreValid) {
    SamplingParams p;
    p.top_p = 1.0f;
    p.min_p = 1.0f;
    p.top_k = std::numeric_limits<int32_t>::max();
    p.temperature = kMaxTemperature;
    p.penalty_last_n = 0;
    p.logit_bias = {{0, -kInf}, {99, 100.0f}, {0, -1.0f}};
    p.top_logprobs = kMaxLogprobs;
    EXPECT_TRUE(validate(p, 100).is_ok()) << validate(p, 100).message();
}

// Ollama's parameter names, shared by `hearth run`, the engine and the Ollama API.
TEST(SamplingParameterNames, EachNameSetsItsFieldAndOthersAreRefused) {
    SamplingParams s;
    const std::vector<std::pair<std::string_view, double>> values = {
        {"temperature", 0.25},   {"top_k", 7},          {"top_p", 0.5},           {"min_p", 0.125},
        {"repeat_penalty", 1.5}, {"repeat_last_n", 33}, {"presence_penalty", -2}, {"frequency_penalty", 3}};
    ASSERT_EQ(values.size(), std::size(kSamplingParameterNames));
    for (const auto& [name, v] : values)
        EXPECT_TRUE(set_sampling_parameter(s, name, v)) << name;
    EXPECT_EQ(s.temperature, 0.25f);
    EXPECT_EQ(s.top_k, 7);
    EXPECT_EQ(s.top_p, 0.5f);
    EXPECT_EQ(s.min_p, 0.125f);
    EXPECT_EQ(s.repeat_penalty, 1.5f);
    EXPECT_EQ(s.penalty_last_n, 33);
    EXPECT_EQ(s.presence_penalty, -2.0f);
    EXPECT_EQ(s.frequency_penalty, 3.0f);
    const SamplingParams before = s;
    for (std::string_view other : {"seed", "num_ctx", "num_predict", "stop", "TEMPERATURE", ""})
        EXPECT_FALSE(set_sampling_parameter(s, other, 1)) << other;
    EXPECT_EQ(s.top_k, before.top_k);
    EXPECT_TRUE(set_sampling_parameter(s, "repeat_last_n", -1)); // every token
    EXPECT_EQ(s.penalty_last_n, kMaxPenaltyLastN);
    // Out-of-range integers saturate instead of overflowing; validate() then names the field.
    EXPECT_TRUE(set_sampling_parameter(s, "top_k", -1e300));
    EXPECT_EQ(s.top_k, INT32_MIN);
    const Status st = validate(s, 100);
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("top_k"), std::string::npos) << st.message();
}

TEST(SamplingValidate, BadVocabSize) {
    const Status st = validate(SamplingParams{}, 0);
    ASSERT_FALSE(st.is_ok());
    EXPECT_NE(st.message().find("n_vocab"), std::string::npos);
}

// ---------------------------------------------------------------------------------------------- greedy

TEST(SamplingGreedy, ArgmaxTiesAndNaN) {
    EXPECT_EQ(argmax(std::vector<float>{1, 3, 2}), 1);
    EXPECT_EQ(argmax(std::vector<float>{5, 1, 5}), 0);
    EXPECT_EQ(argmax(std::vector<float>{kNaN, 1, 2}), 2);
    EXPECT_EQ(argmax(std::vector<float>{kNaN, kNaN}), 0);
    EXPECT_EQ(argmax(std::vector<float>{-kInf, -kInf, -1e30f}), 2);
}

TEST(SamplingGreedy, TemperatureZeroIsArgmax) {
    Sampler s = make(plain(0.0f), 6);
    for (int i = 0; i < 20; ++i) {
        std::vector<float> row = {0.5f, 2.0f, 7.0f, 7.0f, -3.0f, 1.0f};
        EXPECT_EQ(s.sample(row), 2); // tie between 2 and 3: lowest id
    }
}

TEST(SamplingGreedy, TopKOneIsGreedyAtAnyTemperature) {
    const std::vector<float> logits = {0.1f, 0.3f, 0.2f, 0.29f, 0.0f};
    for (float t : {0.5f, 1.0f, 5.0f, 100.0f}) {
        SamplingParams p = plain(t, 7);
        p.top_k = 1;
        Sampler s = make(p, 5);
        const std::vector<int> counts = histogram(s, logits, 500);
        EXPECT_EQ(counts[1], 500) << "temperature " << t;
    }
}

// ---------------------------------------------------------------------------------------------- determinism

std::vector<int32_t> sequence(const SamplingParams& p, const std::vector<float>& logits, int n) {
    Sampler s = make(p, static_cast<int32_t>(logits.size()));
    std::vector<int32_t> out;
    std::vector<float> row;
    for (int i = 0; i < n; ++i) {
        row = logits;
        out.push_back(s.sample(row));
    }
    return out;
}

std::vector<float> ramp(int n) {
    std::vector<float> l;
    for (int i = 0; i < n; ++i)
        l.push_back(0.05f * static_cast<float>((i * 37) % n));
    return l;
}

TEST(SamplingDeterminism, SameSeedSameTokens) {
    SamplingParams p; // defaults: top-k, top-p and min-p all on
    p.temperature = 1.5f;
    p.seed = 1234;
    const std::vector<float> logits = ramp(64);
    EXPECT_EQ(sequence(p, logits, 500), sequence(p, logits, 500));
    const std::vector<int32_t> a = sequence(p, logits, 500);
    p.seed = 1235;
    const std::vector<int32_t> b = sequence(p, logits, 500);
    int same = 0;
    for (size_t i = 0; i < a.size(); ++i)
        same += a[i] == b[i];
    EXPECT_LT(same, 100) << "different seeds should give mostly different tokens";
    EXPECT_GT(std::set<int32_t>(a.begin(), a.end()).size(), 10u);
}

TEST(SamplingDeterminism, ResetRestartsTheStream) {
    const std::vector<float> logits = ramp(32);
    Sampler s = make(plain(1.0f, 99), 32);
    std::vector<int32_t> first, second;
    std::vector<float> row;
    for (int i = 0; i < 100; ++i)
        first.push_back(s.sample(row = logits));
    s.reset();
    for (int i = 0; i < 100; ++i)
        second.push_back(s.sample(row = logits));
    EXPECT_EQ(first, second);
}

// Pins the exact stream: a change here means a seed no longer reproduces earlier outputs, on any platform.
TEST(SamplingDeterminism, GoldenSequence) {
    SamplingParams p = plain(1.0f, 42);
    const std::vector<int32_t> got = sequence(p, ramp(16), 16);
    const std::vector<int32_t> want = {1, 6, 10, 14, 15, 12, 11, 13, 12, 9, 10, 4, 12, 5, 11, 14};
    EXPECT_EQ(got, want);
}

TEST(SamplingDeterminism, RngIsXoshiro256StarStarFromSplitmix64) {
    uint64_t sm = 0;
    EXPECT_EQ(splitmix64_next(sm), 0xe220a8397b1dcdafull); // splitmix64 reference, seed 0
    Rng r(5);
    for (int i = 0; i < 1000; ++i) {
        const double u = r.next_unit();
        ASSERT_GE(u, 0.0);
        ASSERT_LT(u, 1.0);
    }
}

// ---------------------------------------------------------------------------------------------- distribution

TEST(SamplingDistribution, FrequenciesMatchSoftmax) {
    const std::vector<float> logits = {1.0f, 2.0f, 0.5f, -1.0f, 3.0f, 0.0f};
    constexpr int kDraws = 20000;
    constexpr double kChi2Df5P001 = 20.52; // chi-square, 5 degrees of freedom, p = 0.001
    for (float t : {1.0f, 0.7f, 2.0f}) {
        Sampler s = make(plain(t, 2024), 6);
        const std::vector<int> counts = histogram(s, logits, kDraws);
        const std::vector<double> probs = softmax(logits, t);
        EXPECT_LT(chi_square(counts, probs, kDraws), kChi2Df5P001) << "temperature " << t;
    }
}

// probabilities 0.5, 0.25, 0.15, 0.1 at shuffled ids, so sorting matters: id 2 is the most likely.
const std::vector<double> kProbs = {0.1, 0.25, 0.5, 0.15};

TEST(SamplingTruncation, TopKKeepsExactlyK) {
    SamplingParams p = plain(1.0f, 3);
    p.top_k = 2;
    Sampler s = make(p, 4);
    const std::vector<int> counts = histogram(s, log_probs(kProbs), 20000);
    EXPECT_EQ(sampled_set(counts), (std::set<int32_t>{1, 2}));
    // the two kept tokens renormalized: 1/3 and 2/3; chi-square with 1 degree of freedom, p = 0.001
    EXPECT_LT(chi_square({counts[1], counts[2]}, {1.0 / 3, 2.0 / 3}, 20000), 10.83);
}

TEST(SamplingTruncation, TopPKeepsTheNucleus) {
    struct Case {
        float top_p;
        std::set<int32_t> want;
    };
    for (const Case& c : {Case{0.3f, {2}}, Case{0.7f, {2, 1}}, Case{0.8f, {2, 1, 3}}, Case{0.95f, {0, 1, 2, 3}}}) {
        SamplingParams p = plain(1.0f, 4);
        p.top_p = c.top_p;
        Sampler s = make(p, 4);
        EXPECT_EQ(sampled_set(histogram(s, log_probs(kProbs), 10000)), c.want) << "top_p " << c.top_p;
    }
}

TEST(SamplingTruncation, MinPKeepsTokensNearTheTop) {
    struct Case {
        float min_p;
        std::set<int32_t> want;
    };
    // thresholds relative to p_max = 0.5: 0.25 -> p >= 0.125; 0.4 -> p >= 0.2; 0.6 -> p >= 0.3
    for (const Case& c : {Case{0.25f, {1, 2, 3}}, Case{0.4f, {1, 2}}, Case{0.6f, {2}}, Case{0.1f, {0, 1, 2, 3}}}) {
        SamplingParams p = plain(1.0f, 5);
        p.min_p = c.min_p;
        Sampler s = make(p, 4);
        EXPECT_EQ(sampled_set(histogram(s, log_probs(kProbs), 10000)), c.want) << "min_p " << c.min_p;
    }
}

TEST(SamplingTruncation, ChainOrder) {
    // top-k 3 renormalizes to 0.556, 0.278, 0.167: top-p 0.8 then stops after two tokens (0.833).
    SamplingParams p = plain(1.0f, 6);
    p.top_k = 3;
    p.top_p = 0.8f;
    Sampler s = make(p, 4);
    EXPECT_EQ(sampled_set(histogram(s, log_probs(kProbs), 10000)), (std::set<int32_t>{1, 2}));

    // top-p 0.95 keeps all four, min-p 0.25 then drops p = 0.1: the shorter prefix wins.
    p = plain(1.0f, 6);
    p.top_p = 0.95f;
    p.min_p = 0.25f;
    Sampler s2 = make(p, 4);
    EXPECT_EQ(sampled_set(histogram(s2, log_probs(kProbs), 10000)), (std::set<int32_t>{1, 2, 3}));

    // Temperature is applied before top-p: at t = 0.5 the probabilities are 0.676, 0.183, 0.108, 0.034
    // (for 0.5, 0.25, 0.15, 0.1 squared and renormalized), so top-p 0.8 keeps two tokens.
    p = plain(0.5f, 6);
    p.top_p = 0.8f;
    Sampler s3 = make(p, 4);
    EXPECT_EQ(sampled_set(histogram(s3, log_probs(kProbs), 10000)), (std::set<int32_t>{1, 2}));
}

// A Gemma-sized vocabulary: the nucleus the sampler draws from equals one computed by a full sort.
TEST(SamplingTruncation, LargeVocabMatchesFullSortReference) {
    constexpr int32_t kVocab = 262144;
    std::vector<float> logits(kVocab);
    Rng r(77);
    for (float& l : logits)
        l = static_cast<float>(r.next_unit() * 12.0); // wide, so the nucleus is big

    for (float top_p : {0.5f, 0.9f}) {
        SamplingParams p = plain(1.0f, 8);
        p.top_p = top_p;
        // reference: sort all, walk the normalized cumulative sum
        std::vector<int32_t> ids(kVocab);
        for (int32_t i = 0; i < kVocab; ++i)
            ids[static_cast<size_t>(i)] = i;
        std::sort(ids.begin(), ids.end(), [&](int32_t a, int32_t b) { return logits[a] > logits[b]; });
        const std::vector<double> probs = softmax(logits, 1.0);
        std::set<int32_t> nucleus;
        double cum = 0;
        for (int32_t id : ids) {
            nucleus.insert(id);
            cum += probs[static_cast<size_t>(id)];
            if (cum >= top_p) break;
        }
        ASSERT_GT(nucleus.size(), 1000u);
        Sampler s = make(p, kVocab);
        const std::vector<int> counts = histogram(s, logits, 500);
        for (int32_t id : sampled_set(counts))
            ASSERT_TRUE(nucleus.count(id)) << "token " << id << " top_p " << top_p;
        // The rarest token inside the nucleus is only slightly rarer than the common ones, so a draw near
        // the edge must show up: the boundary region (last 10%) of the reference is reached.
        int edge_hits = 0;
        for (size_t k = nucleus.size() * 9 / 10; k < nucleus.size(); ++k)
            edge_hits += counts[ids[k]];
        EXPECT_GT(edge_hits, 0);
    }
}

// Equal logits are ordered by id, so top-p over 3,000 tied tokens keeps exactly ids [0, 1500): the cut falls
// inside one histogram bucket of the long-list path, and the tie-break decides it.
TEST(SamplingTruncation, TopPCutsTiesByLowerId) {
    std::vector<float> logits(5000, -50.0f);
    std::fill(logits.begin(), logits.begin() + 3000, 0.0f);
    SamplingParams p = plain(1.0f, 9);
    p.top_p = 0.5f;
    Sampler s = make(p, 5000);
    const std::set<int32_t> got = sampled_set(histogram(s, logits, 8000));
    EXPECT_EQ(*got.begin(), 0);
    EXPECT_EQ(*got.rbegin(), 1499);
    EXPECT_GT(got.size(), 1450u);
}

// ---------------------------------------------------------------------------------------------- penalties

TEST(SamplingPenalties, ExactValues) {
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 2.0f;
    p.frequency_penalty = 0.5f;
    p.presence_penalty = 0.25f;
    p.penalty_last_n = 64;
    Sampler s = make(p, 5);
    s.accept(std::vector<int32_t>{0, 1, 0, 4});
    std::vector<float> row = {2.0f, -2.0f, 1.0f, 0.5f, 0.0f};
    s.sample(row);
    EXPECT_FLOAT_EQ(row[0], 2.0f / 2.0f - (2 * 0.5f + 0.25f));  // positive: divided; seen twice
    EXPECT_FLOAT_EQ(row[1], -2.0f * 2.0f - (1 * 0.5f + 0.25f)); // negative: multiplied; seen once
    EXPECT_FLOAT_EQ(row[2], 1.0f);                              // not seen
    EXPECT_FLOAT_EQ(row[3], 0.5f);
    EXPECT_FLOAT_EQ(row[4], 0.0f * 2.0f - 0.75f); // zero counts as non-positive, as in llama.cpp
}

TEST(SamplingPenalties, WindowForgetsOldTokens) {
    SamplingParams p = plain(0.0f);
    p.frequency_penalty = 1.0f;
    p.penalty_last_n = 3;
    Sampler s = make(p, 4);
    s.accept(std::vector<int32_t>{0, 0, 1, 2, 0}); // window is now 1, 2, 0
    std::vector<float> row = {10.0f, 10.0f, 10.0f, 10.0f};
    s.sample(row);
    EXPECT_EQ(row, (std::vector<float>{9.0f, 9.0f, 9.0f, 10.0f}));

    s.reset();
    row = {10.0f, 10.0f, 10.0f, 10.0f};
    s.sample(row);
    EXPECT_EQ(row, (std::vector<float>{10.0f, 10.0f, 10.0f, 10.0f}));
}

TEST(SamplingPenalties, RepeatPenaltySteersGreedy) {
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 1.5f;
    Sampler s = make(p, 3);
    std::vector<float> row = {3.0f, 2.5f, 1.0f};
    EXPECT_EQ(s.sample(row), 0);
    s.accept(0);
    row = {3.0f, 2.5f, 1.0f};
    EXPECT_EQ(s.sample(row), 1); // 3 / 1.5 = 2 < 2.5
}

TEST(SamplingPenalties, OffWhenLastNIsZero) {
    SamplingParams p = plain(0.0f);
    p.repeat_penalty = 3.0f;
    p.presence_penalty = 1.0f;
    p.penalty_last_n = 0;
    Sampler s = make(p, 2);
    s.accept(0);
    std::vector<float> row = {1.0f, 0.5f};
    s.sample(row);
    EXPECT_EQ(row, (std::vector<float>{1.0f, 0.5f}));
}

// ---------------------------------------------------------------------------------------------- logit bias

TEST(SamplingLogitBias, AddsAndBans) {
    SamplingParams p = plain(0.0f);
    p.logit_bias = {{2, -kInf}, {1, 0.75f}, {1, 0.25f}};
    Sampler s = make(p, 4);
    std::vector<float> row = {1.0f, 1.0f, 9.0f, 0.0f};
    EXPECT_EQ(s.sample(row), 1);
    EXPECT_EQ(row[1], 2.0f);
    EXPECT_EQ(row[2], -kInf);

    SamplingParams q = plain(1.0f, 11);
    q.logit_bias = {{2, -kInf}};
    Sampler t = make(q, 4);
    const std::vector<int> counts = histogram(t, {1.0f, 1.0f, 9.0f, 0.0f}, 5000);
    EXPECT_EQ(counts[2], 0);
    EXPECT_GT(counts[0], 0);
    EXPECT_GT(counts[3], 0);
}

// ---------------------------------------------------------------------------------------------- bad logits

TEST(SamplingBadLogits, NaNIsNeverSampledAndInfWins) {
    Sampler g = make(plain(0.0f), 4);
    std::vector<float> row = {kNaN, 1.0f, kInf, 0.0f};
    EXPECT_EQ(g.sample(row), 2);
    EXPECT_FALSE(g.degenerate());

    SamplingParams p;
    p.temperature = 1.0f;
    Sampler s = make(p, 4);
    EXPECT_EQ(histogram(s, {kNaN, 1.0f, kInf, 0.0f}, 1000)[2], 1000);
    const std::vector<int> counts = histogram(s, {kNaN, 1.0f, kNaN, 0.5f}, 5000);
    EXPECT_EQ(counts[0], 0);
    EXPECT_EQ(counts[2], 0);
    EXPECT_GT(counts[1], 0);
    EXPECT_GT(counts[3], 0);
}

TEST(SamplingBadLogits, NothingLeftIsDegenerate) {
    SamplingParams p;
    p.logprobs = true;
    p.top_logprobs = 3;
    Sampler s = make(p, 3);
    std::vector<float> row = {kNaN, kNaN, -kInf};
    EXPECT_EQ(s.sample(row), 0);
    EXPECT_TRUE(s.degenerate());
    EXPECT_TRUE(s.top_logprobs().empty());
    row = {0.0f, 1.0f, 2.0f};
    s.sample(row);
    EXPECT_FALSE(s.degenerate());

    SamplingParams q = plain(0.0f);
    q.logit_bias = {{0, -kInf}, {1, -kInf}};
    Sampler t = make(q, 2);
    row = {1.0f, 2.0f};
    EXPECT_EQ(t.sample(row), 0);
    EXPECT_TRUE(t.degenerate());
}

// ---------------------------------------------------------------------------------------------- logprobs

TEST(SamplingLogprobs, LogSoftmaxAfterBiasAtTemperatureOne) {
    SamplingParams p = plain(0.0f);
    p.logprobs = true;
    p.top_logprobs = 3;
    p.logit_bias = {{4, -kInf}};
    Sampler s = make(p, 5);
    std::vector<float> row = {1.0f, 3.0f, 1.0f, 0.0f, 9.0f};
    EXPECT_EQ(s.sample(row), 1);
    const std::vector<double> probs = softmax({1.0f, 3.0f, 1.0f, 0.0f}, 1.0);
    EXPECT_NEAR(s.sampled_logprob(), std::log(probs[1]), 1e-5);
    const auto top = s.top_logprobs();
    ASSERT_EQ(top.size(), 3u);
    EXPECT_EQ(top[0].token, 1);
    EXPECT_EQ(top[1].token, 0); // tie with token 2: lower id first
    EXPECT_EQ(top[2].token, 2);
    EXPECT_NEAR(top[1].logprob, std::log(probs[0]), 1e-5);
}

TEST(SamplingLogprobs, OffByDefault) {
    Sampler s = make(SamplingParams{}, 3);
    std::vector<float> row = {1.0f, 2.0f, 3.0f};
    s.sample(row);
    EXPECT_TRUE(s.top_logprobs().empty());
}

} // namespace
} // namespace hearth
