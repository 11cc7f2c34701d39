// kernels/cuda/elementwise.cu: the GLU gate and the element-wise ops, one thread per element.
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_util.cuh"

#include <cuda_fp16.h>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 256;

// ggml's GELU: the tanh approximation on the f16-rounded input, rounded to f16; 0 below -10, x from 10 on.
__device__ float gelu_ggml(float g) {
    if (g <= -10.0f) return 0.0f;
    if (g >= 10.0f) return g;
    const float x = __half2float(__float2half_rn(g));
    const float r = 0.5f * x * (1.0f + tanhf(0.79788456080286535587989211986876f * x * (1.0f + 0.044715f * x * x)));
    return __half2float(__float2half_rn(r));
}

__global__ void glu_kernel(float* gate, const float* up, int64_t n, bool gelu) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n) return;
    const float g = gate[i];
    const float a = gelu ? gelu_ggml(g) : g / (1.0f + expf(-g));
    gate[i] = up ? a * up[i] : a;
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] += y[i];
}

__global__ void add_row_kernel(float* x, const float* b, int64_t total, int64_t n) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < total) x[i] += b[i % n];
}

__global__ void scale_kernel(float* x, int64_t n, float s) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] *= s;
}

__global__ void softcap_kernel(float* x, int64_t n, float cap) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i < n) x[i] = tanhf(x[i] / cap) * cap;
}

__global__ void copy_cols_kernel(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols,
                                 float* dst) {
    const int64_t i = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (i >= n_rows * n_cols) return;
    const int64_t r = i / n_cols, c = i % n_cols;
    dst[i] = src[r * src_cols + col0 + c];
}

} // namespace

void glu(float* gate, const float* up, int64_t n, bool gelu, void* stream) {
    if (n > 0) glu_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(gate, up, n, gelu);
}
void add(float* x, const float* y, int64_t n, void* stream) {
    if (n > 0) add_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(x, y, n);
}
void add_row(float* x, const float* b, int64_t n_rows, int64_t n, void* stream) {
    const int64_t total = n_rows * n;
    if (total > 0) add_row_kernel<<<grid_for(total, kThreads), kThreads, 0, as_stream(stream)>>>(x, b, total, n);
}
void scale(float* x, int64_t n, float s, void* stream) {
    if (n > 0) scale_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(x, n, s);
}
void softcap(float* x, int64_t n, float cap, void* stream) {
    if (n > 0) softcap_kernel<<<grid_for(n, kThreads), kThreads, 0, as_stream(stream)>>>(x, n, cap);
}
void copy_cols(const float* src, int64_t n_rows, int64_t src_cols, int64_t col0, int64_t n_cols, float* dst,
               void* stream) {
    const int64_t total = n_rows * n_cols;
    if (total > 0)
        copy_cols_kernel<<<grid_for(total, kThreads), kThreads, 0, as_stream(stream)>>>(src, n_rows, src_cols, col0,
                                                                                        n_cols, dst);
}

} // namespace hearth::cuda
