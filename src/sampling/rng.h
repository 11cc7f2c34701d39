// sampling/rng.h: the sampler's seeded random number generator.
//
// xoshiro256** (Blackman & Vigna, "Scrambled linear pseudorandom number generators", 2018), with its
// 256-bit state filled from the seed by splitmix64, as the authors recommend. Everything here is exact
// integer arithmetic plus one exact conversion to double, so a seed gives the same stream on every
// compiler and standard library (unlike std::uniform_real_distribution). Not for cryptography.
#pragma once

#include <cstdint>

namespace hearth {

// splitmix64 (Steele, Lea & Flood, 2014): one step of the seeding generator.
inline uint64_t splitmix64_next(uint64_t& state) {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

class Rng {
public:
    explicit Rng(uint64_t seed = 0) { reseed(seed); }

    void reseed(uint64_t seed) {
        uint64_t sm = seed;
        for (uint64_t& w : s_)
            w = splitmix64_next(sm); // never all zero: splitmix64 is a bijection
    }

    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }

    // Uniform in [0, 1) with 53 random bits: the top 53 bits times 2^-53, exact in double.
    double next_unit() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

    uint64_t s_[4];
};

} // namespace hearth
