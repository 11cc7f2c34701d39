// kernels/cpu/isa_none.cpp: table fillers for builds without x86 SIMD folders. detect_cpu_features reports no
// x86 features there, so make_kernel_table never calls them.
#include "base/check.h"
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

void fill_avx2_table(KernelTable&) {
    HEARTH_CHECK(false, "AVX2 kernels are not built for this architecture");
}
void fill_avxvnni_table(KernelTable&) {
    HEARTH_CHECK(false, "AVX-VNNI kernels are not built for this architecture");
}
void fill_avx512_table(KernelTable&) {
    HEARTH_CHECK(false, "AVX-512 kernels are not built for this architecture");
}
void fill_avx512_gfni_table(KernelTable&) {
    HEARTH_CHECK(false, "GFNI kernels are not built for this architecture");
}

} // namespace hearth::cpu
