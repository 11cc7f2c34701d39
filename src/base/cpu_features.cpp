#include "base/cpu_features.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace hearth {

std::string CpuFeatures::summary() const {
    std::string s;
    auto add = [&](bool on, const char* name) {
        if (!on) return;
        if (!s.empty()) s += ' ';
        s += name;
    };
    add(avx2, "AVX2");
    add(fma, "FMA");
    add(f16c, "F16C");
    add(avx512f, "AVX512F");
    add(avx512bw, "AVX512BW");
    add(avx512vl, "AVX512VL");
    add(avx512vnni, "AVX512_VNNI");
    add(avx512bf16, "AVX512_BF16");
    add(avxvnni, "AVX_VNNI");
    add(amx_int8, "AMX_INT8");
    add(gfni, "GFNI");
    return s.empty() ? "scalar" : s;
}

namespace {

// What the CPU and OS support, before the environment's caps.
CpuFeatures detect_hardware() {
    CpuFeatures f;
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;
    if (__get_cpuid(0, &a, &b, &c, &d)) {
        char vendor[13] = {};
        std::memcpy(vendor, &b, 4);
        std::memcpy(vendor + 4, &d, 4);
        std::memcpy(vendor + 8, &c, 4);
        f.amd = std::strcmp(vendor, "AuthenticAMD") == 0 || std::strcmp(vendor, "HygonGenuine") == 0;
        f.sw_prefetch = !f.amd;
    }
    if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
    const bool osxsave = c & (1u << 27);
    const bool avx = c & (1u << 28);
    f.fma = c & (1u << 12);
    f.f16c = c & (1u << 29);
    uint64_t xcr0 = 0;
    if (osxsave) {
        uint32_t lo, hi;
        __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        xcr0 = (uint64_t(hi) << 32) | lo;
    }
    const bool os_avx = (xcr0 & 0x6) == 0x6;                   // XMM and YMM state
    const bool os_avx512 = (xcr0 & 0xe6) == 0xe6;              // + opmask, ZMM_Hi256, Hi16_ZMM
    const bool os_amx = (xcr0 & (3ull << 17)) == (3ull << 17); // XTILECFG, XTILEDATA
    if (!(avx && os_avx)) {
        f.fma = f.f16c = false;
        return f;
    }
    if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
        f.avx2 = b & (1u << 5);
        if (os_avx512) {
            f.avx512f = b & (1u << 16);
            f.avx512bw = b & (1u << 30);
            f.avx512vl = b & (1u << 31);
            f.avx512vnni = c & (1u << 11);
        }
        f.gfni = c & (1u << 8);
        f.amx_int8 = os_amx && (d & (1u << 25));
    }
    if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
        f.avxvnni = a & (1u << 4);
        f.avx512bf16 = os_avx512 && (a & (1u << 5));
    }
#endif
    return f;
}

} // namespace

CpuFeatures detect_cpu_features() {
    CpuFeatures f = detect_hardware();
    if (const char* pf = std::getenv("HEARTH_PREFETCH")) {
        if (std::strcmp(pf, "on") == 0) f.sw_prefetch = true;
        if (std::strcmp(pf, "off") == 0) f.sw_prefetch = false;
    }
    if (const char* cap = std::getenv("HEARTH_CPU")) {
        if (std::strcmp(cap, "scalar") == 0) {
            CpuFeatures none;
            none.amd = f.amd;
            none.sw_prefetch = f.sw_prefetch;
            f = none;
        } else if (std::strcmp(cap, "avx2") == 0 || std::strcmp(cap, "avxvnni") == 0) {
            f.avx512f = f.avx512bw = f.avx512vl = f.avx512vnni = f.avx512bf16 = f.amx_int8 = f.gfni = false;
            if (std::strcmp(cap, "avx2") == 0) f.avxvnni = false;
        }
    }
    return f;
}

} // namespace hearth
