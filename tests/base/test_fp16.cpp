#include "base/fp16.h"

#include <cmath>
#include <gtest/gtest.h>
#include <limits>

namespace hearth {
namespace {

// Every one of the 65536 half values survives half -> float -> half unchanged (NaNs stay NaN).
TEST(Fp16, EveryHalfRoundTrips) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float f = fp16_to_f32(static_cast<uint16_t>(h));
        const uint16_t back = f32_to_fp16(f);
        if (std::isnan(f)) {
            EXPECT_TRUE(std::isnan(fp16_to_f32(back))) << h;
        } else {
            EXPECT_EQ(back, h) << "half 0x" << std::hex << h;
        }
    }
}

TEST(Fp16, KnownValues) {
    EXPECT_EQ(fp16_to_f32(0x3c00), 1.0f);
    EXPECT_EQ(fp16_to_f32(0xc000), -2.0f);
    EXPECT_EQ(fp16_to_f32(0x7bff), 65504.0f);
    EXPECT_EQ(fp16_to_f32(0x0001), std::ldexp(1.0f, -24)); // smallest subnormal
    EXPECT_TRUE(std::isinf(fp16_to_f32(0x7c00)));
    EXPECT_EQ(f32_to_fp16(65520.0f), 0x7c00); // rounds up to inf
    EXPECT_EQ(f32_to_fp16(65519.0f), 0x7bff);
    EXPECT_EQ(f32_to_fp16(1e-9f), 0x0000);
    EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
}

// Rounding is to nearest, ties to even: check halfway points between adjacent halves in every binade.
TEST(Fp16, RoundsToNearestEven) {
    for (uint32_t h = 0; h < 0x7bff; ++h) {
        const double lo = fp16_to_f32(static_cast<uint16_t>(h));
        const double hi = fp16_to_f32(static_cast<uint16_t>(h + 1));
        const float mid = static_cast<float>((lo + hi) / 2);
        if (static_cast<double>(mid) != (lo + hi) / 2) continue; // midpoint not representable in f32
        const uint16_t expect = (h & 1) ? static_cast<uint16_t>(h + 1) : static_cast<uint16_t>(h);
        ASSERT_EQ(f32_to_fp16(mid), expect) << "between 0x" << std::hex << h << " and 0x" << h + 1;
        ASSERT_EQ(f32_to_fp16(std::nextafter(mid, 0.0f)), h);
        ASSERT_EQ(f32_to_fp16(std::nextafter(mid, 1e9f)), h + 1);
    }
}

TEST(Bf16, RoundTripAndRounding) {
    for (uint32_t b = 0; b < 65536; ++b) {
        const float f = bf16_to_f32(static_cast<uint16_t>(b));
        if (std::isnan(f)) continue;
        EXPECT_EQ(f32_to_bf16(f), b);
    }
    EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f808000u)), 0x3f80); // tie -> even
    EXPECT_EQ(f32_to_bf16(f32_from_bits(0x3f818000u)), 0x3f82); // tie -> even (up)
    EXPECT_TRUE(std::isnan(bf16_to_f32(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

} // namespace
} // namespace hearth
