// Sessions: independence, cancellation, the streaming generate loop, seeded determinism.
#include "hearth/engine.h"
#include "model_paths.h"
#include "runtime/generate.h"

#include <filesystem>
#include <gtest/gtest.h>

namespace hearth {
namespace {

std::unique_ptr<Engine> load_smol() {
    const std::string path = test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    EXPECT_TRUE(std::filesystem::exists(path)) << test::missing_model_message(path);
    auto e = Engine::load(path, EngineOptions{2});
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
    EXPECT_EQ(st->stop, StopReason::Length);
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
    EXPECT_EQ(st->stop, StopReason::StopToken);
    EXPECT_EQ(until_stop, std::vector<int32_t>(out.begin(), out.begin() + 3));

    // The callback can stop it.
    int n = 0;
    st = run(greedy, {16, {}}, [&](int32_t) { return ++n < 5; });
    ASSERT_TRUE(st);
    EXPECT_EQ(st->stop, StopReason::Callback);
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
    auto e = Engine::load(path, EngineOptions{1});
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
