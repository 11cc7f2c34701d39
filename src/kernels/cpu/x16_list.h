// kernels/cpu/x16_list.h: the x16-packed weight types (packed.h) as X-macros, so that each ISA declares, defines and
// registers its x16 kernels from one list. X(name, DType enumerator, impl): impl is the layout struct (LQ8, ...: the
// same names in every ISA's kernel file) for the legacy types, and the K-quant kernel's number for the others.
#pragma once

#include <cstddef>
#include <cstdint>

#define HEARTH_X16_LEGACY_TYPES(X)                                                                                     \
    X(q8_0, Q8_0, LQ8)                                                                                                 \
    X(q4_0, Q4_0, LQ4) X(q5_0, Q5_0, LQ5) X(q4_1, Q4_1, LQ41) X(q5_1, Q5_1, LQ51) X(iq4_nl, IQ4_NL, LIQ4NL)
#define HEARTH_X16_K_TYPES(X)                                                                                          \
    X(q2_k, Q2_K, 2) X(q3_k, Q3_K, 3) X(q4_k, Q4_K, 4) X(q5_k, Q5_K, 5) X(q6_k, Q6_K, 6) X(iq4_xs, IQ4_XS, 0)

// ops.h's PackedGemmFn, one per type: gemm_x16_q8_0, ...
#define HEARTH_X16_SIGNATURE(name)                                                                                     \
    void gemm_x16_##name(int64_t nb, const uint8_t* g, const void* a, int64_t act_nb, int n, float* y, size_t ys,      \
                         bool prefetch)
#define HEARTH_X16_DECLARE(name, type, impl) HEARTH_X16_SIGNATURE(name);
#define HEARTH_X16_DECLARE_ALL() HEARTH_X16_LEGACY_TYPES(HEARTH_X16_DECLARE) HEARTH_X16_K_TYPES(HEARTH_X16_DECLARE)
// Definitions in an ISA's namespace that has gemm_legacy<Layout> / gemm_k<kType> with PackedGemmFn's parameters.
#define HEARTH_X16_DEFINE_LEGACY(name, type, layout)                                                                   \
    HEARTH_X16_SIGNATURE(name) {                                                                                       \
        gemm_legacy<layout>(nb, g, a, act_nb, n, y, ys, prefetch);                                                     \
    }
#define HEARTH_X16_DEFINE_K(name, type, k)                                                                             \
    HEARTH_X16_SIGNATURE(name) {                                                                                       \
        gemm_k<k>(nb, g, a, act_nb, n, y, ys, prefetch);                                                               \
    }
// table.traits[type].packed_gemm = gemm_x16_<name> for every type (KernelTable& table and the ISA's names in scope).
#define HEARTH_X16_REGISTER(name, type, impl)                                                                          \
    table.traits[static_cast<uint32_t>(DType::type)].packed_gemm = gemm_x16_##name;
#define HEARTH_X16_REGISTER_ALL() HEARTH_X16_LEGACY_TYPES(HEARTH_X16_REGISTER) HEARTH_X16_K_TYPES(HEARTH_X16_REGISTER)
