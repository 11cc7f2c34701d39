// kernels/cpu/avx512/gemm_x16_k_gfni.cpp: the AVX-512 VNNI x16 kernel of Q5_K with GFNI (gemm_x16_k_impl.h compiled
// with -mgfni), for CPUs with both (Intel since Ice Lake, AMD since Zen 4): each register's fifth bits move into place
// with one GF2P8AFFINEQB instead of a shift and a mask. fill_avx512_gfni_table installs it over the AVX-512 table.
#define HEARTH_X16_K_GFNI 1
#include "kernels/cpu/avx512/gemm_x16_k_impl.h"
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

void fill_avx512_gfni_table(KernelTable& table) {
    using namespace avx512;
    HEARTH_X16_GFNI_TYPES(HEARTH_X16_REGISTER)
}

} // namespace hearth::cpu
