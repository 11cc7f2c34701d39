// tests/kernels_cpu/kernels_cpu_util.h: random weights and activations, the ISA tables this CPU runs, and the
// double-precision oracle shared by the kernels/cpu tests.
#pragma once

#include "base/thread_pool.h"
#include "kernels/cpu/ops.h"
#include "tensor/dtype.h"

#include <cstdint>
#include <gtest/gtest.h>
#include <memory>
#include <string>
#include <vector>

namespace hearth::cpu::test {

// Weight types with a CPU kernel, and the ISAs this CPU can run ("scalar" always, then "avx2", "avx512"; the
// "avxvnni" table, AVX2's with AVX-VNNI x16 kernels, and "avx512nogfni", AVX-512's without the GFNI Q5_K kernel,
// only differ there: test_packed.cpp adds them). table_for takes any of them.
const std::vector<DType>& weight_types();
std::vector<std::string> available_isas();
KernelTable table_for(const std::string& isa);

bool is_k_type(DType t);     // 256-element super-blocks
bool is_float_type(DType t); // F32, F16, BF16

enum class WeightFill {
    quantized, // random floats through the reference quantizer (what model files hold)
    raw_bytes, // random bytes with sane scale fields: every bit pattern of the quants, extreme scales
    saturated  // every quant byte 0xFF (Q8_0: 0x80, i.e. -128) with sane scales: the largest quants, so that with
               // saturated_activations every integer sum is at its widest (SIMD kernels that add products in int16
               // must stay exact there)
};

// (n_out, n_in) rows of type t. IQ4_NL / IQ4_XS have no reference quantizer and always use raw bytes.
std::vector<uint8_t> make_weights(DType t, int64_t n_out, int64_t n_in, uint64_t seed, WeightFill fill);

// (n) activations: unit normal with 2% outliers (x8), plus structured blocks (zeros, exact rounding ties).
std::vector<float> make_activations(int64_t n, uint64_t seed);

// (n) activations whose 8-bit quants are all +127 (even 256-element stretches) or all -127 (odd ones).
std::vector<float> saturated_activations(int64_t n);

// "_quantized", "_raw" or "_saturated" (test names).
std::string fill_name(WeightFill fill);

// Rows of type t dequantized with kernels/ref: (n_rows, n) floats.
std::vector<float> dequantize_rows(DType t, const void* data, int64_t n_rows, int64_t n);

// sum_i |err_i| bound of activation quantization to vec_dot_type for x[i] (see test_matmul.cpp), per element.
std::vector<double> act_quant_error_bound(DType vec_dot_type, const float* x, int64_t n);

std::string case_name(const std::string& isa, DType t);

// A parameterized suite with thread pools of 1, 2 and 3 threads (pool(i) has i + 1), made once per suite.
template <typename Param> class WithPools : public ::testing::TestWithParam<Param> {
protected:
    static void SetUpTestSuite() {
        for (int i = 0; i < 3; ++i)
            pools()[i] = std::make_unique<ThreadPool>(i + 1);
    }
    static void TearDownTestSuite() {
        for (int i = 0; i < 3; ++i)
            pools()[i].reset();
    }
    static ThreadPool& pool(int i) { return *pools()[i]; }

private:
    static std::unique_ptr<ThreadPool>* pools() {
        static std::unique_ptr<ThreadPool> p[3];
        return p;
    }
};

} // namespace hearth::cpu::test
