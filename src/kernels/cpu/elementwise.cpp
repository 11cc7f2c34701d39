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

} // namespace hearth::cpu::scalar
