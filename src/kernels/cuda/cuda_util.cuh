// kernels/cuda/cuda_util.cuh: what the .cu files share: the stream cast, launch checks and warp/block reductions.
#pragma once

#include <cuda_runtime.h>

namespace hearth::cuda {

inline cudaStream_t as_stream(void* s) {
    return static_cast<cudaStream_t>(s);
}

inline unsigned grid_for(int64_t n, int threads) {
    return unsigned((n + threads - 1) / threads);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
    for (int o = 16; o > 0; o >>= 1)
        v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// The sum (or max) over a block of blockDim.x threads (a multiple of 32, at most 1024), returned to every thread.
// `shared` holds 32 floats; the block must call it together.
__device__ __forceinline__ float block_sum(float v, float* shared) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    v = warp_sum(v);
    __syncthreads(); // shared may still be read from a previous call
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < n_warps ? shared[lane] : 0.0f;
    return warp_sum(v);
}

__device__ __forceinline__ float block_max(float v, float* shared) {
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, n_warps = blockDim.x / 32;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    v = lane < n_warps ? shared[lane] : -INFINITY;
    return warp_max(v);
}

} // namespace hearth::cuda
