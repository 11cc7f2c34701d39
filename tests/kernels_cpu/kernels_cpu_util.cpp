#include "kernels_cpu_util.h"

#include "base/cpu_features.h"
#include "base/fp16.h"
#include "kernels/ref/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

namespace hearth::cpu::test {

const std::vector<DType>& weight_types() {
    static const std::vector<DType> types = {
        DType::F32,  DType::F16,  DType::BF16, DType::Q4_0, DType::Q4_1, DType::Q5_0,   DType::Q5_1,   DType::Q8_0,
        DType::Q2_K, DType::Q3_K, DType::Q4_K, DType::Q5_K, DType::Q6_K, DType::IQ4_NL, DType::IQ4_XS,
    };
    return types;
}

std::vector<std::string> available_isas() {
    const CpuFeatures f = detect_cpu_features();
    std::vector<std::string> isas = {"scalar"};
    if (f.avx2 && f.fma && f.f16c) isas.push_back("avx2");
    if (std::string(make_kernel_table(f).isa) == "avx512") isas.push_back("avx512");
    return isas;
}

KernelTable table_for(const std::string& isa) {
    CpuFeatures f = detect_cpu_features();
    if (isa == "scalar") return make_scalar_table();
    if (isa == "avx2" || isa == "avxvnni") f.avx512f = false;
    if (isa == "avx2") f.avxvnni = false;
    if (isa == "avx512nogfni") f.gfni = false; // without the kernels GFNI replaces (Q5_K)
    return make_kernel_table(f);
}

bool is_k_type(DType t) {
    return dtype_info(t).block_size == 256;
}
bool is_float_type(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16;
}

std::vector<uint8_t> make_weights(DType t, int64_t n_out, int64_t n_in, uint64_t seed, WeightFill fill) {
    const DTypeInfo& info = dtype_info(t);
    const size_t row_bytes = size_t(*dtype_row_bytes(t, uint64_t(n_in)));
    std::vector<uint8_t> w(row_bytes * size_t(n_out));
    std::mt19937_64 rng(seed);
    const bool raw = info.quantized && (fill == WeightFill::raw_bytes || !ref::ref_can_quantize(t));
    if (!raw) {
        std::normal_distribution<float> normal(0.0f, 1.0f);
        std::vector<float> row(static_cast<size_t>(n_in));
        for (int64_t r = 0; r < n_out; ++r) {
            const float scale = 0.02f * float(1 + r % 5);
            for (auto& v : row)
                v = scale * normal(rng);
            ref::ref_quantize_row(t, row.data(), w.data() + size_t(r) * row_bytes, n_in);
        }
        return w;
    }
    std::uniform_int_distribution<int> byte(0, 255);
    for (auto& b : w)
        b = fill == WeightFill::saturated ? uint8_t(t == DType::Q8_0 ? 0x80 : 0xFF) : uint8_t(byte(rng));
    std::uniform_real_distribution<float> mag(0.001f, 0.05f);
    const size_t n_blocks = w.size() / info.type_size;
    for (size_t b = 0; b < n_blocks; ++b) {
        for (size_t off : dtype_scale_fields(t)) {
            // Scales are positive in practice; mins / offsets (second field) may have either sign.
            const float v = off == dtype_scale_fields(t)[0] ? mag(rng) : (byte(rng) < 128 ? -1.0f : 1.0f) * mag(rng);
            const uint16_t h = f32_to_fp16(v);
            std::memcpy(w.data() + b * info.type_size + off, &h, 2);
        }
    }
    return w;
}

std::vector<float> make_activations(int64_t n, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_int_distribution<int> pct(0, 99);
    std::vector<float> x(static_cast<size_t>(n));
    for (auto& v : x)
        v = normal(rng) * (pct(rng) < 2 ? 8.0f : 1.0f);
    // Structured 32-element stretches (one per 256 elements, where they fit): all zeros, and exact rounding
    // ties for Q8_0 / Q8_1 (amax 127 gives d = 1) and Q8_K (max -127 gives iscale = 1).
    for (int64_t base = 0; base + 256 <= n; base += 256) {
        const int64_t kind = (base / 256) % 3;
        float* p = x.data() + base + 64;
        for (int j = 0; j < 32; ++j) {
            if (kind == 0) p[j] = 0.0f;
            if (kind == 1) p[j] = j == 0 ? 127.0f : float(j % 7) - 3.5f;
        }
        if (kind == 2) {
            float* q = x.data() + base;
            for (int j = 0; j < 256; ++j)
                q[j] = j == 5 ? -127.0f : float(j % 9) - 4.5f;
        }
    }
    return x;
}

std::vector<float> saturated_activations(int64_t n) {
    std::vector<float> x(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i)
        x[size_t(i)] = (i / 256) % 2 ? -1.0f : 1.0f;
    return x;
}

std::string fill_name(WeightFill fill) {
    return fill == WeightFill::quantized ? "_quantized" : fill == WeightFill::raw_bytes ? "_raw" : "_saturated";
}

std::vector<float> dequantize_rows(DType t, const void* data, int64_t n_rows, int64_t n) {
    const size_t row_bytes = size_t(*dtype_row_bytes(t, uint64_t(n)));
    std::vector<float> out(size_t(n_rows * n));
    for (int64_t r = 0; r < n_rows; ++r)
        ref::ref_dequantize_row(t, static_cast<const uint8_t*>(data) + size_t(r) * row_bytes, out.data() + r * n, n);
    return out;
}

std::vector<double> act_quant_error_bound(DType vdt, const float* x, int64_t n) {
    std::vector<double> e(size_t(n), 0.0);
    if (vdt == DType::F32) return e;
    if (vdt == DType::F16 || vdt == DType::BF16) {
        // Round to nearest: relative error <= 2^-11 (F16) / 2^-8 (BF16), plus half the smallest subnormal.
        const double rel = vdt == DType::F16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
        for (int64_t i = 0; i < n; ++i)
            e[size_t(i)] = std::fabs(double(x[i])) * rel + std::ldexp(1.0, -25);
        return e;
    }
    // 8-bit blocks: q = round(x / d) is within d / 2 of x / d (plus the rounding of the float product
    // x * (1/d), far below 1e-4 d), and Q8_0 / Q8_1 store d as a half, which moves q * d by |q| * |d_half - d|
    // <= 127 * |d_half - d|.
    const int64_t block = vdt == DType::Q8_K ? 256 : 32;
    for (int64_t b = 0; b < n; b += block) {
        float amax = 0;
        for (int64_t j = b; j < b + block; ++j)
            amax = std::max(amax, std::fabs(x[j]));
        const double d = double(amax / 127.0f);
        const double d_half = vdt == DType::Q8_K ? d : double(fp16_to_f32(f32_to_fp16(float(d))));
        const double bound = d * (0.5 + 1e-4) + 127.0 * std::fabs(d_half - d);
        for (int64_t j = b; j < b + block; ++j)
            e[size_t(j)] = bound;
    }
    return e;
}

std::string case_name(const std::string& isa, DType t) {
    return isa + "_" + std::string(dtype_name(t));
}

} // namespace hearth::cpu::test
