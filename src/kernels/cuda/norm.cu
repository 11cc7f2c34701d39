// kernels/cuda/norm.cu: RMSNorm and LayerNorm, one block per row; sums in float over a block-wide tree (the CPU
// sums in double: the difference stays in the last bits, which tests/backend bounds).
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_util.cuh"

namespace hearth::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rms_norm_kernel(const float* x, const float* w, float* y, int64_t n, float eps) {
    __shared__ float red[32];
    const float* xr = x + int64_t(blockIdx.x) * n;
    float* yr = y + int64_t(blockIdx.x) * n;
    float ss = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        ss += xr[i] * xr[i];
    ss = block_sum(ss, red);
    const float s = 1.0f / sqrtf(ss / float(n) + eps);
    for (int64_t i = threadIdx.x; i < n;
         i += blockDim.x) // y may be x: each element is read, then written, by one thread
        yr[i] = xr[i] * s * w[i];
}

__global__ void layer_norm_kernel(const float* x, const float* w, const float* b, float* y, int64_t n, float eps) {
    __shared__ float red[32];
    const float* xr = x + int64_t(blockIdx.x) * n;
    float* yr = y + int64_t(blockIdx.x) * n;
    float sum = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        sum += xr[i];
    const float mean = block_sum(sum, red) / float(n);
    float sum2 = 0.0f;
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        sum2 += (xr[i] - mean) * (xr[i] - mean);
    const float scale = 1.0f / sqrtf(block_sum(sum2, red) / float(n) + eps);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x)
        yr[i] = (xr[i] - mean) * scale * w[i] + b[i];
}

} // namespace

void rms_norm(const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps, void* stream) {
    if (n_rows > 0) rms_norm_kernel<<<unsigned(n_rows), kThreads, 0, as_stream(stream)>>>(x, w, y, n, eps);
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n, float eps,
                void* stream) {
    if (n_rows > 0) layer_norm_kernel<<<unsigned(n_rows), kThreads, 0, as_stream(stream)>>>(x, w, b, y, n, eps);
}

} // namespace hearth::cuda
