// kernels/cuda/attention.cu: the KV cache store and attention of each query head over its sequence's f16 cache.
//
// One block of 128 threads per (head, token); keys in tiles of 128, one key per thread (its dot product with the
// query, which is rounded to f16 first as the CPU backend and llama.cpp do), softmax kept online (running max and
// sum, Milakov & Gimelshein 2018), each thread owning up to 2 of the value dims. A query's result depends only on
// its own row and its cache, so it is the same in any batch.
#include "kernels/cuda/cuda_api.h"
#include "kernels/cuda/cuda_util.cuh"

#include <cuda_fp16.h>

namespace hearth::cuda {
namespace {

constexpr int kThreads = 128;
constexpr int kDimsPerThread = kMaxHeadDim / kThreads;

__global__ void kv_store_kernel(const float* k, const float* v, int64_t n_tokens, AttnArgs a) {
    const int64_t k_row = int64_t(a.n_head_kv) * a.head_dim_k, v_row = int64_t(a.n_head_kv) * a.head_dim_v;
    const int64_t row = k_row > v_row ? k_row : v_row;
    const int64_t id = int64_t(blockIdx.x) * blockDim.x + threadIdx.x;
    if (id >= n_tokens * row) return;
    const int64_t t = id / row, i = id % row;
    const int64_t p = a.pos[t];
    if (i < k_row) a.k_cache[t][p * k_row + i] = __half_as_ushort(__float2half_rn(k[t * k_row + i]));
    if (i < v_row) a.v_cache[t][p * v_row + i] = __half_as_ushort(__float2half_rn(v[t * v_row + i]));
}

__device__ __forceinline__ float h2f(uint16_t h) {
    return __half2float(__ushort_as_half(h));
}

__global__ void attention_kernel(const float* q, AttnArgs a, float* out) {
    __shared__ float qs[kMaxHeadDim];
    __shared__ float p[kThreads];
    __shared__ float red[32];
    const int h = int(blockIdx.x);
    const int64_t t = blockIdx.y;
    const int tid = int(threadIdx.x);
    const int hk = h / (a.n_head / a.n_head_kv);
    const int64_t k_row = int64_t(a.n_head_kv) * a.head_dim_k, v_row = int64_t(a.n_head_kv) * a.head_dim_v;
    for (int i = tid; i < a.head_dim_k; i += kThreads)
        qs[i] = __half2float(__float2half_rn(q[(t * a.n_head + h) * a.head_dim_k + i]));
    __syncthreads();
    const int last = a.key_end ? a.key_end[t] - 1 : a.pos[t];
    const int j0 = a.window > 0 ? max(0, last - a.window + 1) : 0;
    const uint16_t* K = a.k_cache[t] + int64_t(hk) * a.head_dim_k;
    const uint16_t* V = a.v_cache[t] + int64_t(hk) * a.head_dim_v;
    float m = -INFINITY, l = 0.0f, acc[kDimsPerThread];
#pragma unroll
    for (int r = 0; r < kDimsPerThread; ++r)
        acc[r] = 0.0f;
    for (int jb = j0; jb <= last; jb += kThreads) {
        const int j = jb + tid;
        float s = -INFINITY;
        if (j <= last) {
            const uint16_t* kj = K + int64_t(j) * k_row;
            float d = 0.0f;
            for (int i = 0; i < a.head_dim_k; ++i)
                d += qs[i] * h2f(kj[i]);
            s = d * a.scale;
        }
        const float m_new = fmaxf(m, block_max(s, red)); // finite: the tile has at least one key
        const float e = j <= last ? expf(s - m_new) : 0.0f;
        const float corr = expf(m - m_new); // 0 on the first tile
        l = l * corr + block_sum(e, red);
        m = m_new;
        p[tid] = e;
        __syncthreads();
        const int nk = min(kThreads, last - jb + 1);
#pragma unroll
        for (int r = 0; r < kDimsPerThread; ++r) {
            const int d = tid + r * kThreads;
            if (d >= a.head_dim_v) break;
            float o = 0.0f;
            for (int k = 0; k < nk; ++k)
                o += p[k] * h2f(V[int64_t(jb + k) * v_row + d]);
            acc[r] = acc[r] * corr + o;
        }
        __syncthreads(); // p is rewritten by the next tile
    }
#pragma unroll
    for (int r = 0; r < kDimsPerThread; ++r) {
        const int d = tid + r * kThreads;
        if (d < a.head_dim_v) out[(t * a.n_head + h) * a.head_dim_v + d] = acc[r] / l;
    }
}

} // namespace

void kv_store(const float* k, const float* v, int64_t n_tokens, const AttnArgs& a, void* stream) {
    const int64_t row = int64_t(a.n_head_kv) * (a.head_dim_k > a.head_dim_v ? a.head_dim_k : a.head_dim_v);
    if (n_tokens * row <= 0) return;
    kv_store_kernel<<<grid_for(n_tokens * row, 256), 256, 0, as_stream(stream)>>>(k, v, n_tokens, a);
}

void attention(const float* q, int64_t n_tokens, const AttnArgs& a, float* out, void* stream) {
    if (n_tokens <= 0) return;
    const dim3 grid(unsigned(a.n_head), unsigned(n_tokens));
    attention_kernel<<<grid, kThreads, 0, as_stream(stream)>>>(q, a, out);
}

} // namespace hearth::cuda
