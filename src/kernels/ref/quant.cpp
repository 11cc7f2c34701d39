// kernels/ref/quant.cpp: the type -> row kernel table and the checked entry points of kernels/ref/quant.h.
#include "kernels/ref/quant.h"

#include "base/check.h"
#include "kernels/ref/quant_families.h"

namespace hearth::ref {
namespace {

using namespace detail;

struct RefKernels {
    DType type;
    DequantFn dequant;
    QuantFn quant;           // nullptr: no reference quantizer
    WeightedQuantFn imatrix; // nullptr: the type's quantizer takes no importance matrix (ggml ignores it too)
};

constexpr RefKernels kKernels[] = {
    {DType::F32, dequant_f32, quant_f32, nullptr},
    {DType::F16, dequant_f16, quant_f16, nullptr},
    {DType::BF16, dequant_bf16, quant_bf16, nullptr},
    {DType::Q4_0, dequant_q4_0, quant_q4_0, quant_q4_0_imatrix},
    {DType::Q4_1, dequant_q4_1, quant_q4_1, quant_q4_1_imatrix},
    {DType::Q5_0, dequant_q5_0, quant_q5_0, quant_q5_0_imatrix},
    {DType::Q5_1, dequant_q5_1, quant_q5_1, quant_q5_1_imatrix},
    {DType::Q8_0, dequant_q8_0, quant_q8_0, nullptr},
    {DType::Q8_1, dequant_q8_1, quant_q8_1, nullptr},
    {DType::Q2_K, dequant_q2_k, quant_q2_k, quant_q2_k_imatrix},
    {DType::Q3_K, dequant_q3_k, quant_q3_k, quant_q3_k_imatrix},
    {DType::Q4_K, dequant_q4_k, quant_q4_k, quant_q4_k_imatrix},
    {DType::Q5_K, dequant_q5_k, quant_q5_k, quant_q5_k_imatrix},
    {DType::Q6_K, dequant_q6_k, quant_q6_k, quant_q6_k_imatrix},
    {DType::Q8_K, dequant_q8_k, quant_q8_k, nullptr},
    {DType::IQ4_NL, dequant_iq4_nl, quant_iq4_nl, quant_iq4_nl_imatrix},
    {DType::IQ4_XS, dequant_iq4_xs, quant_iq4_xs, quant_iq4_xs_imatrix},
};

const RefKernels* find(DType t) {
    for (const auto& k : kKernels) {
        if (k.type == t) return &k;
    }
    return nullptr;
}

int64_t checked_blocks(DType t, int64_t n) {
    const int64_t block = dtype_info(t).block_size;
    HEARTH_CHECK(n >= 0 && n % block == 0, "row length must be a multiple of the type's block size");
    return n / block;
}

} // namespace

bool ref_can_dequantize(DType t) {
    return find(t) != nullptr;
}

bool ref_can_quantize(DType t) {
    const RefKernels* k = find(t);
    return k != nullptr && k->quant != nullptr;
}

void ref_dequantize_row(DType t, const void* src, float* dst, int64_t n) {
    const RefKernels* k = find(t);
    HEARTH_CHECK(k != nullptr, "no reference dequantizer for this type");
    k->dequant(src, dst, checked_blocks(t, n));
}

void ref_quantize_row(DType t, const float* src, void* dst, int64_t n) {
    const RefKernels* k = find(t);
    HEARTH_CHECK(k != nullptr && k->quant != nullptr, "no reference quantizer for this type");
    k->quant(src, dst, checked_blocks(t, n));
}

bool ref_uses_imatrix(DType t) {
    const RefKernels* k = find(t);
    return k != nullptr && k->imatrix != nullptr;
}

void ref_quantize_row_imatrix(DType t, const float* src, void* dst, int64_t n, const float* imatrix) {
    const RefKernels* k = find(t);
    HEARTH_CHECK(k != nullptr && k->quant != nullptr, "no reference quantizer for this type");
    const int64_t nb = checked_blocks(t, n);
    if (imatrix != nullptr && k->imatrix != nullptr)
        k->imatrix(src, dst, n, imatrix);
    else
        k->quant(src, dst, nb);
}

} // namespace hearth::ref
