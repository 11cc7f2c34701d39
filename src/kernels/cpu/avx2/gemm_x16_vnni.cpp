// kernels/cpu/avx2/gemm_x16_vnni.cpp: the x16 kernels with AVX-VNNI's 256-bit dpbusd (gemm_x16_impl.h), for CPUs
// with AVX-VNNI but not AVX-512 (Intel's client cores since Alder Lake). Compiled with -mavxvnni.
#define HEARTH_X16_NS avxvnni
#define HEARTH_X16_VNNI 1
#include "kernels/cpu/avx2/gemm_x16_impl.h"
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

void fill_avxvnni_table(KernelTable& t) {
    t.isa = "avxvnni";
    avxvnni::register_x16(t);
}

} // namespace hearth::cpu
