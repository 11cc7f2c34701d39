// kernels/cuda/group_decode.h on the host: every 32-element group of every type the CUDA matmul reads equals
// kernels/ref's dequantization of the same row, bit for bit (quantized weights and raw bytes with extreme scales),
// and the binary16 conversion equals base/fp16.h's for all 65536 bit patterns. The device kernels run this same
// code; only their indexing and reductions are untested without a GPU.
#include "base/fp16.h"
#include "kernels/cuda/group_decode.h"
#include "kernels_cpu/kernels_cpu_util.h"

#include <cmath>
#include <gtest/gtest.h>
#include <vector>

namespace hearth {
namespace {

TEST(GroupDecode, HalfToFloatEveryBitPattern) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const float want = fp16_to_f32(uint16_t(h)), got = gpu::half_to_float(uint16_t(h));
        if (std::isnan(want))
            ASSERT_TRUE(std::isnan(got)) << h;
        else
            ASSERT_EQ(got, want) << h;
        ASSERT_EQ(std::signbit(got), std::signbit(want)) << h;
    }
}

TEST(GroupDecode, EveryGroupOfEveryTypeEqualsTheReference) {
    for (DType t : cpu::test::weight_types()) {
        ASSERT_TRUE(gpu::group_decodable(t)) << dtype_name(t);
        const int64_t cols = t == DType::F32 || t == DType::F16 || t == DType::BF16 ? 200 : 512; // 200: a partial group
        const int64_t rows = 5;
        for (auto fill : {cpu::test::WeightFill::quantized, cpu::test::WeightFill::raw_bytes}) {
            SCOPED_TRACE(std::string(dtype_name(t)) + cpu::test::fill_name(fill));
            const std::vector<uint8_t> w = cpu::test::make_weights(t, rows, cols, 91, fill);
            const std::vector<float> want = cpu::test::dequantize_rows(t, w.data(), rows, cols);
            const size_t row_bytes = size_t(*dtype_row_bytes(t, uint64_t(cols)));
            for (int64_t r = 0; r < rows; ++r)
                for (int64_t g = 0; g * gpu::kGroup < cols; ++g) {
                    const int n = int(std::min<int64_t>(gpu::kGroup, cols - g * gpu::kGroup));
                    float got[gpu::kGroup];
                    gpu::dequant_group(t, w.data() + size_t(r) * row_bytes, g, n, got);
                    for (int i = 0; i < n; ++i) {
                        const float ref = want[size_t(r * cols + g * gpu::kGroup + i)];
                        if (std::isnan(ref))
                            ASSERT_TRUE(std::isnan(got[i]));
                        else
                            ASSERT_EQ(got[i], ref) << "row " << r << " element " << g * gpu::kGroup + i;
                    }
                }
        }
    }
}

} // namespace
} // namespace hearth
