// kernels/cpu/avx2/gemm_x16_vnni.cpp: the x16 kernels with AVX-VNNI's 256-bit dpbusd (gemm_x16_impl.h), for CPUs
// with AVX-VNNI but not AVX-512 (Intel's client cores since Alder Lake). Compiled with -mavxvnni.
#define HEARTH_X16_NS avxvnni
#define HEARTH_X16_VNNI 1
#include "kernels/cpu/avx2/gemm_x16_impl.h"
#include "kernels/cpu/isa_tables.h"

#include <utility>

namespace hearth::cpu {

void fill_avxvnni_table(KernelTable& t) {
    namespace v = avxvnni;
    t.isa = "avxvnni";
    const std::pair<DType, PackedGemmFn> packed[] = {
        {DType::Q8_0, v::gemm_x16_q8_0}, {DType::Q4_0, v::gemm_x16_q4_0}, {DType::Q5_0, v::gemm_x16_q5_0},
        {DType::Q4_1, v::gemm_x16_q4_1}, {DType::Q5_1, v::gemm_x16_q5_1}, {DType::IQ4_NL, v::gemm_x16_iq4_nl},
        {DType::Q2_K, v::gemm_x16_q2_k}, {DType::Q3_K, v::gemm_x16_q3_k}, {DType::Q4_K, v::gemm_x16_q4_k},
        {DType::Q5_K, v::gemm_x16_q5_k}, {DType::Q6_K, v::gemm_x16_q6_k}, {DType::IQ4_XS, v::gemm_x16_iq4_xs}};
    for (const auto& [type, fn] : packed)
        t.traits[static_cast<uint32_t>(type)].packed_gemm = fn;
}

} // namespace hearth::cpu
