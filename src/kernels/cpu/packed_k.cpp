// kernels/cpu/packed_k.cpp: the Q2_K / Q3_K / Q4_K / Q5_K / Q6_K / IQ4_XS x16 layouts (packed_k.h) and their scalar
// kernels.
#include "kernels/cpu/packed_k.h"

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/k_scales.h"
#include "tensor/quant_blocks.h"

#include <cmath>
#include <cstring>
#include <type_traits>

namespace hearth::cpu::packed_k {
namespace {

constexpr int kRows = 16;

inline size_t lane_byte(size_t base, int r, int i) {
    return base + 4 * size_t(r) + size_t(i);
}

// Q4_K offsets (packed_k.h).
constexpr size_t kQ4Sc = 64, kQ4Min = 192;
// The nibbles' start in a Q4_K or Q5_K column.
template <typename Block> constexpr size_t kQs = std::is_same_v<Block, BlockQ5_K> ? kQ5KQs : kQ4KQs;
// Q6_K offsets.
constexpr size_t kQ6Sc = 32, kQ6Q = 288;
// IQ4_XS offsets.
constexpr size_t kIq4Sc = 32, kIq4Qs = 160;
// Q3_K offsets (its scales where Q6_K has them), Q2_K offsets.
constexpr size_t kQ3Sc = 32, kQ3Qs = 288, kQ3Hm = 1312;
constexpr size_t kQ2Sc = 64, kQ2Qs = 320;

// Q2_K's / Q3_K's 2-bit plane at base: lane r = qs[r][32 n + 4 k .. + 3] at base + 512 n + 64 k.
void move_2bit_plane(uint8_t* qs, uint8_t* col, size_t base, int r, bool to_col) {
    for (int n = 0; n < 2; ++n)
        for (int k = 0; k < 8; ++k) {
            uint8_t* p = col + lane_byte(base + 512 * size_t(n) + 64 * size_t(k), r, 0);
            to_col ? std::memcpy(p, qs + 32 * n + 4 * k, 4) : std::memcpy(qs + 32 * n + 4 * k, p, 4);
        }
}

// The inverse of unpack_q3_k_scales: 16 6-bit scales (offset 32, as bytes) -> Q3_K's 12-byte field.
void pack_q3_k_scales(const uint8_t s[16], uint8_t out[12]) {
    for (int i = 0; i < 4; ++i) {
        out[i] = uint8_t((s[i] & 15) | ((s[8 + i] & 15) << 4));
        out[4 + i] = uint8_t((s[4 + i] & 15) | ((s[12 + i] & 15) << 4));
        out[8 + i] = uint8_t((s[i] >> 4) | ((s[4 + i] >> 4) << 2) | ((s[8 + i] >> 4) << 4) | ((s[12 + i] >> 4) << 6));
    }
}

// 8 scales and 8 mins (6 bits each) -> the 12-byte field unpack_k4_scales reads.
void pack_k4_scales(const uint8_t sc[8], const uint8_t m[8], uint8_t out[12]) {
    for (int s = 0; s < 4; ++s) {
        out[s] = uint8_t((sc[s] & 63) | ((sc[s + 4] >> 4) << 6));
        out[s + 4] = uint8_t((m[s] & 63) | ((m[s + 4] >> 4) << 6));
        out[s + 8] = uint8_t((sc[s + 4] & 15) | ((m[s + 4] & 15) << 4));
    }
}

// Q4_K, and Q5_K (the same plus qh: kQ5KQh + 64 k, lane r = qh[r][4 k .. + 3]; its qs at kQ5KQs).
template <typename Block> void convert_q4_k(uint8_t* blk, uint8_t* col, int r, bool to_col) {
    auto* b = reinterpret_cast<Block*>(blk);
    auto move = [to_col](void* file, void* packed, size_t n) {
        to_col ? std::memcpy(packed, file, n) : std::memcpy(file, packed, n);
    };
    move(&b->d, col + 2 * r, 2);
    move(&b->dmin, col + 32 + 2 * r, 2);
    uint8_t sm[16]; // scales 0-7, mins 0-7
    if (to_col) {
        uint32_t aux[4];
        unpack_k4_scales(b->scales, aux);
        std::memcpy(sm, aux, 16);
    }
    for (int j = 0; j < 8; ++j) {
        move(&sm[j], col + kQ4Sc + 16 * size_t(j) + size_t(r), 1);
        move(&sm[8 + j], col + lane_byte(kQ4Min + 64 * size_t(j / 4), r, j % 4), 1);
    }
    if (!to_col) pack_k4_scales(sm, sm + 8, b->scales);
    for (int c = 0; c < 4; ++c)
        for (int k = 0; k < 8; ++k)
            move(b->qs + 32 * c + 4 * k, col + lane_byte(kQs<Block> + 512 * size_t(c) + 64 * size_t(k), r, 0), 4);
    if constexpr (std::is_same_v<Block, BlockQ5_K>)
        for (int k = 0; k < 8; ++k)
            move(b->qh + 4 * k, col + lane_byte(kQ5KQh + 64 * size_t(k), r, 0), 4);
}

// Q6_K's 6-bit quant e (0..255, unsigned) in the file block (ggml's layout: element 128 n + 32 m + l has the low nibble
// of ql[64 n + 32 (m & 1) + l] (m < 2: low, else high) and bits 2m, 2m + 1 of qh[32 n + l]).
int q6_file_quant(const BlockQ6_K& b, int e) {
    const int n = e / 128, m = (e % 128) / 32, l = e % 32;
    const uint8_t ql = b.ql[64 * n + 32 * (m & 1) + l];
    return (m < 2 ? ql & 0x0F : ql >> 4) | (((b.qh[32 * n + l] >> (2 * m)) & 3) << 4);
}
void set_q6_file_quant(BlockQ6_K& b, int e, int q) {
    const int n = e / 128, m = (e % 128) / 32, l = e % 32;
    uint8_t& ql = b.ql[64 * n + 32 * (m & 1) + l];
    ql = m < 2 ? uint8_t((ql & 0xF0) | (q & 0x0F)) : uint8_t((ql & 0x0F) | ((q & 0x0F) << 4));
    uint8_t& qh = b.qh[32 * n + l];
    qh = uint8_t((qh & ~(3 << (2 * m))) | (((q >> 4) & 3) << (2 * m)));
}

// Q6_K's chunk c (c < 3) of sub-block s: byte i of lane r.
inline size_t q6_chunk_byte(int s, int c, int r, int i) {
    return lane_byte(kQ6Q + 192 * size_t(s) + 64 * size_t(c), r, i);
}

void convert_q6_k(uint8_t* blk, uint8_t* col, int r, bool to_col) {
    auto* b = reinterpret_cast<BlockQ6_K*>(blk);
    auto move = [to_col](void* file, void* packed, size_t n) {
        to_col ? std::memcpy(packed, file, n) : std::memcpy(file, packed, n);
    };
    move(&b->d, col + 2 * r, 2);
    for (int j = 0; j < 16; ++j)
        move(&b->scales[j], col + kQ6Sc + 16 * size_t(j) + size_t(r), 1);
    for (int s = 0; s < 16; ++s)
        for (int i = 0; i < 4; ++i) {
            const int e3 = 16 * s + 12 + i; // the element spread over the chunks' bits 6, 7
            int q3 = to_col ? q6_file_quant(*b, e3) : 0;
            for (int c = 0; c < 3; ++c) {
                uint8_t& byte = col[q6_chunk_byte(s, c, r, i)];
                if (to_col) {
                    byte = uint8_t(q6_file_quant(*b, 16 * s + 4 * c + i) | (((q3 >> (2 * c)) & 3) << 6));
                } else {
                    set_q6_file_quant(*b, 16 * s + 4 * c + i, byte & 63);
                    q3 |= (byte >> 6) << (2 * c);
                }
            }
            if (!to_col) set_q6_file_quant(*b, e3, q3);
        }
}

void convert_q3_k(uint8_t* blk, uint8_t* col, int r, bool to_col) {
    auto* b = reinterpret_cast<BlockQ3_K*>(blk);
    to_col ? std::memcpy(col + 2 * r, &b->d, 2) : std::memcpy(&b->d, col + 2 * r, 2);
    uint8_t s[16];
    if (to_col) {
        uint32_t aux[4];
        unpack_q3_k_scales(b->scales, aux);
        std::memcpy(s, aux, 16);
    }
    for (int j = 0; j < 16; ++j) {
        uint8_t& sc = col[kQ3Sc + 16 * size_t(j) + size_t(r)];
        if (to_col)
            sc = uint8_t(int8_t(int(s[j]) - 32));
        else
            s[j] = uint8_t(int(int8_t(sc)) + 32);
    }
    if (!to_col) pack_q3_k_scales(s, b->scales);
    move_2bit_plane(b->qs, col, kQ3Qs, r, to_col);
    for (int k = 0; k < 8; ++k) {
        uint8_t* p = col + lane_byte(kQ3Hm + 64 * size_t(k), r, 0);
        to_col ? std::memcpy(p, b->hmask + 4 * k, 4) : std::memcpy(b->hmask + 4 * k, p, 4);
    }
}

void convert_q2_k(uint8_t* blk, uint8_t* col, int r, bool to_col) {
    auto* b = reinterpret_cast<BlockQ2_K*>(blk);
    auto move = [to_col](void* file, void* packed, size_t n) {
        to_col ? std::memcpy(packed, file, n) : std::memcpy(file, packed, n);
    };
    move(&b->d, col + 2 * r, 2);
    move(&b->dmin, col + 32 + 2 * r, 2);
    for (int j = 0; j < 16; ++j)
        move(&b->scales[j], col + kQ2Sc + 16 * size_t(j) + size_t(r), 1);
    move_2bit_plane(b->qs, col, kQ2Qs, r, to_col);
}

void convert_iq4_xs(uint8_t* blk, uint8_t* col, int r, bool to_col) {
    auto* b = reinterpret_cast<BlockIQ4_XS*>(blk);
    auto move = [to_col](void* file, void* packed, size_t n) {
        to_col ? std::memcpy(packed, file, n) : std::memcpy(file, packed, n);
    };
    move(&b->d, col + 2 * r, 2);
    if (!to_col) {
        b->scales_h = 0;
        std::memset(b->scales_l, 0, sizeof(b->scales_l));
    }
    for (int j = 0; j < 8; ++j) {
        uint8_t& sc = col[kIq4Sc + 16 * size_t(j) + size_t(r)];
        if (to_col) {
            const int ls = ((b->scales_l[j / 2] >> (4 * (j % 2))) & 0xF) | (((b->scales_h >> (2 * j)) & 3) << 4);
            sc = uint8_t(int8_t(ls - 32));
        } else {
            const int ls = int(int8_t(sc)) + 32;
            b->scales_l[j / 2] = uint8_t(b->scales_l[j / 2] | ((ls & 0xF) << (4 * (j % 2))));
            b->scales_h = uint16_t(b->scales_h | ((ls >> 4) << (2 * j)));
        }
        for (int k = 0; k < 4; ++k)
            move(b->qs + 16 * j + 4 * k, col + lane_byte(kIq4Qs + 256 * size_t(j) + 64 * size_t(k), r, 0), 4);
    }
}

inline float half_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

// Element e (0..255) of lane r, unsigned: Q4_K 0..15, Q6_K 0..63.
template <bool kQ5> inline int q4_k_quant(const uint8_t* col, int r, int e) {
    const int c = e / 64, hi = (e % 64) / 32, k = (e % 32) / 4, i = e % 4;
    const uint8_t byte = col[lane_byte((kQ5 ? kQ5KQs : kQ4KQs) + 512 * size_t(c) + 64 * size_t(k), r, i)];
    int q = hi ? byte >> 4 : byte & 0x0F;
    if constexpr (kQ5) q |= ((col[lane_byte(kQ5KQh + 64 * size_t(k), r, i)] >> (e / 32)) & 1) << 4;
    return q;
}
inline int q6_k_quant(const uint8_t* col, int r, int e) {
    const int s = e / 16, k = (e % 16) / 4, i = e % 4;
    if (k < 3) return col[q6_chunk_byte(s, k, r, i)] & 63;
    int q = 0;
    for (int c = 0; c < 3; ++c)
        q |= (col[q6_chunk_byte(s, c, r, i)] >> 6) << (2 * c);
    return q;
}

// Q2_K's (0..3) and Q3_K's (0..7: the high bit adds 4) unsigned quant e of lane r.
inline int low2_quant(const uint8_t* col, size_t base, int r, int e) {
    const int n = e / 128, j = (e % 128) / 32, l = e % 32;
    return (col[lane_byte(base + 512 * size_t(n) + 64 * size_t(l / 4), r, l % 4)] >> (2 * j)) & 3;
}
inline int q3_k_quant(const uint8_t* col, int r, int e) {
    const int l = e % 32;
    const int hb = (col[lane_byte(kQ3Hm + 64 * size_t(l / 4), r, l % 4)] >> (e / 32)) & 1;
    return low2_quant(col, kQ3Qs, r, e) | (hb << 2);
}

inline int iq4_xs_quant(const uint8_t* col, int r, int e) {
    const int j = e / 32, w = e % 32, idx = w % 16;
    const uint8_t byte = col[lane_byte(kIq4Qs + 256 * size_t(j) + 64 * size_t(idx / 4), r, idx % 4)];
    return kIq4NlValues[w < 16 ? byte & 0x0F : byte >> 4] + 128;
}

// The scalar x16 fold (packed_k.h) for every token and row: fold(col, a, r, acc) adds one super-block.
template <size_t kColumn, typename Fold>
void gemm_rows(int64_t nb, const uint8_t* group, const void* act_v, int64_t act_nb, int n_tok, float* y,
               size_t y_stride, Fold fold) {
    const auto* act = static_cast<const PackedActK*>(act_v);
    for (int t = 0; t < n_tok; ++t)
        for (int r = 0; r < kRows; ++r) {
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; ++b)
                acc = fold(group + size_t(b) * kColumn, act[t * act_nb + b], r, acc);
            y[size_t(t) * y_stride + size_t(r)] = acc;
        }
}

template <bool kQ5> float fold_q4_k(const uint8_t* col, const PackedActK& a, int r, float acc) {
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 8; ++j) {
        int32_t s = 0;
        for (int e = 32 * j; e < 32 * j + 32; ++e)
            s += q4_k_quant<kQ5>(col, r, e) * int32_t(a.q[e]);
        isum += int32_t(col[kQ4Sc + 16 * size_t(j) + size_t(r)]) * s;
        msum += int32_t(col[lane_byte(kQ4Min + 64 * size_t(j / 4), r, j % 4)]) * int32_t(a.bs32[j]);
    }
    acc = std::fma(float(isum), half_at(col + 2 * r) * a.d, acc);
    return std::fma(-float(msum), half_at(col + 32 + 2 * r) * a.d, acc);
}

// The fold of the types whose scales are signed bytes at sc_base + 16 j and whose quants carry an offset (Q6_K: 16
// sub-blocks of 16, offset 32; Q3_K: 16 of 16, offset 4; IQ4_XS: 8 of 32, offset 128): isum = sum_j sc[j] (S_j -
// kOffset sums[j]), sums the activation's 16- or 32-element sums.
template <int kSub, int kOffset, size_t kScBase, typename Quant>
float fold_offset(const uint8_t* col, const PackedActK& a, int r, float acc, Quant quant) {
    const int16_t* sums = kSub == 16 ? a.bs16 : a.bs32;
    int32_t isum = 0;
    for (int j = 0; j < 256 / kSub; ++j) {
        int32_t s = 0;
        for (int e = kSub * j; e < kSub * j + kSub; ++e)
            s += quant(col, r, e) * int32_t(a.q[e]);
        isum += int32_t(int8_t(col[kScBase + 16 * size_t(j) + size_t(r)])) * (s - kOffset * int32_t(sums[j]));
    }
    return std::fma(float(isum), half_at(col + 2 * r) * a.d, acc);
}
float fold_q6_k(const uint8_t* col, const PackedActK& a, int r, float acc) {
    return fold_offset<16, 32, kQ6Sc>(col, a, r, acc, q6_k_quant);
}
float fold_q3_k(const uint8_t* col, const PackedActK& a, int r, float acc) {
    return fold_offset<16, 4, kQ3Sc>(col, a, r, acc, q3_k_quant);
}
float fold_iq4_xs(const uint8_t* col, const PackedActK& a, int r, float acc) {
    return fold_offset<32, 128, kIq4Sc>(col, a, r, acc, iq4_xs_quant);
}

float fold_q2_k(const uint8_t* col, const PackedActK& a, int r, float acc) {
    int32_t isum = 0, msum = 0;
    for (int j = 0; j < 16; ++j) {
        int32_t s = 0;
        for (int e = 16 * j; e < 16 * j + 16; ++e)
            s += low2_quant(col, kQ2Qs, r, e) * int32_t(a.q[e]);
        const uint8_t sm = col[kQ2Sc + 16 * size_t(j) + size_t(r)];
        isum += int32_t(sm & 15) * s;
        msum += int32_t(sm >> 4) * int32_t(a.bs16[j]);
    }
    acc = std::fma(float(isum), half_at(col + 2 * r) * a.d, acc);
    return std::fma(-float(msum), half_at(col + 32 + 2 * r) * a.d, acc);
}

void gemm_q4_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kQ4KColumn>(nb, g, a, act_nb, n, y, ys, fold_q4_k<false>);
}
void gemm_q5_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kQ5KColumn>(nb, g, a, act_nb, n, y, ys, fold_q4_k<true>);
}
void gemm_q6_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kQ6KColumn>(nb, g, a, act_nb, n, y, ys, fold_q6_k);
}
void gemm_q3_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kQ3KColumn>(nb, g, a, act_nb, n, y, ys, fold_q3_k);
}
void gemm_q2_k(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kQ2KColumn>(nb, g, a, act_nb, n, y, ys, fold_q2_k);
}
void gemm_iq4_xs(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys, bool) {
    gemm_rows<kIQ4XSColumn>(nb, g, a, act_nb, n, y, ys, fold_iq4_xs);
}

} // namespace

size_t column_bytes(DType t) {
    if (t == DType::Q4_K) return kQ4KColumn;
    if (t == DType::Q5_K) return kQ5KColumn;
    if (t == DType::Q6_K) return kQ6KColumn;
    if (t == DType::IQ4_XS) return kIQ4XSColumn;
    if (t == DType::Q3_K) return kQ3KColumn;
    if (t == DType::Q2_K) return kQ2KColumn;
    return 0;
}

void convert_block(DType t, uint8_t* blk, uint8_t* col, int r, bool to_col) {
    if (t == DType::Q4_K)
        convert_q4_k<BlockQ4_K>(blk, col, r, to_col);
    else if (t == DType::Q5_K)
        convert_q4_k<BlockQ5_K>(blk, col, r, to_col);
    else if (t == DType::Q6_K)
        convert_q6_k(blk, col, r, to_col);
    else if (t == DType::IQ4_XS)
        convert_iq4_xs(blk, col, r, to_col);
    else if (t == DType::Q3_K)
        convert_q3_k(blk, col, r, to_col);
    else if (t == DType::Q2_K)
        convert_q2_k(blk, col, r, to_col);
    else
        HEARTH_CHECK(false, "not a K-quant x16 type");
}

PackedGemmFn scalar_kernel(DType t) {
    if (t == DType::Q4_K) return gemm_q4_k;
    if (t == DType::Q5_K) return gemm_q5_k;
    if (t == DType::Q6_K) return gemm_q6_k;
    if (t == DType::IQ4_XS) return gemm_iq4_xs;
    if (t == DType::Q3_K) return gemm_q3_k;
    if (t == DType::Q2_K) return gemm_q2_k;
    return nullptr;
}

} // namespace hearth::cpu::packed_k
