// kernels/cpu/avx2/gemm_x16_impl.h: the 256-bit kernels over every x16-packed weight type (packed.h, packed_k.h), for
// CPUs without AVX-512 VNNI (most laptops and desktops). Included twice: avx2/gemm_x16.cpp (AVX2, namespace avx2,
// HEARTH_X16_VNNI 0) and avx2/gemm_x16_vnni.cpp (AVX2 + AVX-VNNI, namespace avxvnni, HEARTH_X16_VNNI 1).
//
// The layouts are the AVX-512 kernels' (one repack for both): each 64-byte chunk holds 4 bytes of each of 16 rows, so
// its two 32-byte halves are rows 0-7 and rows 8-15, and every per-row array (half scales, byte scales) splits the
// same way. A group is computed as two 8-row halves (H = 0, 1), each as avx512/gemm_x16*.cpp does 16 rows: the
// block's quants unpacked once to 8 registers (register k: elements 4k .. 4k + 3, lane r = row 8H + r), then per
// token the 4-byte activation groups broadcast to every lane. Decode's one token does both halves of a column before
// the next column (one pass over the weights); a tile of several tokens makes a pass per half (by_halves). (Keeping
// the column's sum a chain, as the AVX-512 K-quant kernels do, changed nothing here: their spills are constants.)
// - AVX2 has no dpbusd: vpmaddubsw (u8 x i8 -> pairs summed in int16) of up to G registers are added in int16 while
//   that stays exact (G = 32767 / (2 * 127 * max quant): 8 for 4-bit quants, 4 for 5-bit, 2 for 6-bit), then
//   vpmaddwd against the sub-block scale as an int16 pair (or 1) gives the scaled int32 sums, so the K-quants' scale
//   multiply costs nothing extra. Signed quants (Q8_0, and IQ4_NL / IQ4_XS's codebook values) go through |w| and the
//   activation with w's sign, one register per vpmaddwd.
// - AVX-VNNI: dpbusd as on AVX-512 (unsigned quants, offsets through the activation sums) for the unscaled legacy
//   sums, Q5_K and the offset types (Q8_0, IQ4_NL, IQ4_XS), the sub-block scale multiplied in int32 (vpmulld); the
//   int16 groups (closed by vpdpwssd) for Q2_K / Q3_K / Q4_K / Q6_K, where vpmulld costs what dpbusd saves
//   (use_dpbusd).
// Every sum is the scalar x16 kernel's exact integer (Q8_0 / IQ4 directly as sum(q a) = sum((q + 128) a) - 128
// sum(a) on AVX2), and the float fold is packed.h's / packed_k.h's, so the results equal packed.cpp's and
// packed_k.cpp's bit for bit.
#if !defined(HEARTH_X16_NS) || !defined(HEARTH_X16_VNNI)
#error "define HEARTH_X16_NS and HEARTH_X16_VNNI before including gemm_x16_impl.h"
#endif
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/avx2/util.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/packed_k.h"
#include "kernels/cpu/x16_tiles.h"
#include "tensor/quant_blocks.h"

#include <algorithm>
#include <utility>

namespace hearth::cpu::HEARTH_X16_NS {
using namespace hearth::cpu::avx2; // util.h's helpers
namespace {

constexpr bool kVnni = HEARTH_X16_VNNI;

// 4 bytes at p broadcast to every 32-bit lane.
inline __m256i bcast32(const void* p) {
    int32_t v;
    std::memcpy(&v, p, 4);
    return _mm256_set1_epi32(v);
}

// Half H (rows 8H .. 8H + 7) of a 64-byte chunk.
template <int H> inline __m256i half(const uint8_t* chunk) {
    return loadu256(chunk + 32 * H);
}

// Bit J of each byte moved to bit K, the rest 0 (as avx512/util.h's).
template <int J, int K> inline __m256i bit_to(__m256i v) {
    const __m256i bit = _mm256_set1_epi8(char(1 << K));
    if constexpr (J <= K)
        return _mm256_and_si256(_mm256_slli_epi16(v, K - J), bit);
    else
        return _mm256_and_si256(_mm256_srli_epi16(v, J - K), bit);
}

// A sub-block scale per lane: as the int16 pair (s, s) for AVX2's vpmaddwd, and as int32 for AVX-VNNI's vpmulld
// (the compiler drops the one the ISA does not use).
struct Scale {
    __m256i pair, s32;
};
inline Scale scale_of(__m256i s32) {
    return {_mm256_or_si256(_mm256_and_si256(s32, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(s32, 16)), s32};
}
// The 8 byte scales at p, unsigned or signed.
inline Scale scale_u8(const uint8_t* p) {
    return scale_of(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline Scale scale_i8(const uint8_t* p) {
    return scale_of(_mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))));
}
inline Scale unscaled() {
    return {_mm256_set1_epi16(1), _mm256_set1_epi32(1)};
}

// How many vpmaddubsw results of quants 0..kMaxW against activations |a| <= 127 add up exactly in int16.
constexpr int int16_group(int kMaxW) {
    return 32767 / (2 * 127 * kMaxW);
}

// Whether AVX-VNNI's dpbusd (then vpmulld by the scale) beats vpmaddubsw products added in int16 and then scaled
// by vpmaddwd: yes for unscaled sums and for quants whose int16 groups are short (5-bit: 4 registers; 8-bit: 1),
// no for Q2_K / Q3_K / Q4_K (8 registers) and Q6_K (2) where vpmulld costs what it saves (bench_kernels, 1536x8960
// x 128 tokens, 1 thread, G MAC/s dpbusd vs int16 groups: Q4_K 104 / 108, Q6_K 68 / 69, Q3_K 67 / 79, Q2_K 74 /
// 88; Q5_K 91 / 75, Q8_0 91 / 48).
constexpr bool use_dpbusd(bool scaled, int max_w) {
    return kVnni && (!scaled || max_w > 63 || int16_group(max_w) == 4);
}

// Per lane sc * sum_k w[k] . q[4k .. 4k + 3] for unsigned quants <= kMaxW, exact (kScaled false: sc is 1).
template <int NK, int kMaxW, bool kScaled = true> inline __m256i dot_u(const __m256i* w, const int8_t* q, Scale sc) {
    if constexpr (use_dpbusd(kScaled, kMaxW)) {
        __m256i s[2] = {_mm256_setzero_si256(), _mm256_setzero_si256()}; // two chains (integer: the same sum)
        for (int k = 0; k < NK; ++k)
            s[k % 2] = _mm256_dpbusd_avx_epi32(s[k % 2], w[k], bcast32(q + 4 * k));
        const __m256i sum = _mm256_add_epi32(s[0], s[1]);
        return kScaled ? _mm256_mullo_epi32(sum, sc.s32) : sum;
    } else {
        constexpr int G = std::min(NK, int16_group(kMaxW));
        static_assert(G >= 1 && NK % G == 0);
        const __m256i pair = kScaled ? sc.pair : _mm256_set1_epi16(1);
        __m256i acc = _mm256_setzero_si256();
        for (int k0 = 0; k0 < NK; k0 += G) {
            __m256i s = _mm256_maddubs_epi16(w[k0], bcast32(q + 4 * k0));
            for (int k = k0 + 1; k < k0 + G; ++k)
                s = _mm256_add_epi16(s, _mm256_maddubs_epi16(w[k], bcast32(q + 4 * k)));
            if constexpr (kVnni)
                acc = _mm256_dpwssd_avx_epi32(acc, s, pair);
            else
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(s, pair));
        }
        return acc;
    }
}

// The same for signed quants (-128 .. 127) on AVX2: |w| (wa, taken once per block for all tokens) against the
// activation carrying w's sign.
template <int NK, bool kScaled = true>
inline __m256i dot_s(const __m256i* w, const __m256i* wa, const int8_t* q, Scale sc) {
    static_assert(NK > 0 && !kVnni, "AVX-VNNI keeps the quants unsigned (offsets through the activation sums)");
    const __m256i pair = kScaled ? sc.pair : _mm256_set1_epi16(1);
    __m256i acc = _mm256_setzero_si256();
    for (int k = 0; k < NK; ++k) {
        const __m256i p = _mm256_maddubs_epi16(wa[k], _mm256_sign_epi8(bcast32(q + 4 * k), w[k]));
        acc = _mm256_add_epi32(acc, _mm256_madd_epi16(p, pair));
    }
    return acc;
}

// The IQ4_NL / IQ4_XS codebook in both 128-bit lanes, for vpshufb of nibbles: signed on AVX2, + 128 (unsigned, offset
// 128) on AVX-VNNI.
inline __m256i iq4nl_table() {
    const __m256i t = _mm256_broadcastsi128_si256(_mm_loadu_si128(reinterpret_cast<const __m128i*>(kIq4NlValues)));
    return kVnni ? _mm256_xor_si256(t, _mm256_set1_epi8(char(0x80))) : t;
}

// ---- legacy 32-element blocks (packed.h) ----

struct LQ8 {
    static constexpr bool kSigned = !kVnni; // q + 128 stored; flipped back to q on AVX2
    static constexpr int kOffset = kVnni ? 128 : 0, kMaxW = 255;
    static constexpr bool kHasMin = false;
    static constexpr size_t kColumn = 544;
    template <int H> static void unpack(const uint8_t* col, __m256i w[8]) {
        for (int k = 0; k < 8; ++k)
            w[k] = kVnni ? half<H>(col + 32 + 64 * k)
                         : _mm256_xor_si256(half<H>(col + 32 + 64 * k), _mm256_set1_epi8(char(0x80)));
    }
};

template <int kOffsetV, int kMaxWV, bool kHasMinV, bool kHasHb, bool kCodebook = false> struct LNibbles {
    // IQ4_NL on AVX2: the codebook's signed values (no offset).
    static constexpr bool kSigned = kCodebook && !kVnni;
    static constexpr int kOffset = kSigned ? 0 : kOffsetV, kMaxW = kMaxWV;
    static constexpr bool kHasMin = kHasMinV;
    static constexpr size_t kHb = kHasMin ? 64 : 32;
    static constexpr size_t kQ = kHb + (kHasHb ? 64 : 0);
    static constexpr size_t kColumn = kQ + 256;
    template <int H> static void unpack(const uint8_t* col, __m256i w[8]) {
        const __m256i low4 = _mm256_set1_epi8(0x0F);
        [[maybe_unused]] const __m256i hb = kHasHb ? half<H>(col + kHb) : _mm256_setzero_si256();
        [&]<int... K>(std::integer_sequence<int, K...>) {
            ((w[K] = _mm256_and_si256(half<H>(col + kQ + 64 * K), low4),
              w[4 + K] = _mm256_and_si256(_mm256_srli_epi16(half<H>(col + kQ + 64 * K), 4), low4)),
             ...);
            if constexpr (kHasHb)
                ((w[K] = _mm256_or_si256(w[K], bit_to<K, 4>(hb)),
                  w[4 + K] = _mm256_or_si256(w[4 + K], bit_to<4 + K, 4>(hb))),
                 ...);
        }
        (std::make_integer_sequence<int, 4>{});
        if constexpr (kCodebook) {
            const __m256i table = iq4nl_table();
            for (int k = 0; k < 8; ++k)
                w[k] = _mm256_shuffle_epi8(table, w[k]);
        }
    }
};
using LQ4 = LNibbles<8, 15, false, false>;
using LQ5 = LNibbles<16, 31, false, true>;
using LQ41 = LNibbles<0, 15, true, false>;
using LQ51 = LNibbles<0, 31, true, true>;
using LIQ4NL = LNibbles<128, 255, false, false, true>;

// Halves H0 .. H0 + NH - 1 of every column (NH = 2: both in one pass, decode's one token: the weight stream never waits
// for a second pass over cached columns; NH = 1: a pass per half, the tiles of several tokens, whose registers one
// half fills).
template <typename L, int N, int H0, int NH>
void run_legacy(int64_t nb, const uint8_t* group, const PackedAct* act, int64_t act_nb, float* y, size_t y_stride,
                bool prefetch) {
    __m256 acc[NH][N];
    for (int h = 0; h < NH; ++h)
        for (int t = 0; t < N; ++t)
            acc[h][t] = _mm256_setzero_ps();
    StreamPrefetch<L::kColumn, N, true> pf(group, prefetch);
    auto half_step = [&]<int H>(const uint8_t* col, int64_t b, __m256* acc_h) {
        const __m256 dw = _mm256_cvtph_ps(loadu128(col + 16 * H));
        [[maybe_unused]] __m256 mw;
        if constexpr (L::kHasMin) mw = _mm256_cvtph_ps(loadu128(col + 32 + 16 * H));
        __m256i w[8];
        L::template unpack<H>(col, w);
        [[maybe_unused]] __m256i wa[8];
        if constexpr (L::kSigned)
            for (int k = 0; k < 8; ++k)
                wa[k] = _mm256_abs_epi8(w[k]);
        for (int t = 0; t < N; ++t) {
            const PackedAct& a = act[t * act_nb + b];
            __m256i s;
            if constexpr (L::kSigned)
                s = dot_s<8, false>(w, wa, a.q, unscaled());
            else
                s = dot_u<8, L::kMaxW, false>(w, a.q, unscaled());
            if constexpr (L::kOffset != 0) s = _mm256_sub_epi32(s, _mm256_set1_epi32(L::kOffset * a.s));
            acc_h[t] = _mm256_fmadd_ps(_mm256_cvtepi32_ps(s), _mm256_mul_ps(dw, _mm256_set1_ps(a.d)), acc_h[t]);
            if constexpr (L::kHasMin) acc_h[t] = _mm256_fmadd_ps(mw, _mm256_set1_ps(a.ds), acc_h[t]);
        }
    };
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * L::kColumn;
        if constexpr (H0 == 0) pf.before(col); // a second pass (H0 = 1) reads the group from cache
        half_step.template operator()<H0>(col, b, acc[0]);
        if constexpr (NH == 2) half_step.template operator()<H0 + 1>(col, b, acc[NH - 1]);
        if constexpr (H0 == 0) pf.after(col);
    }
    for (int h = 0; h < NH; ++h)
        for (int t = 0; t < N; ++t)
            _mm256_storeu_ps(y + size_t(t) * y_stride + 8 * (H0 + h), acc[h][t]);
}

// Decode's one token: both halves per column (run_legacy); more tokens: a pass per half.
template <int N, typename Run> inline void by_halves(Run run) {
    if constexpr (N == 1) {
        run.template operator()<0, 2>();
    } else {
        run.template operator()<0, 1>();
        run.template operator()<1, 1>();
    }
}

template <typename L>
void gemm_legacy(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y,
                 size_t y_stride, bool prefetch) {
    token_tiles<8>(static_cast<const PackedAct*>(act), act_nb, n_tok, y, y_stride,
                   [&]<int N>(const PackedAct* a, float* yt) {
                       by_halves<N>([&]<int H0, int NH>() {
                           run_legacy<L, N, H0, NH>(nb, group, a, act_nb, yt, y_stride, prefetch);
                       });
                   });
}

// ---- K-quants and IQ4_XS (packed_k.h) ----

// packed_k.h's fold of one super-block's isum: y = fma(float(isum), d * d_a, y).
template <int N, int H>
inline void fold_isum(const __m256i* isum, __m256 dw, const PackedActK* act, int64_t act_nb, int64_t b, float* y,
                      size_t y_stride) {
    for (int t = 0; t < N; ++t) {
        float* yt = y + size_t(t) * y_stride + 8 * H;
        const __m256 da = _mm256_set1_ps(act[t * act_nb + b].d);
        _mm256_storeu_ps(yt, _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, da), _mm256_loadu_ps(yt)));
    }
}

// The same with the mins: y = fma(-float(msum), dmin * d_a, fma(float(isum), d * d_a, y)).
template <int N, int H>
inline void fold_isum_msum(const __m256i* isum, const __m256i* msum, __m256 dw, __m256 dm, const PackedActK* act,
                           int64_t act_nb, int64_t b, float* y, size_t y_stride) {
    for (int t = 0; t < N; ++t) {
        float* yt = y + size_t(t) * y_stride + 8 * H;
        const __m256 da = _mm256_set1_ps(act[t * act_nb + b].d);
        const __m256 acc = _mm256_fmadd_ps(_mm256_cvtepi32_ps(isum[t]), _mm256_mul_ps(dw, da), _mm256_loadu_ps(yt));
        _mm256_storeu_ps(yt, _mm256_fnmadd_ps(_mm256_cvtepi32_ps(msum[t]), _mm256_mul_ps(dm, da), acc));
    }
}

// The super-block loop over halves H0 .. H0 + NH - 1 (run_legacy's): y = 0, then per block column b and half H,
// body.template operator()<H>(col, b, isum, msum) and the fold (with the mins when kMins).
template <int N, int H0, int NH, size_t kColumn, bool kMins, typename Body>
void run_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
           bool prefetch, Body body) {
    for (int h = H0; h < H0 + NH; ++h)
        for (int t = 0; t < N; ++t)
            _mm256_storeu_ps(y + size_t(t) * y_stride + 8 * h, _mm256_setzero_ps());
    StreamPrefetch<kColumn, N, false> pf(group, prefetch);
    auto half_step = [&]<int H>(const uint8_t* col, int64_t b) {
        __m256i isum[N], msum[N];
        for (int t = 0; t < N; ++t)
            isum[t] = msum[t] = _mm256_setzero_si256();
        body.template operator()<H>(col, b, isum, msum);
        const __m256 dw = _mm256_cvtph_ps(loadu128(col + 16 * H));
        if constexpr (kMins)
            fold_isum_msum<N, H>(isum, msum, dw, _mm256_cvtph_ps(loadu128(col + 32 + 16 * H)), act, act_nb, b, y,
                                 y_stride);
        else
            fold_isum<N, H>(isum, dw, act, act_nb, b, y, y_stride);
    };
    for (int64_t b = 0; b < nb; ++b) {
        const uint8_t* col = group + size_t(b) * kColumn;
        if constexpr (H0 == 0) pf.before(col); // a second pass (H0 = 1) reads the group from cache
        half_step.template operator()<H0>(col, b);
        if constexpr (NH == 2) half_step.template operator()<H0 + 1>(col, b);
        if constexpr (H0 == 0) pf.after(col);
    }
}

// msum[t] += sum_p madd(pairs[p], sums[2p], sums[2p + 1]) for every token (the mins against the activation sums).
template <int N, int NP>
inline void pair_sums(const __m256i* pairs, const PackedActK* act, int64_t act_nb, int64_t b, bool bs16, __m256i* out) {
    for (int t = 0; t < N; ++t) {
        const int16_t* sums = bs16 ? act[t * act_nb + b].bs16 : act[t * act_nb + b].bs32;
        for (int p = 0; p < NP; ++p)
            out[t] = _mm256_add_epi32(out[t], _mm256_madd_epi16(pairs[p], bcast32(sums + 2 * p)));
    }
}

template <bool kQ5, int N, int H0, int NH>
void run_q4_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    // Mins as int16 pairs per lane: even pairs from bytes 0, 1 of each dword, odd pairs from bytes 2, 3.
    const __m256i even = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(0, -128, 1, -128, 4, -128, 5, -128, 8, -128, 9, -128, 12, -128, 13, -128));
    const __m256i odd = _mm256_broadcastsi128_si256(
        _mm_setr_epi8(2, -128, 3, -128, 6, -128, 7, -128, 10, -128, 11, -128, 14, -128, 15, -128));
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    run_k<N, H0, NH, kQ5 ? 2880 : 2368, true>(
        nb, group, act, act_nb, y, y_stride, prefetch,
        [&]<int H>(const uint8_t* col, int64_t b, __m256i* isum, __m256i* msum) {
            for_groups([&]<int J>() {
                __m256i w[8];
                const uint8_t* chunk = col + (kQ5 ? packed_k::kQ5KQs : packed_k::kQ4KQs) + 512 * (J / 2);
                for (int k = 0; k < 8; ++k) {
                    const __m256i v = half<H>(chunk + 64 * k);
                    w[k] = _mm256_and_si256(J % 2 ? _mm256_srli_epi16(v, 4) : v, low4);
                    if constexpr (kQ5)
                        w[k] = _mm256_or_si256(w[k], bit_to<J, 4>(half<H>(col + packed_k::kQ5KQh + 64 * k)));
                }
                const Scale sc = scale_u8(col + 64 + 16 * J + 8 * H);
                for (int t = 0; t < N; ++t)
                    isum[t] =
                        _mm256_add_epi32(isum[t], dot_u < 8, kQ5 ? 31 : 15 > (w, act[t * act_nb + b].q + 32 * J, sc));
            });
            const __m256i m0 = half<H>(col + 192), m1 = half<H>(col + 256);
            const __m256i mp[4] = {_mm256_shuffle_epi8(m0, even), _mm256_shuffle_epi8(m0, odd),
                                   _mm256_shuffle_epi8(m1, even), _mm256_shuffle_epi8(m1, odd)};
            pair_sums<N, 4>(mp, act, act_nb, b, false, msum);
        });
}

// The 8 rows' signed byte scales of sub-blocks 2m, 2m + 1 (at 32 + 16 j) as int16 pairs sc[2m] | sc[2m + 1] << 16.
template <int H> inline __m256i scale_pair_i8(const uint8_t* col, int m) {
    const __m256i lo =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(col + 32 + 32 * m + 8 * H)));
    const __m256i hi =
        _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(col + 48 + 32 * m + 8 * H)));
    return _mm256_or_si256(_mm256_and_si256(lo, _mm256_set1_epi32(0xFFFF)), _mm256_slli_epi32(hi, 16));
}

// A quant offset through the activation sums: isum -= (sum_m madd(scale pair m, sums 2m, 2m + 1)) << kShift, NP
// pairs. Q6_K: 8 pairs against the 16-element sums, offset 32 (shift 5); Q3_K: the same, offset 4 (shift 2);
// IQ4_XS on AVX-VNNI: 4 pairs against the 32-element sums, offset 128 (shift 7).
template <int N, int H, int NP, int kShift>
inline void scale_offset(const uint8_t* col, const PackedActK* act, int64_t act_nb, int64_t b, __m256i* isum) {
    __m256i sp[NP], o[N];
    for (int m = 0; m < NP; ++m)
        sp[m] = scale_pair_i8<H>(col, m);
    for (int t = 0; t < N; ++t)
        o[t] = _mm256_setzero_si256();
    pair_sums<N, NP>(sp, act, act_nb, b, NP == 8, o);
    for (int t = 0; t < N; ++t)
        isum[t] = _mm256_sub_epi32(isum[t], _mm256_slli_epi32(o[t], kShift));
}

// Sub-blocks 2G, 2G + 1 of a type with 16 sub-blocks of 16: w[0..4), w[4..8) their unsigned quants (<= kMaxW).
template <int N, int kMaxW>
inline void sub16_pair(const __m256i w[8], Scale sc_a, Scale sc_b, const PackedActK* act, int64_t act_nb, int64_t b,
                       int g, __m256i* isum) {
    for (int t = 0; t < N; ++t) {
        const int8_t* q = act[t * act_nb + b].q + 32 * g;
        isum[t] = _mm256_add_epi32(isum[t],
                                   _mm256_add_epi32(dot_u<4, kMaxW>(w, q, sc_a), dot_u<4, kMaxW>(w + 4, q + 16, sc_b)));
    }
}

// Q6_K sub-block S's 4 registers (half H) from its 3 chunks (packed_k.h): chunk c's bits 0-5 are register c, bits 6-7
// bits 2c, 2c + 1 of register 3.
template <int S, int H> inline void unpack_q6_k(const uint8_t* col, __m256i* w) {
    const uint8_t* p = col + 288 + 192 * S;
    const __m256i x0 = half<H>(p), x1 = half<H>(p + 64), x2 = half<H>(p + 128);
    const __m256i low6 = _mm256_set1_epi8(0x3F);
    w[0] = _mm256_and_si256(x0, low6);
    w[1] = _mm256_and_si256(x1, low6);
    w[2] = _mm256_and_si256(x2, low6);
    // Bits 6-7 of x0, x1, x2 to bits 0-1, 2-3, 4-5 (16-bit shifts: the bits they bring from the next byte are masked).
    const __m256i a = _mm256_and_si256(_mm256_srli_epi16(x0, 6), _mm256_set1_epi8(0x03));
    const __m256i b = _mm256_and_si256(_mm256_srli_epi16(x1, 4), _mm256_set1_epi8(0x0C));
    const __m256i c = _mm256_and_si256(_mm256_srli_epi16(x2, 2), _mm256_set1_epi8(0x30));
    w[3] = _mm256_or_si256(_mm256_or_si256(a, b), c);
}

template <int N, int H0, int NH>
void run_q6_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_k<N, H0, NH, 3360, false>(nb, group, act, act_nb, y, y_stride, prefetch,
                                  [&]<int H>(const uint8_t* col, int64_t b, __m256i* isum, __m256i*) {
                                      scale_offset<N, H, 8, 5>(col, act, act_nb, b, isum); // offset 32
                                      for_groups([&]<int G>() {
                                          __m256i w[8];
                                          unpack_q6_k<2 * G, H>(col, w);
                                          unpack_q6_k<2 * G + 1, H>(col, w + 4);
                                          sub16_pair<N, 63>(w, scale_i8(col + 32 + 32 * G + 8 * H),
                                                            scale_i8(col + 48 + 32 * G + 8 * H), act, act_nb, b, G,
                                                            isum);
                                      });
                                  });
}

// Group G's low 2 bits from a 2-bit plane (Q2_K, Q3_K).
template <int G, int H> inline __m256i low2(const uint8_t* plane, int k) {
    const __m256i v = half<H>(plane + 512 * (G / 4) + 64 * k);
    return _mm256_and_si256(_mm256_srli_epi16(v, 2 * (G % 4)), _mm256_set1_epi8(3));
}

template <int N, int H0, int NH>
void run_q3_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_k<N, H0, NH, 1824, false>(
        nb, group, act, act_nb, y, y_stride, prefetch,
        [&]<int H>(const uint8_t* col, int64_t b, __m256i* isum, __m256i*) {
            scale_offset<N, H, 8, 2>(col, act, act_nb, b, isum); // offset 4
            for_groups([&]<int G>() {
                __m256i w[8];
                for (int k = 0; k < 8; ++k)
                    w[k] = _mm256_or_si256(low2<G, H>(col + 288, k), bit_to<G, 2>(half<H>(col + 1312 + 64 * k)));
                sub16_pair<N, 7>(w, scale_i8(col + 32 + 32 * G + 8 * H), scale_i8(col + 48 + 32 * G + 8 * H), act,
                                 act_nb, b, G, isum);
            });
        });
}

template <int N, int H0, int NH>
void run_q2_k(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
              bool prefetch) {
    run_k<N, H0, NH, 1344, true>(
        nb, group, act, act_nb, y, y_stride, prefetch,
        [&]<int H>(const uint8_t* col, int64_t b, __m256i* isum, __m256i* msum) {
            const __m256i low4 = _mm256_set1_epi32(15);
            auto low_nibbles = [&](const uint8_t* p) { // the scales: low nibbles of the scale bytes
                return scale_of(
                    _mm256_and_si256(_mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(p))), low4));
            };
            for_groups([&]<int G>() {
                __m256i w[8];
                for (int k = 0; k < 8; ++k)
                    w[k] = low2<G, H>(col + 320, k);
                sub16_pair<N, 3>(w, low_nibbles(col + 64 + 32 * G + 8 * H), low_nibbles(col + 80 + 32 * G + 8 * H), act,
                                 act_nb, b, G, isum);
            });
            // The mins (high nibbles) as int16 pairs m[2p] | m[2p + 1] << 16 against the 16-element sums.
            __m256i mp[8];
            for (int p = 0; p < 8; ++p) {
                const __m256i lo = _mm256_srli_epi32(
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(col + 64 + 32 * p + 8 * H))),
                    4);
                const __m256i hi = _mm256_srli_epi32(
                    _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(col + 80 + 32 * p + 8 * H))),
                    4);
                mp[p] = _mm256_or_si256(lo, _mm256_slli_epi32(hi, 16));
            }
            pair_sums<N, 8>(mp, act, act_nb, b, true, msum);
        });
}

template <int N, int H0, int NH>
void run_iq4_xs(int64_t nb, const uint8_t* group, const PackedActK* act, int64_t act_nb, float* y, size_t y_stride,
                bool prefetch) {
    const __m256i table = iq4nl_table();
    const __m256i low4 = _mm256_set1_epi8(0x0F);
    run_k<N, H0, NH, 2208, false>(nb, group, act, act_nb, y, y_stride, prefetch,
                                  [&]<int H>(const uint8_t* col, int64_t b, __m256i* isum, __m256i*) {
                                      for_groups([&]<int J>() {
                                          __m256i w[8];
                                          const uint8_t* chunk = col + 160 + 256 * J;
                                          for (int k = 0; k < 4; ++k) {
                                              const __m256i v = half<H>(chunk + 64 * k);
                                              w[k] = _mm256_shuffle_epi8(table, _mm256_and_si256(v, low4));
                                              w[4 + k] = _mm256_shuffle_epi8(
                                                  table, _mm256_and_si256(_mm256_srli_epi16(v, 4), low4));
                                          }
                                          const Scale sc = scale_i8(col + 32 + 16 * J + 8 * H);
                                          [[maybe_unused]] __m256i wa[8];
                                          if constexpr (!kVnni)
                                              for (int k = 0; k < 8; ++k)
                                                  wa[k] = _mm256_abs_epi8(w[k]);
                                          for (int t = 0; t < N; ++t) {
                                              const int8_t* q = act[t * act_nb + b].q + 32 * J;
                                              if constexpr (kVnni)
                                                  isum[t] = _mm256_add_epi32(isum[t], dot_u<8, 255>(w, q, sc));
                                              else
                                                  isum[t] = _mm256_add_epi32(isum[t], dot_s<8>(w, wa, q, sc));
                                          }
                                      });
                                      if constexpr (kVnni)
                                          scale_offset<N, H, 4, 7>(col, act, act_nb, b, isum); // offset 128
                                  });
}

// The kernel for N tokens and halves H0 .. H0 + NH - 1: Q2_K (kType 2), Q3_K (3), Q4_K (4) / Q5_K (5), Q6_K (6), or
// IQ4_XS (0).
template <int kType, int N, int H0, int NH>
void run_kquant(int64_t nb, const uint8_t* g, const PackedActK* a, int64_t act_nb, float* y, size_t ys, bool prefetch) {
    if constexpr (kType == 6)
        run_q6_k<N, H0, NH>(nb, g, a, act_nb, y, ys, prefetch);
    else if constexpr (kType == 3)
        run_q3_k<N, H0, NH>(nb, g, a, act_nb, y, ys, prefetch);
    else if constexpr (kType == 2)
        run_q2_k<N, H0, NH>(nb, g, a, act_nb, y, ys, prefetch);
    else if constexpr (kType == 0)
        run_iq4_xs<N, H0, NH>(nb, g, a, act_nb, y, ys, prefetch);
    else
        run_q4_k<kType == 5, N, H0, NH>(nb, g, a, act_nb, y, ys, prefetch);
}

template <int kType>
void gemm_k(int64_t nb, const uint8_t* group, const void* act, int64_t act_nb, int n_tok, float* y, size_t y_stride,
            bool prefetch) {
    token_tiles<8>(static_cast<const PackedActK*>(act), act_nb, n_tok, y, y_stride,
                   [&]<int N>(const PackedActK* a, float* yt) {
                       by_halves<N>([&]<int H0, int NH>() {
                           run_kquant<kType, N, H0, NH>(nb, group, a, act_nb, yt, y_stride, prefetch);
                       });
                   });
}

} // namespace

HEARTH_X16_LEGACY_TYPES(HEARTH_X16_DEFINE_LEGACY)
HEARTH_X16_K_TYPES(HEARTH_X16_DEFINE_K)

// table.traits[t].packed_gemm for every x16 type: this namespace's kernels (declared in avx2/kernels.h for avx2).
void register_x16(KernelTable& table) {
    HEARTH_X16_REGISTER_ALL()
}

} // namespace hearth::cpu::HEARTH_X16_NS
