// kernels/cpu/avx2/dot_legacy.cpp: AVX2 dot products of the 32-element block types against Q8_0 / Q8_1.
//
// One block per step: the 32 weight quants are unpacked to bytes, multiplied with the activation bytes by
// maddubs (u8 x i8 -> pairs of i16) and madd (-> 8 int32 lanes, exact), and the lanes are accumulated in
// float with the block's scale product, d_w * d_a.
//
// Every kernel is a K::run<N> (util.h's dot_one / dot_multi): a weight block is unpacked once (quants to
// bytes, scales to float) and then used by N <= 4 activation rows, each with its own accumulators; a row's
// float operations are the same, in the same order, for every N.
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "tensor/quant_blocks.h"

#include <cstddef>
#include <type_traits>
#include <utility>

namespace hearth::cpu::avx2 {
namespace {

// Runs block(ib, p) over nb blocks, p = ib % 2: even and odd blocks go to separate accumulators, so that
// consecutive blocks' FMAs do not wait on each other (one chain would cap N = 1 at one block per FMA latency).
template <typename BlockFn> inline void for_blocks(int64_t nb, BlockFn block) {
    int64_t ib = 0;
    for (; ib + 1 < nb; ib += 2) {
        block(ib, 0);
        block(ib + 1, 1);
    }
    if (ib < nb) block(ib, 0);
}

inline int32_t load_i32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return v;
}

// Halves to floats; for N <= 2 rows (4 halves) the 4-lane conversion, the upper lanes zero.
template <int N> inline __m256 halves_to_f32(__m128i h) {
    if constexpr (N <= 2) return _mm256_zextps128_ps256(_mm_cvtph_ps(h));
    return _mm256_cvtph_ps(h);
}

// The scale products of one block are computed for all N <= 4 rows at once, rows in the even lanes
// ([row 0, _, row 1, _, ...]); each lane is one rounded product d_w d_a, as in the scalar oracle. This is
// v[2j] in all 8 lanes: row j's factor.
template <int J> inline __m256 broadcast_even_lane(__m256 v) {
    if constexpr (J == 0) return _mm256_broadcastss_ps(_mm256_castps256_ps128(v));
    const __m256d pairs = _mm256_castps_pd(_mm256_moveldup_ps(v)); // 64-bit lane j = (v[2j], v[2j])
    return _mm256_castpd_ps(_mm256_permute4x64_pd(pairs, 0x55 * J));
}

// f(std::integral_constant<int, J>{}) for J = 0 .. N - 1: per-row steps that need the row as a constant.
template <typename F, int... J> inline void for_rows(F& f, std::integer_sequence<int, J...>) {
    (f(std::integral_constant<int, J>{}), ...);
}
template <int N, typename F> inline void for_rows(F f) {
    for_rows(f, std::make_integer_sequence<int, N>{});
}

// Horizontal sums of each row's two accumulators, plus extra[j].
template <int N> inline void finish_rows(const __m256 (&acc)[N][2], const float (&extra)[N], float* out) {
    for (int j = 0; j < N; ++j)
        out[j] = hsum(_mm256_add_ps(acc[j][0], acc[j][1])) + extra[j];
}

// A half (a block's d) as a float in all 8 lanes: a broadcast load and one conversion.
inline __m256 broadcast_half(const uint16_t* h) {
    return _mm256_cvtph_ps(_mm_broadcastw_epi16(_mm_loadu_si16(h)));
}

// d_a * d_b broadcast, from one half-to-float conversion of both: cheapest when nothing is shared (N = 1).
inline __m256 scale_product(uint16_t a, uint16_t b) {
    const __m128 h = _mm_cvtph_ps(_mm_cvtsi32_si128(int32_t(uint32_t(a) | (uint32_t(b) << 16))));
    return _mm256_broadcastss_ps(_mm_mul_ss(h, _mm_movehdup_ps(h)));
}

// Weight types with signed quants against Q8_0; Decode::quants(block) gives the block's 32 quants as int8.
// Per block: sum(q a) by maddubs(|q|, a with q's signs) (see dot_i8_i8), times d_w d_a into the row's
// accumulator. The unpacked quants and d_w are shared by the N rows.
template <typename Decode> struct SignedQ8_0 {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        const auto* x = static_cast<const typename Decode::Block*>(w);
        const BlockQ8_0* y[N];
        act_rows(act, stride, y);
        __m256 acc[N][2];
        for (int j = 0; j < N; ++j)
            acc[j][0] = acc[j][1] = _mm256_setzero_ps();
        for_blocks(n / HEARTH_QK8_0, [&](int64_t ib, int p) {
            const __m256i q = Decode::quants(x[ib]);
            const __m256i abs = _mm256_sign_epi8(q, q);
            const __m256 dx = broadcast_half(&x[ib].d);
            for (int j = 0; j < N; ++j) {
                const __m256i sums = dot_u8_i8(abs, _mm256_sign_epi8(loadu256(y[j][ib].qs), q));
                // The same product d_w d_a either way; converting d_w once pays off from 2 rows.
                const __m256 d =
                    N == 1 ? scale_product(x[ib].d, y[j][ib].d) : _mm256_mul_ps(dx, broadcast_half(&y[j][ib].d));
                acc[j][p] = _mm256_fmadd_ps(d, _mm256_cvtepi32_ps(sums), acc[j][p]);
            }
        });
        const float none[N] = {};
        finish_rows(acc, none, out);
    }
};

struct DecodeQ4_0 {
    using Block = BlockQ4_0;
    static __m256i quants(const Block& b) { return _mm256_sub_epi8(unpack_nibbles_32(b.qs), _mm256_set1_epi8(8)); }
};

struct DecodeQ5_0 {
    using Block = BlockQ5_0;
    // q - 16 as int8: a nibble whose fifth bit is clear gets 0xF0 or-ed in (q - 16 < 0), else stays q.
    static __m256i quants(const Block& b) {
        const __m256i hi = _mm256_andnot_si256(expand_bits_32(b.qh), _mm256_set1_epi8(int8_t(0xF0)));
        return _mm256_or_si256(unpack_nibbles_32(b.qs), hi);
    }
};

struct DecodeQ8_0 {
    using Block = BlockQ8_0;
    static __m256i quants(const Block& b) { return loadu256(b.qs); }
};

struct DecodeIQ4_NL {
    using Block = BlockIQ4_NL;
    static __m256i quants(const Block& b) {
        const __m256i codebook = _mm256_broadcastsi128_si256(loadu128(kIq4NlValues));
        return _mm256_shuffle_epi8(codebook, unpack_nibbles_32(b.qs));
    }
};

// The (d, s) half pairs of block ib of N <= 4 activation rows, as floats [d_0, s_0, d_1, s_1, ...] (zero past
// row N - 1).
template <int N> inline __m256 row_scales(const BlockQ8_1* const (&y)[N], int64_t ib) {
    static_assert(N >= 1 && N <= 4);
    __m128i h = _mm_cvtsi32_si128(load_i32(&y[0][ib].d));
    if constexpr (N > 1) h = _mm_insert_epi32(h, load_i32(&y[1][ib].d), 1);
    if constexpr (N > 2) h = _mm_insert_epi32(h, load_i32(&y[2][ib].d), 2);
    if constexpr (N > 3) h = _mm_insert_epi32(h, load_i32(&y[3][ib].d), 3);
    return halves_to_f32<N>(h);
}

// Q4_1 / Q5_1 against Q8_1: x = d q + m, so each block adds d_w d_a sum(q a) + m_w s_a. (d, m) and (d, s) are
// adjacent halves: one product of [d_w, m_w, d_w, m_w, ...] with row_scales gives every row's [d_w d_a, m_w s_a]
// for the block. The m_w s_a terms are summed in lane 2j + 1 of summs[p]: for row j the same sequence of float
// additions for every N.
template <typename Block, bool kHasHighBit> struct OffsetQ8_1 {
    template <int N> static void run(int64_t n, const void* w, const void* act, size_t stride, float* out) {
        static_assert(offsetof(Block, m) == offsetof(Block, d) + 2 &&
                      offsetof(BlockQ8_1, s) == offsetof(BlockQ8_1, d) + 2);
        const auto* x = static_cast<const Block*>(w);
        const BlockQ8_1* y[N];
        act_rows(act, stride, y);
        __m256 acc[N][2];
        for (int j = 0; j < N; ++j)
            acc[j][0] = acc[j][1] = _mm256_setzero_ps();
        __m256 summs[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
        for_blocks(n / HEARTH_QK8_1, [&](int64_t ib, int p) {
            __m256i q = unpack_nibbles_32(x[ib].qs);
            if constexpr (kHasHighBit)
                q = _mm256_or_si256(q, _mm256_and_si256(expand_bits_32(x[ib].qh), _mm256_set1_epi8(0x10)));
            const __m256 dm = halves_to_f32<N>(_mm_set1_epi32(load_i32(&x[ib].d)));
            const __m256 prod = _mm256_mul_ps(dm, row_scales(y, ib)); // [d_w d_a, m_w s_a] per row
            summs[p] = _mm256_add_ps(summs[p], prod);
            for_rows<N>([&](auto j) {
                const __m256i sums = dot_u8_i8(q, loadu256(y[j][ib].qs));
                acc[j][p] = _mm256_fmadd_ps(broadcast_even_lane<j>(prod), _mm256_cvtepi32_ps(sums), acc[j][p]);
            });
        });
        alignas(32) float s[2][8];
        _mm256_store_ps(s[0], summs[0]);
        _mm256_store_ps(s[1], summs[1]);
        float ms[N];
        for (int j = 0; j < N; ++j)
            ms[j] = s[0][2 * j + 1] + s[1][2 * j + 1];
        finish_rows(acc, ms, out);
    }
};

using Q4_0 = SignedQ8_0<DecodeQ4_0>;
using Q5_0 = SignedQ8_0<DecodeQ5_0>;
using Q8_0 = SignedQ8_0<DecodeQ8_0>;
using IQ4_NL = SignedQ8_0<DecodeIQ4_NL>;
using Q4_1 = OffsetQ8_1<BlockQ4_1, false>;
using Q5_1 = OffsetQ8_1<BlockQ5_1, true>;

} // namespace

float dot_q4_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_0>(n, w, a);
}
float dot_q4_1_q8_1(int64_t n, const void* w, const void* a) {
    return dot_one<Q4_1>(n, w, a);
}
float dot_q5_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q5_0>(n, w, a);
}
float dot_q5_1_q8_1(int64_t n, const void* w, const void* a) {
    return dot_one<Q5_1>(n, w, a);
}
float dot_q8_0_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<Q8_0>(n, w, a);
}
float dot_iq4_nl_q8_0(int64_t n, const void* w, const void* a) {
    return dot_one<IQ4_NL>(n, w, a);
}

void dot_multi_q4_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_0>(n, w, a, stride, n_act, out);
}
void dot_multi_q4_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q4_1>(n, w, a, stride, n_act, out);
}
void dot_multi_q5_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q5_0>(n, w, a, stride, n_act, out);
}
void dot_multi_q5_1_q8_1(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q5_1>(n, w, a, stride, n_act, out);
}
void dot_multi_q8_0_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<Q8_0>(n, w, a, stride, n_act, out);
}
void dot_multi_iq4_nl_q8_0(int64_t n, const void* w, const void* a, size_t stride, int n_act, float* out) {
    dot_multi<IQ4_NL>(n, w, a, stride, n_act, out);
}

} // namespace hearth::cpu::avx2
