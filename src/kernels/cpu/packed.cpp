// kernels/cpu/packed.cpp: x16 repacking, its scalar kernel (the reference), and matmul over packed weights.
#include "kernels/cpu/packed.h"

#include "base/balanced_range.h"
#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/packed_k.h"
#include "tensor/quant_blocks.h"

#include <algorithm>
#include <cmath>
#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif
#include <cstring>
#include <type_traits>

namespace hearth::cpu {
namespace {

constexpr int64_t kBlock = 32;
constexpr int64_t kQuantizeAloneTokens = 4;

// Where the fields of a legacy block live, in the file's block and in a packed column (see packed.h).
struct Layout {
    size_t src_block;       // bytes of one block in the file layout
    size_t column;          // bytes of one block column of a group (16 blocks)
    int offset;             // what the stored unsigned quants add to the signed ones
    bool has_min;           // Q4_1 / Q5_1: x = d q + m
    bool has_hb;            // Q5_0 / Q5_1: a fifth bit per quant
    bool bytes;             // Q8_0: one byte per quant (else nibbles)
    size_t src_qh = 0;      // file block: offset of qh
    size_t src_qs = 0;      // file block: offset of qs
    size_t col_hb = 0;      // packed column: offset of hb
    size_t col_q = 0;       // packed column: offset of the quant chunks
    int64_t block = kBlock; // elements per block
    bool k_quant = false;   // K-quants, IQ4_XS: packed_k.h's layouts
    bool codebook = false;  // IQ4_NL: a nibble indexes kIq4NlValues
};

Layout layout_of(DType t) {
    Layout l{};
    if (const size_t column = packed_k::column_bytes(t); column > 0) {
        l.src_block = dtype_info(t).type_size;
        l.column = column;
        l.block = HEARTH_QK_K;
        l.k_quant = true;
        return l;
    }
    switch (t) {
    case DType::Q8_0:
        l = {sizeof(BlockQ8_0), 0, 128, false, false, true};
        break;
    case DType::Q4_0:
        l = {sizeof(BlockQ4_0), 0, 8, false, false, false};
        break;
    case DType::Q5_0:
        l = {sizeof(BlockQ5_0), 0, 16, false, true, false};
        break;
    case DType::Q4_1:
        l = {sizeof(BlockQ4_1), 0, 0, true, false, false};
        break;
    case DType::Q5_1:
        l = {sizeof(BlockQ5_1), 0, 0, true, true, false};
        break;
    case DType::IQ4_NL:
        l = {sizeof(BlockIQ4_NL), 0, 128, false, false, false};
        l.codebook = true;
        break;
    default:
        HEARTH_CHECK(false, "type has no x16 layout");
    }
    l.column = size_t(kPackRows) * l.src_block;
    l.src_qh = l.has_min ? 4 : 2;
    l.src_qs = l.src_qh + (l.has_hb ? 4 : 0);
    l.col_hb = 2 * size_t(kPackRows) * (l.has_min ? 2 : 1);
    l.col_q = l.col_hb + (l.has_hb ? 64 : 0);
    return l;
}

// The block column's byte of chunk k (64 bytes each, after `skip` bytes), lane r, byte i.
inline size_t chunk_byte(size_t skip, int k, int r, int i) {
    return skip + 64 * size_t(k) + 4 * size_t(r) + size_t(i);
}

// One file-layout block <-> lane r of a packed block column (pack: to_col true).
void convert_block(DType t, const Layout& l, uint8_t* blk, uint8_t* col, int r, bool to_col) {
    if (l.k_quant) return packed_k::convert_block(t, blk, col, r, to_col);
    auto move = [to_col](uint8_t* file, uint8_t* packed, size_t n) {
        to_col ? std::memcpy(packed, file, n) : std::memcpy(file, packed, n);
    };
    move(blk, col + 2 * r, 2);                                    // d
    if (l.has_min) move(blk + 2, col + 2 * kPackRows + 2 * r, 2); // m
    if (l.bytes) {
        for (int e = 0; e < 32; ++e) {
            uint8_t& q = col[chunk_byte(l.col_q, e / 4, r, e % 4)];
            if (to_col)
                q = uint8_t(int(int8_t(blk[l.src_qs + size_t(e)])) + 128);
            else
                blk[l.src_qs + size_t(e)] = uint8_t(int8_t(int(q) - 128));
        }
        return;
    }
    for (int j = 0; j < 16; ++j)
        move(blk + l.src_qs + size_t(j), &col[chunk_byte(l.col_q, j / 4, r, j % 4)], 1);
    if (!l.has_hb) return;
    // hb byte i of lane r: bit j = the high bit of element 4j + i; qh: bit e = that of element e.
    uint32_t qh = 0;
    if (to_col) std::memcpy(&qh, blk + l.src_qh, 4);
    for (int i = 0; i < 4; ++i) {
        uint8_t& hb = col[l.col_hb + 4 * size_t(r) + size_t(i)];
        if (to_col) hb = 0;
        for (int j = 0; j < 8; ++j) {
            if (to_col)
                hb = uint8_t(hb | (((qh >> (4 * j + i)) & 1u) << j));
            else
                qh |= uint32_t((hb >> j) & 1u) << (4 * j + i);
        }
    }
    if (!to_col) std::memcpy(blk + l.src_qh, &qh, 4);
}

// Calls fn(file block offset, packed column offset, lane) for every block of a (rows, cols) matrix.
template <typename Fn> void for_each_block(const Layout& l, int64_t rows, int64_t cols, Fn fn) {
    const int64_t nb = cols / l.block;
    for (int64_t g = 0; g < rows / kPackRows; ++g)
        for (int r = 0; r < int(kPackRows); ++r)
            for (int64_t b = 0; b < nb; ++b)
                fn(size_t((g * kPackRows + r) * nb + b) * l.src_block, size_t(g * nb + b) * l.column, r);
}

// The stored unsigned quant of element e in lane r of a block column.
inline int stored_quant(const Layout& l, const uint8_t* col, int r, int e) {
    if (l.bytes) return col[chunk_byte(l.col_q, e / 4, r, e % 4)];
    const int ee = e % 16;
    const uint8_t byte = col[chunk_byte(l.col_q, ee / 4, r, ee % 4)];
    int q = e < 16 ? (byte & 0x0F) : (byte >> 4);
    if (l.has_hb) q |= ((col[l.col_hb + 4 * size_t(r) + size_t(e % 4)] >> (e / 4)) & 1) << 4;
    if (l.codebook) q = kIq4NlValues[q] + 128;
    return q;
}

inline float half_at(const uint8_t* p) {
    uint16_t h;
    std::memcpy(&h, p, 2);
    return fp16_to_f32(h);
}

template <DType T>
void gemm_scalar(int64_t nb, const uint8_t* group, const void* act_v, int64_t act_nb, int n_tok, float* y,
                 size_t y_stride, bool) {
    const auto* act = static_cast<const PackedAct*>(act_v);
    const Layout lay = layout_of(T);
    for (int t = 0; t < n_tok; ++t) {
        for (int r = 0; r < int(kPackRows); ++r) {
            float acc = 0.0f;
            for (int64_t b = 0; b < nb; ++b) {
                const uint8_t* col = group + size_t(b) * lay.column;
                const PackedAct& a = act[t * act_nb + b];
                int32_t s = 0;
                for (int e = 0; e < 32; ++e)
                    s += stored_quant(lay, col, r, e) * int32_t(a.q[e]);
                s -= lay.offset * a.s;
                acc = std::fma(float(s), half_at(col + 2 * r) * a.d, acc);
                if (lay.has_min) acc = std::fma(half_at(col + 2 * kPackRows + 2 * r), a.ds, acc);
            }
            y[size_t(t) * y_stride + size_t(r)] = acc;
        }
    }
}

struct PackedArgs {
    PackedGemmFn gemm;
    QuantizeRowFn quantize;
    const uint8_t* w;
    size_t group_bytes;
    int64_t n_out, n_in, nb;
    const float* x;
    int64_t n_tokens;
    float* y;
    void* act;
    size_t act_bytes; // of one block's PackedAct / PackedActK
    bool prefetch;    // KernelTable::prefetch_stream
};

// Phase 1: the activations as one long row of blocks split across threads, quantized by the table's quantizer for
// the weight type (Q8_0, Q8_1 for Q4_1 / Q5_1, Q8_K for K-quants: the bytes the row kernels see) kChunk blocks at a
// time, then widened to Out (PackedAct / PackedActK) by widen(block, out).
template <typename Block, typename Out, int64_t kElems, typename Widen>
void quantize_slice(const PackedArgs& a, int ith, int nth, Widen widen) {
    constexpr int64_t kChunk = 8;
    Block tmp[kChunk];
    const auto [b0, b1] = ThreadPool::split(a.n_tokens * a.nb, ith, nth);
    for (int64_t c0 = b0; c0 < b1; c0 += kChunk) {
        const int64_t n = std::min(kChunk, b1 - c0);
        a.quantize(a.x + c0 * kElems, tmp, n * kElems);
        for (int64_t i = 0; i < n; ++i)
            widen(tmp[i], static_cast<Out*>(a.act)[c0 + i]);
    }
}

template <typename Block> void widen_legacy(const Block& in, PackedAct& out) {
    out.d = fp16_to_f32(in.d);
    int32_t s = 0;
    for (int e = 0; e < 32; ++e)
        s += in.qs[e];
    out.s = s;
    if constexpr (std::is_same_v<Block, BlockQ8_1>)
        out.ds = fp16_to_f32(in.s);
    else
        out.ds = 0.0f;
    std::memcpy(out.q, in.qs, 32);
}

void widen_k(const BlockQ8_K& in, PackedActK& out) {
    out.d = in.d;
    for (int j = 0; j < 16; ++j)
        out.bs16[j] = in.bsums[j];
    for (int j = 0; j < 8; ++j)
        out.bs32[j] = int16_t(in.bsums[2 * j] + in.bsums[2 * j + 1]);
    for (int j = 0; j < 16; ++j)
        out.q6_off[j] = -32 * int32_t(in.bsums[j]);
    std::memcpy(out.q, in.qs, sizeof(out.q));
}

// Phase 2: the 16-row groups, each thread's share balanced at the end (BalancedRange: a group runs whole on one
// thread, the same call whichever thread runs it).
void gemm_slice(const PackedArgs& a, BalancedRange& groups, int ith) {
    groups.for_each(ith, [&a](int64_t g) {
        constexpr int64_t kTokenTile = 16;
        const uint8_t* group = a.w + size_t(g) * a.group_bytes;
        for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTokenTile) {
            const int nt = int(std::min(kTokenTile, a.n_tokens - t0));
            a.gemm(a.nb, group, static_cast<const uint8_t*>(a.act) + size_t(t0 * a.nb) * a.act_bytes, a.nb, nt,
                   a.y + t0 * a.n_out + g * kPackRows, size_t(a.n_out), a.prefetch);
        }
    });
#if defined(__x86_64__) || defined(__i386__)
    _mm_sfence(); // the kernels' non-temporal stores of y (avx512/util.h store_result) land before y is handed on
#endif
}

} // namespace

bool packable(DType t, int64_t rows, int64_t cols) {
    const bool legacy = t == DType::Q8_0 || t == DType::Q4_0 || t == DType::Q5_0 || t == DType::Q4_1 ||
                        t == DType::Q5_1 || t == DType::IQ4_NL;
    const int64_t block = legacy ? kBlock : HEARTH_QK_K;
    return (legacy || packed_k::column_bytes(t) > 0) && rows > 0 && rows % kPackRows == 0 && cols > 0 &&
           cols % block == 0;
}

size_t packed_bytes(DType t, int64_t rows, int64_t cols) {
    HEARTH_CHECK(packable(t, rows, cols), "matrix cannot be packed x16");
    const Layout l = layout_of(t);
    return size_t(rows / kPackRows) * size_t(cols / l.block) * l.column;
}

void pack_x16(DType t, const void* w, int64_t rows, int64_t cols, void* out) {
    HEARTH_CHECK(packable(t, rows, cols), "matrix cannot be packed x16");
    const Layout l = layout_of(t);
    auto* src = const_cast<uint8_t*>(static_cast<const uint8_t*>(w)); // only read (to_col)
    auto* dst = static_cast<uint8_t*>(out);
    for_each_block(l, rows, cols,
                   [&](size_t fo, size_t co, int r) { convert_block(t, l, src + fo, dst + co, r, true); });
}

void unpack_x16(DType t, const void* packed, int64_t rows, int64_t cols, void* out) {
    HEARTH_CHECK(packable(t, rows, cols), "matrix cannot be packed x16");
    const Layout l = layout_of(t);
    auto* src = const_cast<uint8_t*>(static_cast<const uint8_t*>(packed)); // only read (!to_col)
    auto* dst = static_cast<uint8_t*>(out);
    for_each_block(l, rows, cols,
                   [&](size_t fo, size_t co, int r) { convert_block(t, l, dst + fo, src + co, r, false); });
}

void unpack_x16_row(DType t, const void* packed, int64_t cols, int64_t row, void* out) {
    HEARTH_CHECK(packable(t, kPackRows, cols) && row >= 0, "matrix cannot be packed x16");
    const Layout l = layout_of(t);
    const int64_t nb = cols / l.block;
    auto* src = const_cast<uint8_t*>(static_cast<const uint8_t*>(packed)) + size_t(row / kPackRows * nb) * l.column;
    auto* dst = static_cast<uint8_t*>(out);
    for (int64_t b = 0; b < nb; ++b)
        convert_block(t, l, dst + size_t(b) * l.src_block, src + size_t(b) * l.column, int(row % kPackRows), false);
}

PackedGemmFn packed_gemm_scalar(DType t) {
    switch (t) {
    case DType::Q8_0:
        return gemm_scalar<DType::Q8_0>;
    case DType::Q4_0:
        return gemm_scalar<DType::Q4_0>;
    case DType::Q5_0:
        return gemm_scalar<DType::Q5_0>;
    case DType::Q4_1:
        return gemm_scalar<DType::Q4_1>;
    case DType::Q5_1:
        return gemm_scalar<DType::Q5_1>;
    case DType::IQ4_NL:
        return gemm_scalar<DType::IQ4_NL>;
    default:
        return packed_k::scalar_kernel(t);
    }
}

size_t packed_act_bytes(DType t, int64_t n_tokens, int64_t n_in) {
    HEARTH_CHECK(n_tokens >= 0 && n_in >= 0, "negative matmul dimensions");
    if (packed_k::column_bytes(t) > 0) return size_t(n_tokens) * size_t(n_in / HEARTH_QK_K) * sizeof(PackedActK);
    return size_t(n_tokens) * size_t(n_in / kBlock) * sizeof(PackedAct);
}

void matmul_packed(const KernelTable& table, ThreadPool& pool, DType w_type, const void* w, int64_t n_out, int64_t n_in,
                   const float* x, int64_t n_tokens, float* y, void* act_scratch) {
    const TypeTraits& tt = table.at(w_type);
    HEARTH_CHECK(tt.packed_gemm != nullptr, "no x16 kernel for this type");
    HEARTH_CHECK(packable(w_type, n_out, n_in) && n_tokens >= 0, "matrix cannot be packed x16");
    HEARTH_CHECK(act_scratch != nullptr && reinterpret_cast<uintptr_t>(act_scratch) % alignof(PackedAct) == 0,
                 "matmul_packed needs aligned act_scratch");
    if (n_tokens == 0) return;
    PackedArgs a{};
    a.gemm = tt.packed_gemm;
    a.quantize = tt.quantize_act;
    a.w = static_cast<const uint8_t*>(w);
    const Layout l = layout_of(w_type);
    a.nb = n_in / l.block;
    a.group_bytes = size_t(a.nb) * l.column;
    a.n_out = n_out;
    a.n_in = n_in;
    a.x = x;
    a.n_tokens = n_tokens;
    a.y = y;
    a.act = act_scratch;
    a.act_bytes = l.k_quant ? sizeof(PackedActK) : sizeof(PackedAct);
    a.prefetch = table.prefetch_stream;
    const PackedArgs* pa = &a;
    HEARTH_CHECK(l.k_quant ? tt.vec_dot_type == DType::Q8_K
                           : (tt.vec_dot_type == DType::Q8_0 || tt.vec_dot_type == DType::Q8_1),
                 "x16 kernels take Q8_0 / Q8_1 / Q8_K activations");
    const auto quantize = [pa, k_quant = l.k_quant, q8_1 = tt.vec_dot_type == DType::Q8_1](int ith, int nth) {
        if (k_quant)
            quantize_slice<BlockQ8_K, PackedActK, HEARTH_QK_K>(*pa, ith, nth, widen_k);
        else if (q8_1)
            quantize_slice<BlockQ8_1, PackedAct, kBlock>(*pa, ith, nth, widen_legacy<BlockQ8_1>);
        else
            quantize_slice<BlockQ8_0, PackedAct, kBlock>(*pa, ith, nth, widen_legacy<BlockQ8_0>);
    };
    // Decode's few rows are quantized by the caller alone: a pool round trip (and its barrier) per matmul cost more
    // than the work it shares (the same bytes either way).
    if (n_tokens <= kQuantizeAloneTokens)
        quantize(0, 1);
    else
        pool.run(quantize);
    BalancedRange groups(n_out / kPackRows, pool.size());
    pool.run([pa, &groups](int ith, int) { gemm_slice(*pa, groups, ith); });
}

} // namespace hearth::cpu
