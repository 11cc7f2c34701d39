// x16-packed weights (kernels/cpu/packed.h):
//   - pack_x16 / unpack_x16 round-trip every byte (raw random blocks: every quant bit pattern);
//   - matmul_packed with each table's kernel equals the scalar x16 kernel bit for bit, for 1, 2 and 3 threads, and
//     every token's outputs equal those of the token run alone (batch invariance);
//   - both match the double-precision product of the dequantized weights and dequantized activations within the
//     same 1e-5 relative bound as the row-major kernels (test_matmul.cpp).
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed.h"
#include "kernels/ref/quant.h"
#include "kernels_cpu_util.h"
#include "tensor/quant_blocks.h"

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <memory>
#include <ostream>
#include <string>

namespace hearth::cpu::test {
namespace {

const DType kPackedTypes[] = {DType::Q8_0, DType::Q4_0, DType::Q5_0, DType::Q4_1, DType::Q5_1, DType::IQ4_NL,
                              DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_XS};

TEST(PackX16, RoundTripsEveryByte) {
    for (DType t : kPackedTypes) {
        for (int64_t n_in : is_k_type(t) ? std::vector<int64_t>{256, 512, 2304} : std::vector<int64_t>{32, 96, 2304}) {
            const auto w = make_weights(t, 48, n_in, 3 + uint64_t(n_in), WeightFill::raw_bytes);
            std::vector<uint8_t> packed(packed_bytes(t, 48, n_in)), back(w.size());
            pack_x16(t, w.data(), 48, n_in, packed.data());
            const size_t want = t == DType::Q4_K     ? w.size() / 144 * 148
                                : t == DType::Q5_K   ? w.size() / 176 * 180
                                : t == DType::IQ4_XS ? w.size() / 136 * 138
                                : t == DType::Q3_K   ? w.size() / 110 * 114
                                                     : w.size();
            EXPECT_EQ(packed.size(), want) << dtype_name(t);
            EXPECT_NE(std::memcmp(packed.data(), w.data(), w.size()), 0) << dtype_name(t);
            unpack_x16(t, packed.data(), 48, n_in, back.data());
            ASSERT_EQ(std::memcmp(back.data(), w.data(), w.size()), 0) << dtype_name(t) << " n_in " << n_in;
            const size_t row_bytes = w.size() / 48;
            std::vector<uint8_t> row(row_bytes);
            for (int64_t r = 0; r < 48; ++r) {
                unpack_x16_row(t, packed.data(), n_in, r, row.data());
                ASSERT_EQ(std::memcmp(row.data(), w.data() + size_t(r) * row_bytes, row_bytes), 0)
                    << dtype_name(t) << " row " << r;
            }
        }
    }
}

// Which x16 kernels a CPU gets: AVX2's, AVX-VNNI's over them where the CPU has AVX-VNNI, AVX-512's over both; every
// packed type has one in each table, and HEARTH_CPU=avx2 leaves AVX-VNNI out.
TEST(PackX16, TableChoiceByCpuFeatures) {
    CpuFeatures f;
    f.avx2 = f.fma = f.f16c = true;
    const KernelTable avx2 = make_kernel_table(f);
    f.avxvnni = true;
    const KernelTable vnni = make_kernel_table(f);
    f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = true;
    const KernelTable avx512 = make_kernel_table(f);
    EXPECT_STREQ(avx2.isa, "avx2");
    EXPECT_STREQ(vnni.isa, "avxvnni");
    EXPECT_STREQ(avx512.isa, "avx512");
    for (DType t : kPackedTypes) {
        const auto id = static_cast<uint32_t>(t);
        ASSERT_NE(avx2.traits[id].packed_gemm, nullptr) << dtype_name(t);
        ASSERT_NE(vnni.traits[id].packed_gemm, nullptr) << dtype_name(t);
        ASSERT_NE(avx512.traits[id].packed_gemm, nullptr) << dtype_name(t);
        EXPECT_NE(avx2.traits[id].packed_gemm, vnni.traits[id].packed_gemm) << dtype_name(t);
        EXPECT_NE(vnni.traits[id].packed_gemm, avx512.traits[id].packed_gemm) << dtype_name(t);
        EXPECT_EQ(avx2.traits[id].vec_dot, vnni.traits[id].vec_dot) << dtype_name(t); // row kernels: AVX2's
    }
    EXPECT_EQ(make_scalar_table().traits[static_cast<uint32_t>(DType::Q4_0)].packed_gemm, nullptr);
    // GFNI replaces the AVX-512 kernel of Q5_K (kernels.h's HEARTH_X16_GFNI_TYPES), and no other.
    f.gfni = true;
    const KernelTable gfni = make_kernel_table(f);
    EXPECT_STREQ(gfni.isa, "avx512");
    for (DType t : kPackedTypes) {
        const auto id = static_cast<uint32_t>(t);
        if (t == DType::Q5_K)
            EXPECT_NE(gfni.traits[id].packed_gemm, avx512.traits[id].packed_gemm);
        else
            EXPECT_EQ(gfni.traits[id].packed_gemm, avx512.traits[id].packed_gemm) << dtype_name(t);
    }

    const char* old = std::getenv("HEARTH_CPU");
    const std::string saved = old ? old : "";
    setenv("HEARTH_CPU", "avx2", 1);
    const CpuFeatures capped = detect_cpu_features();
    setenv("HEARTH_CPU", "avxvnni", 1);
    const CpuFeatures capped_vnni = detect_cpu_features();
    unsetenv("HEARTH_CPU");
    const CpuFeatures real = detect_cpu_features();
    if (old) setenv("HEARTH_CPU", saved.c_str(), 1);
    EXPECT_FALSE(capped.avxvnni);
    EXPECT_FALSE(capped.avx512f);
    EXPECT_EQ(capped_vnni.avxvnni, real.avxvnni);
    EXPECT_FALSE(capped_vnni.avx512f);
}

TEST(PackX16, OnlyWhole16RowGroupsOfLegacyBlockTypes) {
    EXPECT_TRUE(packable(DType::Q4_0, 16, 32));
    EXPECT_TRUE(packable(DType::Q8_0, 4096, 1536));
    EXPECT_FALSE(packable(DType::Q4_0, 24, 32)); // not a multiple of 16 rows
    EXPECT_FALSE(packable(DType::Q4_0, 16, 48)); // not whole blocks
    EXPECT_TRUE(packable(DType::Q4_K, 16, 256));
    EXPECT_FALSE(packable(DType::Q4_K, 16, 288)); // not whole super-blocks
    EXPECT_TRUE(packable(DType::Q5_K, 16, 256));
    EXPECT_TRUE(packable(DType::Q3_K, 16, 256));
    EXPECT_TRUE(packable(DType::Q2_K, 16, 512));
    EXPECT_FALSE(packable(DType::Q3_K, 16, 320)); // not whole super-blocks
    EXPECT_FALSE(packable(DType::Q8_K, 16, 256)); // an activation type
    EXPECT_FALSE(packable(DType::F16, 16, 32));
    EXPECT_EQ(packed_gemm_scalar(DType::F16), nullptr);
}

struct PackedCase {
    std::string isa;
    DType type;
    int64_t n_in;
    int64_t n_out;
    int64_t n_tokens;
    WeightFill fill;
};

void PrintTo(const PackedCase& c, std::ostream* os) {
    *os << c.isa << " " << dtype_name(c.type) << " n_in=" << c.n_in << " n_out=" << c.n_out
        << " n_tokens=" << c.n_tokens << fill_name(c.fill);
}

// The tables of this CPU with x16 kernels (AVX-VNNI's too), plus "scalar" (the scalar x16 kernel itself).
std::vector<PackedCase> packed_cases() {
    std::vector<PackedCase> cases;
    std::vector<std::string> isas = {"scalar"};
    std::vector<std::string> simd = available_isas();
    const CpuFeatures f = detect_cpu_features();
    if (f.avx2 && f.fma && f.f16c && f.avxvnni) simd.push_back("avxvnni"); // its own x16 kernels
    if (f.gfni && table_for("avx512").isa == std::string("avx512")) simd.push_back("avx512nogfni");
    for (const auto& isa : simd)
        if (table_for(isa).traits[static_cast<uint32_t>(DType::Q4_0)].packed_gemm != nullptr) isas.push_back(isa);
    for (const auto& isa : isas)
        for (DType t : kPackedTypes) {
            for (int64_t n_in :
                 is_k_type(t) ? std::vector<int64_t>{256, 512, 2304} : std::vector<int64_t>{32, 288, 2304})
                for (int64_t n_out : {16, 48})
                    for (int64_t n_tokens : {1, 2, 3, 4, 8, 13, 17})
                        for (WeightFill fill : {WeightFill::quantized, WeightFill::raw_bytes})
                            cases.push_back({isa, t, n_in, n_out, n_tokens, fill});
            // The widest integer sums (one shape: they do not depend on it), for every token tile.
            for (int64_t n_tokens : {1, 2, 3, 4, 8, 17})
                cases.push_back({isa, t, 2304, 16, n_tokens, WeightFill::saturated});
        }
    return cases;
}

KernelTable packed_table(const std::string& isa, DType t) {
    KernelTable table = table_for(isa);
    if (isa == "scalar") table.traits[static_cast<uint32_t>(t)].packed_gemm = packed_gemm_scalar(t);
    return table;
}

class PackedMatmul : public WithPools<PackedCase> {};

// y_offset: y starts that many floats past a 64-byte boundary (0: the AVX-512 decode kernels write it with
// non-temporal stores, else with plain ones).
std::vector<float> run(const KernelTable& table, ThreadPool& pool, DType t, const std::vector<uint8_t>& packed,
                       int64_t n_out, int64_t n_in, const float* x, int64_t n_tokens, int y_offset = 0) {
    std::vector<PackedAct> scratch(packed_act_bytes(t, n_tokens, n_in) / sizeof(PackedAct) + 1);
    std::vector<float> buf(size_t(n_tokens * n_out) + 32, NAN);
    float* y = buf.data() + (64 - reinterpret_cast<uintptr_t>(buf.data()) % 64) % 64 / sizeof(float) + y_offset;
    matmul_packed(table, pool, t, packed.data(), n_out, n_in, x, n_tokens, y, scratch.data());
    return std::vector<float>(y, y + n_tokens * n_out);
}

TEST_P(PackedMatmul, EqualsScalarKernelIsBatchInvariantAndMatchesOracle) {
    const PackedCase& c = GetParam();
    const auto w = make_weights(c.type, c.n_out, c.n_in, 5 + uint64_t(c.n_out + c.n_in), c.fill);
    const auto x = c.fill == WeightFill::saturated ? saturated_activations(c.n_tokens * c.n_in)
                                                   : make_activations(c.n_tokens * c.n_in, 13 + uint64_t(c.n_tokens));
    std::vector<uint8_t> packed(packed_bytes(c.type, c.n_out, c.n_in));
    pack_x16(c.type, w.data(), c.n_out, c.n_in, packed.data());

    const KernelTable table = packed_table(c.isa, c.type);
    const KernelTable scalar = packed_table("scalar", c.type);
    std::vector<float> y[3];
    for (int p = 0; p < 3; ++p)
        y[p] = run(table, pool(p), c.type, packed, c.n_out, c.n_in, x.data(), c.n_tokens);
    for (int p = 1; p < 3; ++p)
        ASSERT_EQ(std::memcmp(y[0].data(), y[p].data(), y[0].size() * sizeof(float)), 0) << p + 1 << " threads";
    KernelTable flipped = table; // the software prefetch of the weight stream the other way (never changes a bit)
    flipped.prefetch_stream = !table.prefetch_stream;
    const auto y_flipped = run(flipped, pool(1), c.type, packed, c.n_out, c.n_in, x.data(), c.n_tokens);
    ASSERT_EQ(std::memcmp(y[0].data(), y_flipped.data(), y[0].size() * sizeof(float)), 0)
        << "prefetch_stream " << flipped.prefetch_stream;
    const auto y_ref = run(scalar, pool(0), c.type, packed, c.n_out, c.n_in, x.data(), c.n_tokens);
    ASSERT_EQ(std::memcmp(y[0].data(), y_ref.data(), y_ref.size() * sizeof(float)), 0) << "vs the scalar x16 kernel";
    for (int64_t t = 0; t < c.n_tokens; ++t) {
        const auto alone = run(table, pool(1), c.type, packed, c.n_out, c.n_in, x.data() + t * c.n_in, 1, int(t % 2));
        ASSERT_EQ(std::memcmp(alone.data(), y[0].data() + t * c.n_out, alone.size() * sizeof(float)), 0)
            << "token " << t << " alone differs from the batch";
    }

    // Oracle: dequantized weights times the reference-quantized activations, in double.
    const auto w_dq = dequantize_rows(c.type, w.data(), c.n_out, c.n_in);
    const DType act_type = make_scalar_table().at(c.type).vec_dot_type; // Q8_0, Q8_1 or Q8_K: same quants
    std::vector<uint8_t> q(size_t(*dtype_row_bytes(act_type, uint64_t(c.n_in * c.n_tokens))));
    ref::ref_quantize_row(act_type, x.data(), q.data(), int64_t(x.size()));
    const auto x_dq = dequantize_rows(act_type, q.data(), 1, int64_t(x.size()));
    // Q4_1 / Q5_1: the offset m_w multiplies Q8_1's stored s = half(d * sum(q)), as in ggml, not sum(half(d) q).
    const bool has_min = c.type == DType::Q4_1 || c.type == DType::Q5_1;
    std::vector<BlockQ8_1> q1(x.size() / 32);
    if (has_min) ref::ref_quantize_row(DType::Q8_1, x.data(), q1.data(), int64_t(x.size()));
    const size_t w_block = dtype_info(c.type).type_size;
    const int64_t nb = c.n_in / 32;
    for (int64_t t = 0; t < c.n_tokens; ++t)
        for (int64_t r = 0; r < c.n_out; ++r) {
            double exact = 0, magnitude = 0;
            for (int64_t b = 0; has_min && b < nb; ++b) {
                const BlockQ8_1& a = q1[size_t(t * nb + b)];
                uint16_t m_bits;
                std::memcpy(&m_bits, w.data() + size_t(r * nb + b) * w_block + 2, 2);
                int sum_q = 0;
                for (int e = 0; e < 32; ++e)
                    sum_q += a.qs[e];
                exact += double(fp16_to_f32(m_bits)) * (double(fp16_to_f32(a.s)) - double(fp16_to_f32(a.d)) * sum_q);
            }
            for (int64_t i = 0; i < c.n_in; ++i) {
                const double p = double(w_dq[size_t(r * c.n_in + i)]) * double(x_dq[size_t(t * c.n_in + i)]);
                exact += p;
                magnitude += std::fabs(p);
            }
            const double got = y[0][size_t(t * c.n_out + r)];
            ASSERT_LE(std::fabs(got - exact), 1e-5 * magnitude + 1e-30)
                << "token " << t << " row " << r << ": got " << got << " want " << exact;
        }
}

std::string packed_case_name(const ::testing::TestParamInfo<PackedCase>& info) {
    const PackedCase& c = info.param;
    return case_name(c.isa, c.type) + "_in" + std::to_string(c.n_in) + "_out" + std::to_string(c.n_out) + "_tok" +
           std::to_string(c.n_tokens) + fill_name(c.fill);
}

INSTANTIATE_TEST_SUITE_P(KernelsCpu, PackedMatmul, ::testing::ValuesIn(packed_cases()), packed_case_name);

} // namespace
} // namespace hearth::cpu::test
