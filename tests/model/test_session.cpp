// Sessions: independence, cancellation, the streaming generate loop, seeded determinism.
#include "hearth/runtime.h"
#include "model_paths.h"
#include "runtime/generate.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace hearth {
namespace {

std::unique_ptr<Runtime> load_smol() {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    EXPECT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    auto e = Runtime::load(path, RuntimeOptions{2});
    EXPECT_TRUE(e) << e.message();
    return e ? std::move(*e) : nullptr;
}

std::vector<float> logits_of(Session& s) {
    return {s.logits().begin(), s.logits().end()};
}

TEST(Session, InterleavedSessionsAreIndependent) {
    auto e = load_smol();
    ASSERT_TRUE(e);
    const std::vector<int32_t> a = {1780, 314, 260, 3575, 282, 4649, 47};
    const std::vector<int32_t> b = {504, 3458, 282, 17, 90, 5};
    auto solo = e->create_session({128, 4});
    ASSERT_TRUE(solo);
    ASSERT_TRUE((*solo)->feed(a).is_ok());
    const auto ref_a = logits_of(**solo);
    (*solo)->reset();
    ASSERT_TRUE((*solo)->feed(b).is_ok());
    const auto ref_b = logits_of(**solo);

    auto s1 = e->create_session({128, 4});
    auto s2 = e->create_session({128, 4});
    ASSERT_TRUE(s1 && s2);
    // Feed token by token, alternating between the two sessions.
    for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
        if (i < a.size()) {
            ASSERT_TRUE((*s1)->feed(std::span(&a[i], 1)).is_ok());
        }
        if (i < b.size()) {
            ASSERT_TRUE((*s2)->feed(std::span(&b[i], 1)).is_ok());
        }
    }
    // Batch size and interleaving do not change the result beyond float rounding of the same math.
    const auto got_a = logits_of(**s1), got_b = logits_of(**s2);
    ASSERT_EQ(got_a.size(), ref_a.size());
    for (size_t i = 0; i < ref_a.size(); ++i) {
        ASSERT_NEAR(got_a[i], ref_a[i], 1e-3f) << i;
        ASSERT_NEAR(got_b[i], ref_b[i], 1e-3f) << i;
    }
    EXPECT_EQ((*s1)->n_past(), int32_t(a.size()));
    EXPECT_EQ((*s2)->n_past(), int32_t(b.size()));
}

std::vector<int32_t> pseudo_tokens(size_t n, uint32_t seed, int32_t n_vocab) {
    std::vector<int32_t> t(n);
    uint32_t x = seed;
    for (auto& v : t) {
        x = x * 1664525u + 1013904223u;
        v = int32_t((x >> 8) % uint32_t(n_vocab));
    }
    return t;
}

// Continuous batching: sessions fed together (prompts of different lengths, one longer than a pass, then
// decode steps of one token each) end with exactly the logits they get when fed alone.
TEST(FeedBatch, EverySessionGetsExactlyWhatItGetsAlone) {
    auto e = load_smol();
    ASSERT_TRUE(e);
    EXPECT_EQ(e->scratch_bytes(), 0u); // made at the first pass
    const int32_t n_vocab = e->info().n_vocab;
    const std::vector<std::vector<int32_t>> prompts = {pseudo_tokens(7, 1, n_vocab), pseudo_tokens(1, 2, n_vocab),
                                                       pseudo_tokens(size_t(Runtime::kBatchTokens) + 90, 3, n_vocab),
                                                       pseudo_tokens(33, 4, n_vocab)};
    const std::vector<int32_t> ctx = {128, 64, 1024, 256};
    constexpr int kSteps = 5;
    auto step_token = [&](size_t i, int k) { return int32_t((1000 + 37 * i + 11 * size_t(k)) % size_t(n_vocab)); };

    // Alone: one session at a time, prompt in chunks of 16, then one token per step.
    std::vector<std::vector<std::vector<float>>> want(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
        auto s = e->create_session({ctx[i], 16});
        ASSERT_TRUE(s) << s.message();
        ASSERT_TRUE((*s)->feed(prompts[i]).is_ok());
        want[i].push_back(logits_of(**s));
        for (int k = 0; k < kSteps; ++k) {
            const int32_t t = step_token(i, k);
            ASSERT_TRUE((*s)->feed(std::span(&t, 1)).is_ok());
            want[i].push_back(logits_of(**s));
        }
    }
    // Together. The sessions alone shared one scratch of 16 tokens, one logits row.
    const uint64_t alone_scratch = e->scratch_bytes();
    EXPECT_GT(alone_scratch, 0u);
    EXPECT_LT(alone_scratch, uint64_t(2) * uint64_t(n_vocab) * 4 + (uint64_t(16) << 20));
    std::vector<std::unique_ptr<Session>> ss;
    std::vector<BatchItem> items;
    for (size_t i = 0; i < prompts.size(); ++i) {
        auto s = e->create_session({ctx[i], 16});
        ASSERT_TRUE(s) << s.message();
        ss.push_back(std::move(*s));
        items.push_back({ss.back().get(), prompts[i]});
    }
    ASSERT_TRUE(e->feed_batch(items).is_ok());
    // The scratch holds a logits row per session and attention room for the longest context, and counts them.
    EXPECT_GE(e->scratch_bytes(), uint64_t(prompts.size()) * uint64_t(n_vocab) * 4 + 1024 * 4);
    for (size_t i = 0; i < ss.size(); ++i) {
        EXPECT_EQ(ss[i]->n_past(), int32_t(prompts[i].size()));
        EXPECT_TRUE(logits_of(*ss[i]) == want[i][0]) << "prompt of session " << i;
    }
    for (int k = 0; k < kSteps; ++k) {
        std::vector<int32_t> toks(ss.size());
        items.clear();
        // Session 1 sits out step 2: members join and leave between steps.
        for (size_t i = 0; i < ss.size(); ++i) {
            toks[i] = step_token(i, k);
            items.push_back({ss[i].get(), std::span(&toks[i], 1)});
        }
        if (k == 2) items.erase(items.begin() + 1);
        ASSERT_TRUE(e->feed_batch(items).is_ok());
        if (k == 2) {
            ASSERT_TRUE(ss[1]->feed(std::span(&toks[1], 1)).is_ok());
        }
        for (size_t i = 0; i < ss.size(); ++i)
            EXPECT_TRUE(logits_of(*ss[i]) == want[i][size_t(k) + 1]) << "session " << i << " step " << k;
    }
}

TEST(FeedBatch, ABadItemIsNamedAndNothingChanges) {
    auto e = load_smol();
    ASSERT_TRUE(e);
    auto a = e->create_session({64, 16});
    auto b = e->create_session({64, 16});
    ASSERT_TRUE(a && b);
    const std::vector<int32_t> p = {1780, 314, 260};
    ASSERT_TRUE((*a)->feed(p).is_ok());
    ASSERT_TRUE((*b)->feed(p).is_ok());
    const auto la = logits_of(**a), lb = logits_of(**b);
    const std::vector<int32_t> good = {504, 3458};
    const std::vector<int32_t> bad_token = {504, e->info().n_vocab};
    const std::vector<int32_t> too_long(62, 5);
    auto other = load_smol();
    ASSERT_TRUE(other);
    auto foreign = other->create_session({64, 16});
    ASSERT_TRUE(foreign);
    struct Case {
        std::vector<BatchItem> items;
        std::string message;
    };
    const std::vector<Case> cases = {
        {{{a->get(), good}, {b->get(), bad_token}}, "batch item 1: token 49152 at index 1 is outside the vocabulary"},
        {{{a->get(), good}, {b->get(), too_long}}, "batch item 1: context full: 3 + 62 tokens > context size 64"},
        {{{a->get(), good}, {a->get(), good}}, "batch item 1: the session is also item 0"},
        {{{a->get(), {}}, {b->get(), good}}, "batch item 0: no tokens"},
        {{{a->get(), good}, {foreign->get(), good}}, "batch item 1: the session was not created by this engine"},
        {{{nullptr, good}}, "batch item 0: the session was not created by this engine"},
    };
    for (const Case& c : cases) {
        const Status st = e->feed_batch(c.items);
        ASSERT_FALSE(st.is_ok()) << c.message;
        EXPECT_NE(st.message().find(c.message), std::string::npos) << st.message();
        EXPECT_EQ((*a)->n_past(), 3);
        EXPECT_EQ((*b)->n_past(), 3);
        EXPECT_TRUE(logits_of(**a) == la);
        EXPECT_TRUE(logits_of(**b) == lb);
    }
    EXPECT_TRUE(e->feed_batch({}).is_ok());
}

TEST(Session, CancelStopsFeedAndTheSessionStaysUsable) {
    auto e = load_smol();
    ASSERT_TRUE(e);
    auto s = e->create_session({64, 8});
    ASSERT_TRUE(s);
    const std::vector<int32_t> toks = {1, 2, 3, 4};
    (*s)->cancel();
    Status st = (*s)->feed(toks);
    ASSERT_FALSE(st.is_ok());
    EXPECT_EQ(st.message(), "cancelled");
    EXPECT_EQ((*s)->n_past(), 0);
    EXPECT_TRUE((*s)->feed(toks).is_ok()); // the cancel request was consumed
    EXPECT_EQ((*s)->n_past(), 4);
}

TEST(Generate, StreamsStopsAndIsSeeded) {
    auto e = load_smol();
    ASSERT_TRUE(e);
    auto s = e->create_session({256, 64});
    ASSERT_TRUE(s);
    const std::vector<int32_t> prompt = {1780, 314, 260, 3575, 282, 4649, 47};
    auto run = [&](SamplingParams sp, GenerateOptions go, std::function<bool(int32_t)> cb) {
        (*s)->reset();
        auto sampler = Sampler::create(sp, e->info().n_vocab);
        EXPECT_TRUE(sampler) << sampler.message();
        return generate(**s, prompt, *sampler, go, std::move(cb));
    };
    SamplingParams greedy;
    greedy.temperature = 0;
    std::vector<int32_t> out;
    auto st = run(greedy, {16, {}}, [&](int32_t t) {
        out.push_back(t);
        return true;
    });
    ASSERT_TRUE(st) << st.message();
    EXPECT_EQ(st->n_generated, 16);
    EXPECT_EQ(st->stop, Finish::Length);
    EXPECT_EQ(out.size(), 16u);
    EXPECT_EQ((*s)->n_past(), int32_t(prompt.size()) + 15); // the last token is not fed
    // llama.cpp's greedy continuation of this prompt starts 2 198 1 520 (tests/data/logits/smollm2-135m.json).
    EXPECT_EQ(std::vector<int32_t>(out.begin(), out.begin() + 4), (std::vector<int32_t>{2, 198, 1, 520}));

    // A stop token ends generation right after it is emitted.
    std::vector<int32_t> until_stop;
    st = run(greedy, {16, {out[2]}}, [&](int32_t t) {
        until_stop.push_back(t);
        return true;
    });
    ASSERT_TRUE(st);
    EXPECT_EQ(st->stop, Finish::Stop);
    EXPECT_EQ(until_stop, std::vector<int32_t>(out.begin(), out.begin() + 3));

    // The callback can stop it.
    int n = 0;
    st = run(greedy, {16, {}}, [&](int32_t) { return ++n < 5; });
    ASSERT_TRUE(st);
    EXPECT_EQ(st->stop, Finish::Cancelled);
    EXPECT_EQ(st->n_generated, 5);

    // Same seed, same tokens; another seed, (almost surely) other tokens.
    SamplingParams hot;
    hot.temperature = 1.0f;
    hot.top_k = 0;
    hot.top_p = 1.0f;
    hot.min_p = 0.0f;
    auto sample = [&](uint64_t seed) {
        hot.seed = seed;
        std::vector<int32_t> v;
        auto r = run(hot, {32, {}}, [&](int32_t t) {
            v.push_back(t);
            return true;
        });
        EXPECT_TRUE(r);
        return v;
    };
    const auto s1 = sample(7), s2 = sample(7), s3 = sample(8);
    EXPECT_EQ(s1, s2);
    EXPECT_NE(s1, s3);

    // Errors: empty prompt, context overflow.
    std::vector<int32_t> none;
    auto sampler = Sampler::create(greedy, e->info().n_vocab);
    ASSERT_TRUE(sampler);
    EXPECT_FALSE(generate(**s, none, *sampler, {4, {}}, [](int32_t) { return true; }));
    (*s)->reset();
    std::vector<int32_t> huge(300, 5);
    auto over = generate(**s, huge, *sampler, {4, {}}, [](int32_t) { return true; });
    ASSERT_FALSE(over);
    EXPECT_NE(over.message().find("context full"), std::string::npos);
}

TEST(Memory, CheckSaysWhatIsNeededWhatIsAvailableAndWhatToTry) {
    MemoryEstimate m;
    m.n_ctx = 8192;
    m.weight_bytes = 3000ull << 20;
    m.session_bytes = 1000ull << 20;
    m.available = 8000ull << 20;
    EXPECT_TRUE(check_memory(m).is_ok());
    m.available = 3500ull << 20;
    const Status s = check_memory(m);
    ASSERT_FALSE(s.is_ok());
    for (const char* part : {"4000 MiB", "weights 3000 MiB", "1000 MiB", "8192 tokens", "only 3500 MiB", "--ctx-size"})
        EXPECT_NE(s.message().find(part), std::string::npos) << part << " in: " << s.message();
    m.available = 0; // unknown: no refusal
    EXPECT_TRUE(check_memory(m).is_ok());
}

TEST(Memory, EstimateGrowsWithTheContextAndCountsTheWeights) {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    auto e = Runtime::load(path, RuntimeOptions{1});
    ASSERT_TRUE(e.is_ok()) << e.message() << "\n" << test::missing_model_message(path);
    auto small = (*e)->estimate_memory(SessionOptions{512, 64});
    auto large = (*e)->estimate_memory(SessionOptions{8192, 64});
    ASSERT_TRUE(small.is_ok() && large.is_ok());
    EXPECT_EQ(small->weight_bytes, (*e)->info().weight_bytes);
    EXPECT_GT(small->weight_bytes, 50u << 20);
    // f16 K and V: 2 * n_layer * n_ctx * n_embd_kv * 2 bytes at least; 30 layers, 3 KV heads of 64.
    EXPECT_GE(large->session_bytes - small->session_bytes, uint64_t(2 * 30 * (8192 - 512) * 192 * 2));
    EXPECT_GT(large->available, 0u); // /proc/meminfo is readable here
    // A context the model cannot take is an error, not an estimate.
    EXPECT_FALSE((*e)->estimate_memory(SessionOptions{1 << 20, 64}).is_ok());
}

} // namespace
} // namespace hearth
