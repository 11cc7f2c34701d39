// kernels/cpu/avx512/table.cpp: the AVX-512 entries of the kernel table, applied over the AVX2 table (types
// without an AVX-512 kernel keep their AVX2 one). Called only on CPUs with AVX-512 F/BW/VL + VNNI.
#include "kernels/cpu/avx512/kernels.h"
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

namespace {
// Every x16 type's packed_gemm: the AVX-512 kernels.
void register_x16(KernelTable& table) {
    using namespace avx512;
    HEARTH_X16_REGISTER_ALL()
}
} // namespace

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
    set_dot(DType::F16, dot_f16_f32, nullptr);
    t.traits[static_cast<uint32_t>(DType::F16)].vec_dot_tile = dot_tile_f16_f32;
    set_dot(DType::Q4_0, dot_q4_0_q8_0, dot_multi_q4_0_q8_0);
    set_dot(DType::Q4_1, dot_q4_1_q8_1, dot_multi_q4_1_q8_1);
    set_dot(DType::Q5_0, dot_q5_0_q8_0, dot_multi_q5_0_q8_0);
    set_dot(DType::Q5_1, dot_q5_1_q8_1, dot_multi_q5_1_q8_1);
    set_dot(DType::Q8_0, dot_q8_0_q8_0, dot_multi_q8_0_q8_0);
    set_dot(DType::Q4_K, dot_q4_k_q8_k, dot_multi_q4_k_q8_k);
    set_dot(DType::Q6_K, dot_q6_k_q8_k, dot_multi_q6_k_q8_k);
    register_x16(t);
}

} // namespace hearth::cpu
