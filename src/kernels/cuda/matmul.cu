// kernels/cuda/matmul.cu: y = x · wᵀ for every weight type in its file layout, and get_rows.
//
// One warp per weight row, 4 rows per block. Each lane takes 32-element groups g = lane, lane + 32, ... of the row,
// dequantizes each once (group_decode.h, tested on the host against kernels/ref) and multiplies it with up to
// kTokTile tokens' f32 activations; the warp then sums its lanes. Activations stay f32 (no 8-bit quantization as
// on the CPU). A token's result depends only on its own activations and the fixed group order, so it is the same in
// any batch (batch invariance).
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_util.cuh"
#include "kernels/cuda/group_decode.h"

namespace hearth::cuda {
namespace {

constexpr int kRowsPerBlock = 4;
constexpr int kTokTile = 8;

template <DType T>
__global__ void matmul_kernel(const uint8_t* __restrict__ w, int64_t rows, int64_t cols, size_t row_bytes,
                              const float* __restrict__ x, int64_t n_tokens, float* __restrict__ y) {
    const int lane = threadIdx.x % 32;
    const int64_t row = int64_t(blockIdx.x) * kRowsPerBlock + threadIdx.x / 32;
    if (row >= rows) return;
    const uint8_t* wr = w + row * int64_t(row_bytes);
    const int64_t n_groups = (cols + gpu::kGroup - 1) / gpu::kGroup;
    for (int64_t t0 = 0; t0 < n_tokens; t0 += kTokTile) {
        const int nt = int(min(int64_t(kTokTile), n_tokens - t0));
        float acc[kTokTile];
#pragma unroll
        for (int t = 0; t < kTokTile; ++t)
            acc[t] = 0.0f;
        for (int64_t g = lane; g < n_groups; g += 32) {
            const int n = int(min(int64_t(gpu::kGroup), cols - g * gpu::kGroup));
            float v[gpu::kGroup];
            gpu::dequant_group(T, wr, g, n, v);
#pragma unroll
            for (int t = 0; t < kTokTile; ++t) {
                if (t >= nt) break;
                const float* xt = x + (t0 + t) * cols + g * gpu::kGroup;
                float s = 0.0f;
#pragma unroll
                for (int i = 0; i < gpu::kGroup; ++i)
                    if (i < n) s += v[i] * xt[i];
                acc[t] += s;
            }
        }
#pragma unroll
        for (int t = 0; t < kTokTile; ++t) {
            if (t >= nt) break;
            const float s = warp_sum(acc[t]);
            if (lane == 0) y[(t0 + t) * rows + row] = s;
        }
    }
}

template <DType T>
__global__ void get_rows_kernel(const uint8_t* __restrict__ table, int64_t cols, size_t row_bytes,
                                const int32_t* __restrict__ rows, float* __restrict__ x) {
    const int64_t t = blockIdx.x;
    const uint8_t* r = table + int64_t(rows[t]) * int64_t(row_bytes);
    const int64_t n_groups = (cols + gpu::kGroup - 1) / gpu::kGroup;
    for (int64_t g = threadIdx.x; g < n_groups; g += blockDim.x) {
        const int n = int(min(int64_t(gpu::kGroup), cols - g * gpu::kGroup));
        float v[gpu::kGroup];
        gpu::dequant_group(T, r, g, n, v);
        for (int i = 0; i < n; ++i)
            x[t * cols + g * gpu::kGroup + i] = v[i];
    }
}

// Calls f.template run<T>() for the runtime type t (every type group_decode.h decodes).
template <class F> void dispatch(DType t, const F& f) {
    switch (t) {
    case DType::F32:
        return f.template run<DType::F32>();
    case DType::F16:
        return f.template run<DType::F16>();
    case DType::BF16:
        return f.template run<DType::BF16>();
    case DType::Q4_0:
        return f.template run<DType::Q4_0>();
    case DType::Q4_1:
        return f.template run<DType::Q4_1>();
    case DType::Q5_0:
        return f.template run<DType::Q5_0>();
    case DType::Q5_1:
        return f.template run<DType::Q5_1>();
    case DType::Q8_0:
        return f.template run<DType::Q8_0>();
    case DType::IQ4_NL:
        return f.template run<DType::IQ4_NL>();
    case DType::Q2_K:
        return f.template run<DType::Q2_K>();
    case DType::Q3_K:
        return f.template run<DType::Q3_K>();
    case DType::Q4_K:
        return f.template run<DType::Q4_K>();
    case DType::Q5_K:
        return f.template run<DType::Q5_K>();
    case DType::Q6_K:
        return f.template run<DType::Q6_K>();
    case DType::IQ4_XS:
        return f.template run<DType::IQ4_XS>();
    default:
        return; // the backend checks group_decodable first
    }
}

// One launch of either kernel, for the type dispatch picks.
struct Launch {
    bool gather;        // get_rows_kernel, else matmul_kernel
    const uint8_t* w;   // the matrix or table, file layout
    int64_t rows, cols; // the matrix's rows (matmul), and its columns
    size_t row_bytes;
    const float* x;     // matmul: the activations
    const int32_t* idx; // get_rows: the table rows to gather
    int64_t n;          // tokens (matmul) or rows gathered (get_rows)
    float* y;
    cudaStream_t s;
    template <DType T> void run() const {
        if (gather)
            get_rows_kernel<T><<<unsigned(n), 128, 0, s>>>(w, cols, row_bytes, idx, y);
        else
            matmul_kernel<T>
                <<<grid_for(rows, kRowsPerBlock), 32 * kRowsPerBlock, 0, s>>>(w, rows, cols, row_bytes, x, n, y);
    }
};

} // namespace

void matmul(DType t, const void* w, int64_t rows, int64_t cols, size_t row_bytes, const float* x, int64_t n_tokens,
            float* y, void* stream) {
    if (rows <= 0 || n_tokens <= 0) return;
    dispatch(t, Launch{false, static_cast<const uint8_t*>(w), rows, cols, row_bytes, x, nullptr, n_tokens, y,
                       as_stream(stream)});
}

void get_rows(DType t, const void* table, int64_t cols, size_t row_bytes, const int32_t* rows, int32_t n, float* x,
              void* stream) {
    if (n <= 0) return;
    dispatch(t, Launch{true, static_cast<const uint8_t*>(table), 0, cols, row_bytes, nullptr, rows, n, x,
                       as_stream(stream)});
}

} // namespace hearth::cuda
