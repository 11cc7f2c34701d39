// kernels/cpu/matmul.cpp: y = x . W^T over the kernel table: quantize activations, then tiled dot products.
#include "base/check.h"
#include "kernels/cpu/ops.h"

#include <algorithm>

namespace hearth::cpu {
namespace {

// Tiles of the dot-product phase: a block of kRowBlock weight rows (a few KB to ~50 KB) stays in L1/L2
// while kTokenTile activation rows are swept over it, and the token tile stays in cache across the rows.
constexpr int64_t kRowBlock = 16;
constexpr int64_t kTokenTile = 8;

// Everything a pool job needs, on the caller's stack; the job lambdas capture only a pointer to it, so the
// std::function inside ThreadPool::run stores them inline (no allocation in the decode step).
struct MatmulArgs {
    const TypeTraits* tt;
    const uint8_t* w; // (n_out, n_in) of w_type
    size_t w_row_bytes;
    int64_t n_out;
    int64_t n_in;
    const float* x; // (n_tokens, n_in)
    int64_t n_tokens;
    float* y;           // (n_tokens, n_out)
    uint8_t* act_out;   // act_scratch: (n_tokens, n_in) of vec_dot_type, written by the quantize phase
    const uint8_t* act; // what the dots read: act_out, or x itself for F32
    size_t act_row_bytes;
    int64_t act_block; // elements per block of vec_dot_type
    size_t act_block_bytes;
};

size_t row_bytes(DType t, int64_t n) {
    const auto bytes = dtype_row_bytes(t, uint64_t(n));
    HEARTH_CHECK(n >= 0 && bytes.has_value(), "row length is not a multiple of the type's block size");
    return size_t(*bytes);
}

// The activation rows are contiguous blocks, so x is quantized as one long row split across threads.
void quantize_slice(const MatmulArgs& a, int ith, int nth) {
    const int64_t n_blocks = a.n_tokens * a.n_in / a.act_block;
    const auto [b0, b1] = ThreadPool::split(n_blocks, ith, nth);
    if (b1 > b0)
        a.tt->quantize_act(a.x + b0 * a.act_block, a.act_out + size_t(b0) * a.act_block_bytes, (b1 - b0) * a.act_block);
}

void dot_slice(const MatmulArgs& a, int ith, int nth) {
    const auto [r_begin, r_end] = ThreadPool::split(a.n_out, ith, nth);
    const VecDotFn dot = a.tt->vec_dot;
    const VecDotMultiFn multi = a.tt->vec_dot_multi;
    if (const VecDotTileFn tile = a.tt->vec_dot_tile; tile != nullptr) {
        // kTileRows weight rows x kTileActs tokens per call, over the same 16-row blocks (one token: kTileRows
        // independent dot products in flight).
        for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
            const int64_t r1 = std::min(r0 + kRowBlock, r_end);
            for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTileActs) {
                const int nt = int(std::min<int64_t>(kTileActs, a.n_tokens - t0));
                for (int64_t r = r0; r < r1; r += kTileRows) {
                    const int nr = int(std::min<int64_t>(kTileRows, r1 - r));
                    tile(a.n_in, a.w + size_t(r) * a.w_row_bytes, a.w_row_bytes, nr,
                         a.act + size_t(t0) * a.act_row_bytes, a.act_row_bytes, nt, a.y + t0 * a.n_out + r,
                         size_t(a.n_out));
                }
            }
        }
        return;
    }
    if (multi != nullptr && a.n_tokens > 1) {
        // Weight row r against the whole token tile at once (unpacked once), results scattered to y's columns.
        float col[kTokenTile];
        for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
            const int64_t r1 = std::min(r0 + kRowBlock, r_end);
            for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTokenTile) {
                const int nt = int(std::min(kTokenTile, a.n_tokens - t0));
                for (int64_t r = r0; r < r1; ++r) {
                    multi(a.n_in, a.w + size_t(r) * a.w_row_bytes, a.act + size_t(t0) * a.act_row_bytes,
                          a.act_row_bytes, nt, col);
                    for (int j = 0; j < nt; ++j)
                        a.y[(t0 + j) * a.n_out + r] = col[j];
                }
            }
        }
        return;
    }
    for (int64_t r0 = r_begin; r0 < r_end; r0 += kRowBlock) {
        const int64_t r1 = std::min(r0 + kRowBlock, r_end);
        for (int64_t t0 = 0; t0 < a.n_tokens; t0 += kTokenTile) {
            const int64_t t1 = std::min(t0 + kTokenTile, a.n_tokens);
            for (int64_t r = r0; r < r1; ++r) {
                const uint8_t* w_row = a.w + size_t(r) * a.w_row_bytes;
                for (int64_t t = t0; t < t1; ++t)
                    a.y[t * a.n_out + r] = dot(a.n_in, w_row, a.act + size_t(t) * a.act_row_bytes);
            }
        }
    }
}

} // namespace

size_t act_scratch_bytes(const KernelTable& table, DType w_type, int64_t n_tokens, int64_t n_in) {
    const TypeTraits& tt = table.at(w_type);
    if (tt.quantize_act == nullptr) return 0;
    HEARTH_CHECK(n_tokens >= 0, "negative token count");
    return size_t(n_tokens) * row_bytes(tt.vec_dot_type, n_in);
}

void matmul(const KernelTable& table, ThreadPool& pool, DType w_type, const void* w, int64_t n_out, int64_t n_in,
            const float* x, int64_t n_tokens, float* y, void* act_scratch) {
    const TypeTraits& tt = table.at(w_type);
    HEARTH_CHECK(n_out >= 0 && n_tokens >= 0, "negative matmul dimensions");
    if (n_out == 0 || n_tokens == 0) return;
    MatmulArgs a{};
    a.tt = &tt;
    a.w = static_cast<const uint8_t*>(w);
    a.w_row_bytes = row_bytes(w_type, n_in);
    a.n_out = n_out;
    a.n_in = n_in;
    a.x = x;
    a.n_tokens = n_tokens;
    a.y = y;
    if (tt.quantize_act != nullptr) {
        HEARTH_CHECK(act_scratch != nullptr, "matmul needs act_scratch for this weight type");
        const DTypeInfo& info = dtype_info(tt.vec_dot_type);
        a.act_out = static_cast<uint8_t*>(act_scratch);
        a.act = a.act_out;
        a.act_row_bytes = row_bytes(tt.vec_dot_type, n_in);
        a.act_block = info.block_size;
        a.act_block_bytes = info.type_size;
        const MatmulArgs* pa = &a;
        pool.run([pa](int ith, int nth) { quantize_slice(*pa, ith, nth); });
    } else {
        // F32 activations are used as they are.
        a.act = reinterpret_cast<const uint8_t*>(x);
        a.act_row_bytes = size_t(n_in) * sizeof(float);
    }
    const MatmulArgs* pa = &a;
    pool.run([pa](int ith, int nth) { dot_slice(*pa, ith, nth); });
}

} // namespace hearth::cpu
