#include "tensor/dtype.h"

#include "base/check.h"

#include <cctype>

namespace hearth {
namespace {

// Block layouts: see tensor/quant_blocks.h for the byte layout of each quantized type.
constexpr DTypeInfo kTypes[] = {
    {DType::F32, "f32", 1, 4, false},
    {DType::F16, "f16", 1, 2, false},
    {DType::Q4_0, "q4_0", 32, 18, true},
    {DType::Q4_1, "q4_1", 32, 20, true},
    {DType::Q5_0, "q5_0", 32, 22, true},
    {DType::Q5_1, "q5_1", 32, 24, true},
    {DType::Q8_0, "q8_0", 32, 34, true},
    {DType::Q8_1, "q8_1", 32, 36, true},
    {DType::Q2_K, "q2_K", 256, 84, true},
    {DType::Q3_K, "q3_K", 256, 110, true},
    {DType::Q4_K, "q4_K", 256, 144, true},
    {DType::Q5_K, "q5_K", 256, 176, true},
    {DType::Q6_K, "q6_K", 256, 210, true},
    {DType::Q8_K, "q8_K", 256, 292, true},
    {DType::IQ2_XXS, "iq2_xxs", 256, 66, true},
    {DType::IQ2_XS, "iq2_xs", 256, 74, true},
    {DType::IQ3_XXS, "iq3_xxs", 256, 98, true},
    {DType::IQ1_S, "iq1_s", 256, 50, true},
    {DType::IQ4_NL, "iq4_nl", 32, 18, true},
    {DType::IQ3_S, "iq3_s", 256, 110, true},
    {DType::IQ2_S, "iq2_s", 256, 82, true},
    {DType::IQ4_XS, "iq4_xs", 256, 136, true},
    {DType::I8, "i8", 1, 1, false},
    {DType::I16, "i16", 1, 2, false},
    {DType::I32, "i32", 1, 4, false},
    {DType::I64, "i64", 1, 8, false},
    {DType::F64, "f64", 1, 8, false},
    {DType::IQ1_M, "iq1_m", 256, 56, true},
    {DType::BF16, "bf16", 1, 2, false},
    {DType::TQ1_0, "tq1_0", 256, 54, true},
    {DType::TQ2_0, "tq2_0", 256, 66, true},
    {DType::MXFP4, "mxfp4", 32, 17, true},
};

bool iequal(std::string_view a, std::string_view b) {
    if (a.size() != b.size()) return false;
    for (size_t i = 0; i < a.size(); ++i) {
        if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    }
    return true;
}

} // namespace

std::optional<DTypeInfo> dtype_info(uint32_t id) {
    for (const auto& t : kTypes) {
        if (static_cast<uint32_t>(t.type) == id) return t;
    }
    return std::nullopt;
}

const DTypeInfo& dtype_info(DType type) {
    for (const auto& t : kTypes) {
        if (t.type == type) return t;
    }
    HEARTH_CHECK(false, "invalid DType enumerator");
}

std::string_view dtype_name(DType t) {
    return dtype_info(t).name;
}

std::optional<DType> dtype_from_name(std::string_view name) {
    for (const auto& t : kTypes) {
        if (iequal(t.name, name)) return t.type;
    }
    return std::nullopt;
}

std::optional<uint64_t> dtype_row_bytes(DType t, uint64_t n) {
    const DTypeInfo& info = dtype_info(t);
    if (n % info.block_size != 0) return std::nullopt;
    return n / info.block_size * info.type_size;
}

const DTypeInfo* dtype_all(size_t* count) {
    *count = sizeof(kTypes) / sizeof(kTypes[0]);
    return kTypes;
}

std::vector<size_t> dtype_scale_fields(DType t) {
    switch (t) {
    case DType::Q4_1:
    case DType::Q5_1:
    case DType::Q4_K:
    case DType::Q5_K:
    case DType::Q8_1:
        return {0, 2};
    case DType::Q2_K:
        return {80, 82};
    case DType::Q3_K:
        return {108};
    case DType::Q6_K:
        return {208};
    case DType::Q4_0:
    case DType::Q5_0:
    case DType::Q8_0:
    case DType::IQ4_NL:
    case DType::IQ4_XS:
        return {0};
    default:
        return {};
    }
}

} // namespace hearth
