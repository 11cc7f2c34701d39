// kernels/cuda/rope.cu: RoPE, one thread per (token, head, rotated pair). theta is advanced by repeated
// multiplication in float from pos * freq_scale, as ggml and the CPU backend do, so the angles agree with theirs up
// to the last bits of cosf / sinf.
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_util.cuh"

#include <cmath>

namespace hearth::cuda {
namespace {

__global__ void rope_kernel(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
                            RopeArgs a, float theta_scale) {
    const int32_t half = a.n_dims / 2;
    const int64_t id = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (id >= n_tokens * n_heads * half) return;
    const auto i = int32_t(id % half);
    const int64_t th = id / half; // token * n_heads + head
    const int64_t t = th / n_heads;
    float theta = float(pos[t]) * a.freq_scale;
    for (int32_t k = 0; k < i; ++k)
        theta *= theta_scale;
    const float angle = a.freq_factors ? theta / a.freq_factors[i] : theta;
    const float c = cosf(angle) * a.attn_factor, s = sinf(angle) * a.attn_factor;
    float* xh = x + th * head_dim;
    const int32_t p0 = a.neox ? i : 2 * i, p1 = a.neox ? i + half : 2 * i + 1;
    const float x0 = xh[p0], x1 = xh[p1];
    xh[p0] = x0 * c - x1 * s;
    xh[p1] = x0 * s + x1 * c;
}

} // namespace

void rope(float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos, const RopeArgs& a,
          void* stream) {
    const int64_t n = n_tokens * n_heads * (a.n_dims / 2);
    if (n <= 0) return;
    const float theta_scale = std::pow(a.base, -2.0f / float(a.n_dims)); // on the host, as the CPU computes it
    rope_kernel<<<grid_for(n, 256), 256, 0, as_stream(stream)>>>(x, n_tokens, n_heads, head_dim, pos, a, theta_scale);
}

} // namespace hearth::cuda
