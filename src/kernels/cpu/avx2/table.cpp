// kernels/cpu/avx2/table.cpp: the AVX2 entries of the kernel table (compiled with the AVX2 flags; called only
// on CPUs with AVX2 + FMA + F16C). BF16 activations keep the scalar quantizer.
#include "kernels/cpu/avx2/kernels.h"
#include "kernels/cpu/isa_tables.h"
#include "kernels/cpu/scalar_dot.h"

namespace hearth::cpu {

void fill_avx2_table(KernelTable& t) {
    using namespace avx2;
    t.isa = "avx2";
    t.attend_f16 = attend_f16;
    t.silu_mul = silu_mul;
    t.rms_norm = rms_norm;
    t.rope = rope;
    t.to_f16 = quantize_f16;
    // Quantized weights also get the multi-row kernel (after set_traits, which clears it).
    auto set_quant = [&t](DType w, DType act, QuantizeRowFn quantize, VecDotFn dot, VecDotMultiFn multi) {
        set_traits(t, w, act, quantize, dot);
        t.traits[static_cast<uint32_t>(w)].vec_dot_multi = multi;
    };
    set_traits(t, DType::F32, DType::F32, nullptr, dot_f32);
    set_traits(t, DType::F16, DType::F32, nullptr, dot_f16_f32);
    t.traits[static_cast<uint32_t>(DType::F16)].vec_dot_tile = dot_tile_f16_f32;
    set_traits(t, DType::BF16, DType::BF16, scalar::quantize_bf16, dot_bf16);
    set_quant(DType::Q4_0, DType::Q8_0, quantize_q8_0, dot_q4_0_q8_0, dot_multi_q4_0_q8_0);
    set_quant(DType::Q4_1, DType::Q8_1, quantize_q8_1, dot_q4_1_q8_1, dot_multi_q4_1_q8_1);
    set_quant(DType::Q5_0, DType::Q8_0, quantize_q8_0, dot_q5_0_q8_0, dot_multi_q5_0_q8_0);
    set_quant(DType::Q5_1, DType::Q8_1, quantize_q8_1, dot_q5_1_q8_1, dot_multi_q5_1_q8_1);
    set_quant(DType::Q8_0, DType::Q8_0, quantize_q8_0, dot_q8_0_q8_0, dot_multi_q8_0_q8_0);
    set_quant(DType::Q2_K, DType::Q8_K, quantize_q8_k, dot_q2_k_q8_k, dot_multi_q2_k_q8_k);
    set_quant(DType::Q3_K, DType::Q8_K, quantize_q8_k, dot_q3_k_q8_k, dot_multi_q3_k_q8_k);
    set_quant(DType::Q4_K, DType::Q8_K, quantize_q8_k, dot_q4_k_q8_k, dot_multi_q4_k_q8_k);
    set_quant(DType::Q5_K, DType::Q8_K, quantize_q8_k, dot_q5_k_q8_k, dot_multi_q5_k_q8_k);
    set_quant(DType::Q6_K, DType::Q8_K, quantize_q8_k, dot_q6_k_q8_k, dot_multi_q6_k_q8_k);
    set_quant(DType::IQ4_NL, DType::Q8_0, quantize_q8_0, dot_iq4_nl_q8_0, dot_multi_iq4_nl_q8_0);
    set_quant(DType::IQ4_XS, DType::Q8_K, quantize_q8_k, dot_iq4_xs_q8_k, dot_multi_iq4_xs_q8_k);
    // x16-packed weights (packed.h): Runtime::load repacks every matrix of these types.
    register_x16(t);
}

} // namespace hearth::cpu
