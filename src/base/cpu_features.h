// base/cpu_features.h: x86 CPU features, read once with CPUID/XGETBV when asked (no globals).
// Kernel dispatch (kernels/cpu) picks its table from this at start-up.
#pragma once

#include <string>

namespace hearth {

struct CpuFeatures {
    bool avx2 = false;
    bool fma = false;
    bool f16c = false;
    bool avx512f = false;
    bool avx512bw = false;
    bool avx512vl = false;
    bool avx512vnni = false;
    bool avx512bf16 = false;
    bool avxvnni = false;
    bool amx_int8 = false;
    std::string summary() const; // e.g. "AVX2 FMA F16C AVX512F ..."
};

// Detects what this CPU and OS support (OS support of the AVX/AVX-512 register state is checked).
// Setting HEARTH_CPU=scalar|avx2|avxvnni in the environment caps the result (for tests and comparisons): avx2 is
// AVX2 + FMA + F16C alone, avxvnni adds AVX-VNNI where the CPU has it; both leave out AVX-512 and AMX.
CpuFeatures detect_cpu_features();

} // namespace hearth
