// kernels/cpu/k_scales.h: unpacking of the 6-bit sub-block scales of Q4_K / Q5_K (internal to kernels/cpu).
//
// Included by translation units compiled for different ISAs, so everything here has internal linkage: an
// inline function with external linkage would be emitted once per ISA and the linker could hand the scalar
// code an AVX-512 copy.
#pragma once

#include <cstdint>
#include <cstring>

namespace hearth::cpu {
namespace {

// The results are four uint32 (16 bytes, little-endian) so SIMD callers can move them into a register with
// _mm_set_epi32 instead of storing and reloading them (a 16-byte load of four 4-byte stores stalls).

// packed: the 12-byte `scales` field; out: bytes 0-7 the 8 scales, bytes 8-15 the 8 mins, 6 bits each (ggml's
// utmp shuffle).
inline void unpack_k4_scales(const uint8_t* packed, uint32_t out[4]) {
    constexpr uint32_t kmask1 = 0x3f3f3f3f, kmask2 = 0x0f0f0f0f, kmask3 = 0x03030303;
    uint32_t utmp[4];
    std::memcpy(utmp, packed, 12);
    utmp[3] = ((utmp[2] >> 4) & kmask2) | (((utmp[1] >> 6) & kmask3) << 4);
    const uint32_t uaux = utmp[1] & kmask1;
    utmp[1] = (utmp[2] & kmask2) | (((utmp[0] >> 6) & kmask3) << 4);
    utmp[2] = uaux;
    utmp[0] &= kmask1;
    for (int k = 0; k < 4; ++k)
        out[k] = utmp[k];
}

// packed: Q3_K's 12-byte `scales` field; out: the 16 6-bit scales as bytes, still offset by 32 (ggml's auxs
// shuffle).
inline void unpack_q3_k_scales(const uint8_t* packed, uint32_t out[4]) {
    constexpr uint32_t kmask1 = 0x03030303, kmask2 = 0x0f0f0f0f;
    uint32_t auxs[4];
    std::memcpy(auxs, packed, 12);
    const uint32_t tmp = auxs[2];
    auxs[2] = ((auxs[0] >> 4) & kmask2) | (((tmp >> 4) & kmask1) << 4);
    auxs[3] = ((auxs[1] >> 4) & kmask2) | (((tmp >> 6) & kmask1) << 4);
    auxs[0] = (auxs[0] & kmask2) | (((tmp >> 0) & kmask1) << 4);
    auxs[1] = (auxs[1] & kmask2) | (((tmp >> 2) & kmask1) << 4);
    for (int k = 0; k < 4; ++k)
        out[k] = auxs[k];
}

} // namespace
} // namespace hearth::cpu
