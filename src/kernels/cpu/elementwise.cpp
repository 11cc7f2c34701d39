// kernels/cpu/elementwise.cpp: the scalar reference of the table's elementwise ops (ops.h).
#include "kernels/cpu/scalar_dot.h"

#include <cmath>

namespace hearth::cpu::scalar {

void silu_mul(float* gate, const float* up, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        const float g = gate[i];
        gate[i] = g / (1.0f + std::exp(-g)) * up[i];
    }
}

double rms_norm_combine(const double p[8]) {
    const double a0 = p[0] + p[4], a1 = p[1] + p[5], a2 = p[2] + p[6], a3 = p[3] + p[7];
    return (a0 + a2) + (a1 + a3);
}

float rms_norm_scale(double sum_squares, int64_t n, float eps) {
    const auto mean = static_cast<float>(sum_squares / static_cast<double>(n));
    return 1.0f / std::sqrt(mean + eps);
}

void rms_norm(const float* x, const float* w, float* y, int64_t n, float eps) {
    double p[8] = {};
    for (int64_t i = 0; i < n; ++i)
        p[i % 8] += static_cast<double>(x[i] * x[i]);
    const float scale = rms_norm_scale(rms_norm_combine(p), n, eps);
    for (int64_t i = 0; i < n; ++i)
        y[i] = (x[i] * scale) * w[i];
}

void rope_pairs(float* v, int32_t i0, int32_t half, const float* cos, const float* sin, bool neox) {
    for (int32_t i = i0; i < half; ++i) {
        const int32_t a = neox ? i : 2 * i;
        const int32_t b = neox ? i + half : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos[i] - x1 * sin[i];
        v[b] = x0 * sin[i] + x1 * cos[i];
    }
}

void rope(float* x, int32_t n_heads, int32_t head_dim, int32_t half, const float* cos, const float* sin, bool neox) {
    for (int32_t h = 0; h < n_heads; ++h)
        rope_pairs(x + int64_t{h} * head_dim, 0, half, cos, sin, neox);
}

} // namespace hearth::cpu::scalar
