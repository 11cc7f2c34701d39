// kernels/cpu/attend.cpp: the attention kernels' scratch size and the scalar reference attend_f16 (ops.h).
//
// The reference computes what the model did before the kernel existed, bit for bit: ggml's scalar f16 path (double
// dot products of f16 operands, std::exp, a double softmax sum, weights rounded to f16, V rows summed in float in
// row order). Built with -ffp-contract=off like the other scalar kernels.
#include "base/fp16.h"
#include "kernels/cpu/attend_util.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/scalar_dot.h"

#include <algorithm>
#include <cmath>

namespace hearth::cpu {

size_t attend_scratch_floats(int64_t n_keys, int64_t dim_k) {
    // kAttnMaxQ f16-rounded queries and kAttnMaxQ rows of scores, each padded to whole 16-float vectors.
    return size_t(kAttnMaxQ) * size_t(round16(dim_k) + round16(n_keys)) + 16;
}

namespace scalar {

void attend_f16(const AttnGroup& g, float* scratch) {
    const AttnScratch sc = attn_scratch(g, scratch);
    float* qh = sc.q; // (dim_k) the query rounded to f16
    float* s = sc.s;  // (n_keys) scores, then weights
    for (int i = 0; i < g.n_q; ++i) {
        const float* q = g.q + i * g.q_stride;
        for (int64_t d = 0; d < g.dim_k; ++d)
            qh[d] = fp16_to_f32(f32_to_fp16(q[d]));
        float mx = -INFINITY;
        for (int64_t j = 0; j < g.n_keys; ++j) {
            const uint16_t* k = g.k + j * g.k_stride;
            double sum = 0;
            for (int64_t d = 0; d < g.dim_k; ++d)
                sum += double(fp16_to_f32(k[d]) * qh[d]);
            s[j] = float(sum) * g.scale;
            mx = std::max(mx, s[j]);
        }
        double sum = 0;
        for (int64_t j = 0; j < g.n_keys; ++j) {
            s[j] = std::exp(s[j] - mx);
            sum += s[j];
        }
        const auto inv = static_cast<float>(1.0 / sum);
        for (int64_t j = 0; j < g.n_keys; ++j)
            s[j] = fp16_to_f32(f32_to_fp16(s[j] * inv));
        float* out = g.out + i * g.out_stride;
        std::fill_n(out, g.dim_v, 0.0f);
        for (int64_t j = 0; j < g.n_keys; ++j) {
            const uint16_t* v = g.v + j * g.v_stride;
            for (int64_t e = 0; e < g.dim_v; ++e)
                out[e] += s[j] * fp16_to_f32(v[e]);
        }
    }
}

} // namespace scalar
} // namespace hearth::cpu
