// A model split across backends (partial offload, model.h Stage / LayerSplit) computes what it computes whole: with
// CPU backends of one kernel table on both sides, bit for bit, for every tiny decoder architecture (RoPE factors,
// q/k norms, fused projections, biases, sliding windows), through prefill, decode and a batch of two sequences, split
// after the first layer, in the middle and before the last. The CUDA backend takes the second part the same way
// (Runtime: --gpu-layers).
#include "backend/cpu_backend.h"
#include "base/cpu_features.h"
#include "model/model.h"
#include "tiny_decoders.h"

#include <gtest/gtest.h>
#include <random>
#include <string>
#include <vector>

namespace hearth {
namespace {

std::vector<int32_t> random_tokens(size_t n, int32_t n_vocab, uint32_t seed) {
    std::mt19937 rng(seed);
    std::vector<int32_t> t(n);
    for (auto& x : t)
        x = int32_t(rng() % uint32_t(n_vocab));
    return t;
}

class Split : public ::testing::TestWithParam<const char*> {};

TEST_P(Split, TwoBackendsGiveTheUnsplitLogitsBitForBit) {
    const std::string path = tiny_decoder(GetParam());
    auto whole = load_model(path);
    ASSERT_TRUE(whole) << whole.message();
    const Model& mw = **whole;
    const int32_t n_layer = mw.cfg.n_layer, n_ctx = 64, n_batch = 16;
    ASSERT_GE(n_layer, 2);
    const cpu::KernelTable kt = cpu::make_kernel_table(detect_cpu_features());
    auto bw = make_cpu_backend(kt, 2);
    prepare_weights((*whole)->w, *bw);
    const std::vector<int32_t> toks = random_tokens(24, mw.cfg.n_vocab, 5);

    for (int32_t k : {1, n_layer / 2, n_layer - 1}) {
        SCOPED_TRACE("split at layer " + std::to_string(k));
        auto parted = load_model(path);
        ASSERT_TRUE(parted) << parted.message();
        const Model& mp = **parted;
        auto b0 = make_cpu_backend(kt, 1), b1 = make_cpu_backend(kt, 2);
        prepare_weights((*parted)->w, *b0, 0, k, true, false);
        prepare_weights((*parted)->w, *b1, k, n_layer, false, true);
        const LayerSplit splits[] = {{b0.get(), 0, k}, {b1.get(), k, n_layer}};
        PassScratch w0 = make_pass_scratch(mp, *b0, n_ctx, n_batch, 2),
                    w1 = make_pass_scratch(mp, *b1, n_ctx, n_batch, 2);
        const Stage stages[] = {{ComputeCtx{b0.get(), nullptr, 0, k}, &w0},
                                {ComputeCtx{b1.get(), nullptr, k, n_layer}, &w1}};
        std::vector<float> handover(size_t(n_batch) * size_t(mp.cfg.n_embd));
        PassScratch ww = make_pass_scratch(mw, *bw, n_ctx, n_batch, 2);

        // Two sequences: a prefill of 10 and one of 6 in one batch, then 4 decode steps of both together.
        SeqState wa = make_seq_state(mw, *bw, n_ctx), wb = make_seq_state(mw, *bw, n_ctx);
        SeqState pa = make_seq_state(mp, splits, n_ctx), pb = make_seq_state(mp, splits, n_ctx);
        int32_t past_a = 0, past_b = 0;
        for (int step = 0; step < 5; ++step) {
            const int32_t na = step == 0 ? 10 : 1, nb = step == 0 ? 6 : 1;
            std::vector<int32_t> batch(toks.begin() + past_a, toks.begin() + past_a + na);
            batch.insert(batch.end(), toks.begin() + past_b, toks.begin() + past_b + nb);
            const SeqSpan sw[] = {{&wa, na, past_a}, {&wb, nb, past_b}};
            const SeqSpan sp[] = {{&pa, na, past_a}, {&pb, nb, past_b}};
            forward_batch(mw, ComputeCtx{bw.get()}, ww, batch.data(), sw);
            forward_batch(mp, stages, handover.data(), batch.data(), sp);
            ASSERT_EQ(pa.logits, wa.logits) << "step " << step << ", sequence a";
            ASSERT_EQ(pb.logits, wb.logits) << "step " << step << ", sequence b";
            past_a += na;
            past_b += nb;
        }
        // The KV cache is split as the layers are.
        ASSERT_EQ(pa.kv.size(), 2u);
        EXPECT_EQ(pa.kv[0].end, k);
        EXPECT_EQ(pa.kv[1].begin, k);
        EXPECT_EQ(allocated_bytes(pa), allocated_bytes(wa));
    }
}

INSTANTIATE_TEST_SUITE_P(Tiny, Split, ::testing::ValuesIn(kTinyDecoders), tiny_decoder_test_name);

} // namespace
} // namespace hearth
