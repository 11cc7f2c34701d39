#include "model/layers.h"

#include "base/check.h"
#include "base/fp16.h"
#include "kernels/cpu/packed.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace hearth {

void matmul(const ComputeCtx& c, const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    if (c.observer != nullptr) c.observer->fn(c.observer->user, w, x, n_tokens);
    if (w.packed != nullptr)
        cpu::matmul_packed(c.kt, c.pool, w.type, w.packed, w.rows, w.cols, x, n_tokens, y, c.act_scratch);
    else
        cpu::matmul(c.kt, c.pool, w.type, w.data, w.rows, w.cols, x, n_tokens, y, c.act_scratch);
}

void rms_norm(const ComputeCtx& c, const float* x, const float* w, float* y, int64_t n_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < n_rows; ++r)
        c.kt.rms_norm(x + r * n, w, y + r * n, n, eps);
}

void layer_norm(const float* x, const float* w, const float* b, float* y, int64_t n_rows, int64_t n, float eps) {
    for (int64_t r = 0; r < n_rows; ++r) {
        const float* xr = x + r * n;
        float* yr = y + r * n;
        double sum = 0;
        for (int64_t i = 0; i < n; ++i)
            sum += static_cast<double>(xr[i]);
        const auto mean = static_cast<float>(sum / static_cast<double>(n));
        double sum2 = 0;
        for (int64_t i = 0; i < n; ++i) {
            const float d = xr[i] - mean;
            yr[i] = d;
            sum2 += static_cast<double>(d * d);
        }
        const auto var = static_cast<float>(sum2 / static_cast<double>(n));
        const float scale = 1.0f / std::sqrt(var + eps);
        for (int64_t i = 0; i < n; ++i)
            yr[i] = yr[i] * scale * w[i] + b[i];
    }
}

void split_qkv(const float* qkv, int64_t n_tokens, int64_t q_dim, int64_t k_dim, int64_t v_dim, float* q, float* k,
               float* v) {
    const int64_t row = q_dim + k_dim + v_dim;
    for (int64_t t = 0; t < n_tokens; ++t) {
        const float* src = qkv + t * row;
        std::copy_n(src, q_dim, q + t * q_dim);
        std::copy_n(src + q_dim, k_dim, k + t * k_dim);
        std::copy_n(src + q_dim + k_dim, v_dim, v + t * v_dim);
    }
}

void add_bias(float* x, const float* b, int64_t n_rows, int64_t n) {
    for (int64_t r = 0; r < n_rows; ++r)
        for (int64_t i = 0; i < n; ++i)
            x[r * n + i] += b[i];
}

void scale_inplace(float* x, int64_t n, float s) {
    for (int64_t i = 0; i < n; ++i)
        x[i] *= s;
}

void add_inplace(float* x, const float* y, int64_t n) {
    for (int64_t i = 0; i < n; ++i)
        x[i] += y[i];
}

void rope(const ComputeCtx& c, float* x, int64_t n_tokens, int32_t n_heads, int32_t head_dim, const int32_t* pos,
          const RopeParams& p) {
    const int32_t half = p.n_dims / 2;
    HEARTH_CHECK(half >= 0 && half <= kMaxRopeHalf, "rope dims out of range (config.cpp checks)");
    const float theta_scale = std::pow(p.base, -2.0f / static_cast<float>(p.n_dims));
    float cos_t[kMaxRopeHalf], sin_t[kMaxRopeHalf];
    for (int64_t t = 0; t < n_tokens; ++t) {
        float theta = static_cast<float>(pos[t]) * p.freq_scale;
        for (int32_t i = 0; i < half; ++i) {
            const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
            const float th = theta / ff;
            cos_t[i] = std::cos(th) * p.attn_factor;
            sin_t[i] = std::sin(th) * p.attn_factor;
            theta *= theta_scale;
        }
        c.kt.rope(x + t * n_heads * head_dim, n_heads, head_dim, half, cos_t, sin_t, p.style == RopeStyle::Neox);
    }
}

namespace {

// GELU (tanh approximation) as ggml evaluates it: on the f16-rounded input, the result rounded to f16. Every
// f16 input has one answer, so the whole function is a 65536-entry table, built once and never written again.
float gelu_f16_exact(uint16_t h) {
    constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
    constexpr float kCoef = 0.044715f;
    const float x = fp16_to_f32(h);
    const float r = 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoef * x * x)));
    return fp16_to_f32(f32_to_fp16(r));
}

const float* gelu_table() {
    static const std::vector<float> table = [] {
        std::vector<float> t(65536);
        for (uint32_t h = 0; h < 65536; ++h)
            t[h] = gelu_f16_exact(uint16_t(h));
        return t;
    }();
    return table.data();
}

float gelu_one(float g, const float* table) {
    if (g <= -10.0f) return 0.0f;
    if (g < 10.0f) return table[f32_to_fp16(g)];
    return g;
}

void gelu_range(float* gate, const float* up, int64_t i0, int64_t i1, const float* gelu) {
    for (int64_t i = i0; i < i1; ++i)
        gate[i] = up ? gelu_one(gate[i], gelu) * up[i] : gelu_one(gate[i], gelu);
}

} // namespace

void glu(const ComputeCtx& c, float* gate, const float* up, int64_t n, FfnAct act) {
    const float* gelu = act == FfnAct::Silu ? nullptr : gelu_table();
    // Chunks of whole cache lines so threads never share one.
    constexpr int64_t kChunk = 16;
    const int64_t n_chunks = (n + kChunk - 1) / kChunk;
    c.pool.run([&](int ith, int nth) {
        const auto [c0, c1] = ThreadPool::split(n_chunks, ith, nth);
        const int64_t i0 = c0 * kChunk, i1 = std::min(n, c1 * kChunk);
        if (i1 <= i0) return;
        if (act == FfnAct::Silu)
            c.kt.silu_mul(gate + i0, up + i0, i1 - i0);
        else
            gelu_range(gate, up, i0, i1, gelu);
    });
}

void gelu(const ComputeCtx& c, float* x, int64_t n) {
    glu(c, x, nullptr, n, FfnAct::GeluTanh);
}

size_t attention_scratch_floats(const AttnParams& p) {
    return cpu::attend_scratch_floats(p.n_ctx, p.head_dim_k);
}

void attention(const ComputeCtx& c, const AttnParams& p, const float* q, const float* k, const float* v,
               const int32_t* pos, int64_t n_tokens, const LayerKv* kv, float* scratch, float* out) {
    if (n_tokens <= 0) return;
    const int64_t k_row = int64_t{p.n_head_kv} * p.head_dim_k;
    const int64_t v_row = int64_t{p.n_head_kv} * p.head_dim_v;
    for (int64_t t = 0; t < n_tokens; ++t) {
        c.kt.to_f16(k + t * k_row, kv[t].k + pos[t] * k_row, k_row);
        c.kt.to_f16(v + t * v_row, kv[t].v + pos[t] * v_row, v_row);
    }
    // Work items: one token's query heads that share a cache head, in chunks of at most kAttnMaxQ, smaller when
    // there are fewer groups than threads (a decode step of a model with one cache head). The kernel computes every
    // query alone, so the chunking changes nothing in the results.
    const int32_t group = p.n_head / p.n_head_kv;
    const int64_t n_groups = n_tokens * p.n_head_kv;
    int32_t n_chunks = (group + cpu::kAttnMaxQ - 1) / cpu::kAttnMaxQ;
    const int64_t nth = c.pool.size();
    if (n_groups * n_chunks < nth) n_chunks = int32_t(std::min<int64_t>(group, (nth + n_groups - 1) / n_groups));
    const int32_t chunk = (group + n_chunks - 1) / n_chunks;
    n_chunks = (group + chunk - 1) / chunk;
    const int64_t n_work = n_groups * n_chunks;
    const size_t stride = attention_scratch_floats(p);
    // Items go to the threads in turn, not in contiguous ranges: a causal token's cost grows with its position, so
    // contiguous ranges gave the last thread the longest prefixes of the pass (1.5B Q6_K pp2048, 2 threads: +1-5%).
    c.pool.run([&](int ith, int nth_run) {
        float* sc = scratch + size_t(ith) * stride;
        for (int64_t w = ith; w < n_work; w += nth_run) {
            const int64_t t = w / (int64_t{p.n_head_kv} * n_chunks);
            const auto hk = int32_t(w / n_chunks % p.n_head_kv);
            const int32_t h0 = hk * group + int32_t(w % n_chunks) * chunk;
            // The last key row this token sees: its own position (causal) or its input's last (encoders).
            const int32_t qp = p.key_end ? p.key_end[t] - 1 : pos[t];
            const int32_t j0 = p.window > 0 ? std::max(0, qp - p.window + 1) : 0;
            cpu::AttnGroup g;
            g.n_q = std::min(chunk, (hk + 1) * group - h0);
            g.q = q + (t * p.n_head + h0) * p.head_dim_k;
            g.q_stride = p.head_dim_k;
            g.k = kv[t].k + int64_t{j0} * k_row + int64_t{hk} * p.head_dim_k;
            g.v = kv[t].v + int64_t{j0} * v_row + int64_t{hk} * p.head_dim_v;
            g.k_stride = k_row;
            g.v_stride = v_row;
            g.n_keys = qp - j0 + 1;
            g.dim_k = p.head_dim_k;
            g.dim_v = p.head_dim_v;
            g.scale = p.scale;
            g.out = out + (t * p.n_head + h0) * p.head_dim_v;
            g.out_stride = p.head_dim_v;
            c.kt.attend_f16(g, sc);
        }
    });
}

} // namespace hearth
