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
    bool gfni = false; // GF2P8AFFINEQB (used with AVX-512 only)
    bool amd = false;  // vendor AuthenticAMD or HygonGenuine
    // Whether the x16 kernels ask for the weight stream ahead in software (kernels/cpu/x16_tiles.h): yes on Intel,
    // where they read 0.53-0.80 of the bus without it; no on AMD, whose hardware prefetchers do better alone (Zen 4,
    // one core: the K-quants' stream 0.46-0.66 of the bus with the requests, 0.83-1.0 without).
    bool sw_prefetch = true;
    std::string summary() const; // e.g. "AVX2 FMA F16C AVX512F ..."
};

// Detects what this CPU and OS support (OS support of the AVX/AVX-512 register state is checked).
// Setting HEARTH_CPU=scalar|avx2|avxvnni in the environment caps the result (for tests and comparisons): avx2 is
// AVX2 + FMA + F16C alone, avxvnni adds AVX-VNNI where the CPU has it; both leave out AVX-512 and AMX.
// HEARTH_PREFETCH=on|off sets sw_prefetch.
CpuFeatures detect_cpu_features();

} // namespace hearth
