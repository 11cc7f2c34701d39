// kernels/cpu/avx512/table.cpp: the AVX-512 entries of the kernel table, applied over the AVX2 table (types
// without an AVX-512 kernel keep their AVX2 one). Called only on CPUs with AVX-512 F/BW/VL + VNNI.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

void fill_avx512_table(KernelTable& t) {
    using namespace avx512;
    t.isa = "avx512";
    t.attend_f16 = attend_f16;
    t.silu_mul = silu_mul;
    t.rms_norm = rms_norm;
    t.rope = rope;
    auto set_dot = [&t](DType w, VecDotFn dot, VecDotMultiFn multi) {
        t.traits[static_cast<uint32_t>(w)].vec_dot = dot;
        t.traits[static_cast<uint32_t>(w)].vec_dot_multi = multi;
    };
    set_dot(DType::Q4_0, dot_q4_0_q8_0, dot_multi_q4_0_q8_0);
    set_dot(DType::Q4_1, dot_q4_1_q8_1, dot_multi_q4_1_q8_1);
    set_dot(DType::Q5_0, dot_q5_0_q8_0, dot_multi_q5_0_q8_0);
    set_dot(DType::Q5_1, dot_q5_1_q8_1, dot_multi_q5_1_q8_1);
    set_dot(DType::Q8_0, dot_q8_0_q8_0, dot_multi_q8_0_q8_0);
    set_dot(DType::Q4_K, dot_q4_k_q8_k, dot_multi_q4_k_q8_k);
    set_dot(DType::Q6_K, dot_q6_k_q8_k, dot_multi_q6_k_q8_k);
    t.traits[static_cast<uint32_t>(DType::Q8_0)].packed_gemm = gemm_x16_q8_0;
    t.traits[static_cast<uint32_t>(DType::Q4_0)].packed_gemm = gemm_x16_q4_0;
    t.traits[static_cast<uint32_t>(DType::Q5_0)].packed_gemm = gemm_x16_q5_0;
    t.traits[static_cast<uint32_t>(DType::Q4_1)].packed_gemm = gemm_x16_q4_1;
    t.traits[static_cast<uint32_t>(DType::Q5_1)].packed_gemm = gemm_x16_q5_1;
    t.traits[static_cast<uint32_t>(DType::IQ4_NL)].packed_gemm = gemm_x16_iq4_nl;
    t.traits[static_cast<uint32_t>(DType::Q4_K)].packed_gemm = gemm_x16_q4_k;
    t.traits[static_cast<uint32_t>(DType::Q5_K)].packed_gemm = gemm_x16_q5_k;
    t.traits[static_cast<uint32_t>(DType::Q2_K)].packed_gemm = gemm_x16_q2_k;
    t.traits[static_cast<uint32_t>(DType::Q3_K)].packed_gemm = gemm_x16_q3_k;
    t.traits[static_cast<uint32_t>(DType::Q6_K)].packed_gemm = gemm_x16_q6_k;
    t.traits[static_cast<uint32_t>(DType::IQ4_XS)].packed_gemm = gemm_x16_iq4_xs;
}

} // namespace hearth::cpu
