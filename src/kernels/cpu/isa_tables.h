// kernels/cpu/isa_tables.h: per-ISA table fillers (internal to kernels/cpu).
//
// Each lives in its ISA's folder, compiled with that ISA's flags; it overwrites the entries it has kernels
// for and leaves the others (scalar) alone. Call one only when the CPU has the ISA (kernel_table.cpp checks).
#pragma once

#include "kernels/cpu/ops.h"

namespace hearth::cpu {

// AVX2 + FMA + F16C.
void fill_avx2_table(KernelTable& table);
// AVX-VNNI (256-bit dpbusd): the x16 kernels, over the AVX2 table (isa "avxvnni").
void fill_avxvnni_table(KernelTable& table);
// AVX-512 F/BW/VL (+ VNNI): applied over the AVX2 table.
void fill_avx512_table(KernelTable& table);
// AVX512_BF16 (VDPBF16PS) for BF16 weights: applied over the AVX-512 table (the isa string stays "avx512").
// A no-op when the compiler lacks -mavx512bf16 (avx512/bf16_none.cpp is built instead).
void fill_avx512bf16_table(KernelTable& table);
// GFNI (GF2P8AFFINEQB) in the Q5_K x16 kernel: applied over the AVX-512 table (the isa string stays "avx512").
void fill_avx512_gfni_table(KernelTable& table);

// Internal linkage: this header is compiled with several ISAs' flags (see k_scales.h).
namespace {
inline void set_traits(KernelTable& table, DType w, DType act, QuantizeRowFn quantize, VecDotFn dot) {
    table.traits[static_cast<uint32_t>(w)] = TypeTraits{act, quantize, dot};
}
} // namespace

} // namespace hearth::cpu
