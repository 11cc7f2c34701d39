// kernels/cpu/avx512/bf16_none.cpp: the AVX512_BF16 table filler for builds whose compiler lacks -mavx512bf16
// (or that have no x86 SIMD folders): BF16 keeps the AVX2 (or scalar) kernel.
#include "kernels/cpu/isa_tables.h"

namespace hearth::cpu {

void fill_avx512bf16_table(KernelTable&) {}

} // namespace hearth::cpu
