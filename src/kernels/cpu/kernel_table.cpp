// kernels/cpu/kernel_table.cpp: the scalar table and the choice of the best table for a CPU.
#include "base/check.h"
#include "kernels/cpu/isa_tables.h"
#include "kernels/cpu/ops.h"
#include "kernels/cpu/scalar_dot.h"

namespace hearth::cpu {

bool KernelTable::supports(DType t) const {
    const auto id = static_cast<uint32_t>(t);
    return id < kMaxDTypeId && traits[id].vec_dot != nullptr;
}

const TypeTraits& KernelTable::at(DType t) const {
    HEARTH_CHECK(supports(t), "weight type has no CPU kernel");
    return traits[static_cast<uint32_t>(t)];
}

KernelTable make_scalar_table() {
    using namespace scalar;
    KernelTable t;
    t.isa = "scalar";
    t.attend_f16 = attend_f16;
    t.silu_mul = silu_mul;
    t.rms_norm = rms_norm;
    t.rope = rope;
    t.to_f16 = quantize_f16;
    set_traits(t, DType::F32, DType::F32, nullptr, dot_f32);
    set_traits(t, DType::F16, DType::F32, nullptr, dot_f16_f32);
    set_traits(t, DType::BF16, DType::BF16, quantize_bf16, dot_bf16);
    set_traits(t, DType::Q4_0, DType::Q8_0, quantize_q8_0, dot_q4_0_q8_0);
    set_traits(t, DType::Q4_1, DType::Q8_1, quantize_q8_1, dot_q4_1_q8_1);
    set_traits(t, DType::Q5_0, DType::Q8_0, quantize_q8_0, dot_q5_0_q8_0);
    set_traits(t, DType::Q5_1, DType::Q8_1, quantize_q8_1, dot_q5_1_q8_1);
    set_traits(t, DType::Q8_0, DType::Q8_0, quantize_q8_0, dot_q8_0_q8_0);
    set_traits(t, DType::Q2_K, DType::Q8_K, quantize_q8_k, dot_q2_k_q8_k);
    set_traits(t, DType::Q3_K, DType::Q8_K, quantize_q8_k, dot_q3_k_q8_k);
    set_traits(t, DType::Q4_K, DType::Q8_K, quantize_q8_k, dot_q4_k_q8_k);
    set_traits(t, DType::Q5_K, DType::Q8_K, quantize_q8_k, dot_q5_k_q8_k);
    set_traits(t, DType::Q6_K, DType::Q8_K, quantize_q8_k, dot_q6_k_q8_k);
    set_traits(t, DType::IQ4_NL, DType::Q8_0, quantize_q8_0, dot_iq4_nl_q8_0);
    set_traits(t, DType::IQ4_XS, DType::Q8_K, quantize_q8_k, dot_iq4_xs_q8_k);
    return t;
}

KernelTable make_kernel_table(const CpuFeatures& f) {
    KernelTable t = make_scalar_table();
    t.prefetch_stream = f.sw_prefetch;
    if (f.avx2 && f.fma && f.f16c) {
        fill_avx2_table(t);
        if (f.avxvnni) fill_avxvnni_table(t);
        if (f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni) {
            fill_avx512_table(t);
            if (f.avx512bf16) fill_avx512bf16_table(t);
            if (f.gfni) fill_avx512_gfni_table(t);
        }
    }
    return t;
}

} // namespace hearth::cpu
