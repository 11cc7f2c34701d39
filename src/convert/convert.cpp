#include "convert/convert.h"

#include "base/check.h"
#include "base/fp16.h"
#include "convert/hf_arch.h"
#include "convert/hf_vocab.h"
#include "gguf/writer.h"
#include "kernels/ref/quant.h"
#include "quantize/quantize.h"

#include <algorithm>
#include <cctype>
#include <cstring>
#include <filesystem>

namespace hearth::convert {
namespace {

std::string upper(std::string s) {
    for (char& c : s)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    return s;
}

bool written_directly(DType t) {
    return t == DType::F32 || t == DType::F16 || t == DType::BF16 || t == DType::Q8_0;
}

// llama.cpp's --outtype auto: the first 2-D source tensor decides (BF16 stays BF16), else F16.
std::string auto_type(const SafetensorsSet& st) {
    for (const auto& e : st.tensors())
        if (e.info.shape.size() >= 2) return e.info.dtype == "BF16" ? "BF16" : "F16";
    return "F16";
}

// The type a tensor is written in: the convert_hf_to_gguf.py rules (prepare_tensors).
DType tensor_type(const TensorSpec& t, DType target) {
    if (t.ne.size() <= 1 || t.name.ends_with("_norm.weight") || !t.name.ends_with(".weight")) return DType::F32;
    if (target == DType::Q8_0 && t.ne[0] % 32 != 0) return DType::F16; // gguf-py's QuantError fallback
    return target;
}

Status check_source_dtypes(const SafetensorsSet& st) {
    for (const auto& e : st.tensors()) {
        const std::string& dt = e.info.dtype;
        if (dt != "F32" && dt != "F16" && dt != "BF16")
            return error(Code::BadField, "tensor " + e.info.name + " (" + st.file_name(e) + ") has dtype " + dt +
                                             "; hearth convert reads F32, F16 and BF16 weights");
    }
    return Status::ok();
}

// src: n elements of a safetensors dtype (F32/F16/BF16, little-endian) -> dst.
void decode(const std::string& dtype, const uint8_t* src, float* dst, uint64_t n) {
    if (dtype == "F32") {
        std::memcpy(dst, src, n * sizeof(float));
        return;
    }
    for (uint64_t i = 0; i < n; ++i) {
        const uint16_t h = uint16_t(src[2 * i] | (src[2 * i + 1] << 8));
        dst[i] = dtype == "F16" ? fp16_to_f32(h) : bf16_to_f32(h);
    }
}

// The source row that output row r of a PermuteRope tensor comes from: output (head h, index i, half j) is source
// (h, j, i); hf_arch.h has why.
uint64_t rope_source_row(uint64_t r, uint64_t rows, uint64_t n_head) {
    const uint64_t hd = rows / n_head, half = hd / 2, h = r / hd, i = (r % hd) / 2, j = r % 2;
    return h * hd + j * half + i;
}

// The tensor in `type`, row by row (ne[0] values each), after its transformation: only the output is in memory.
Status encode_tensor(const TensorSpec& t, DType type, const SafetensorsSet& st, std::vector<uint8_t>& out) {
    const uint64_t cols = t.ne[0];
    uint64_t rows = 1;
    for (size_t d = 1; d < t.ne.size(); ++d)
        rows *= t.ne[d];
    const auto row_bytes = dtype_row_bytes(type, cols);
    if (!row_bytes) return error("convert: " + t.name + " rows do not fit " + std::string(dtype_name(type)));
    const SafetensorsSet::Entry* e = t.src.empty() ? nullptr : st.find(t.src);
    HEARTH_CHECK(t.src.empty() || (e && rows * cols <= e->info.n_elements), "a planned tensor outgrew its source");
    HEARTH_CHECK(!t.src.empty() || t.values.size() == rows * cols, "a generated tensor's values do not fill it");
    out.resize(rows * *row_bytes);
    std::vector<float> row(cols);
    for (uint64_t r = 0; r < rows; ++r) {
        const uint64_t src_r =
            t.transform == Transform::PermuteRope ? rope_source_row(r, rows, uint64_t(t.permute_heads)) : r;
        if (e)
            decode(e->info.dtype, st.data(*e).data() + src_r * cols * e->info.dtype_bytes, row.data(), cols);
        else
            std::copy_n(t.values.begin() + int64_t(src_r * cols), cols, row.begin());
        if (t.transform == Transform::AddOne)
            for (float& v : row)
                v += 1.0f;
        uint8_t* dst = out.data() + r * *row_bytes;
        if (type == DType::F32)
            std::memcpy(dst, row.data(), cols * sizeof(float));
        else
            ref::ref_quantize_row(type, row.data(), dst, int64_t(cols));
    }
    return Status::ok();
}

std::string dir_name(const std::string& dir) {
    std::filesystem::path p(dir);
    if (!p.has_filename()) p = p.parent_path();
    return p.filename().string();
}

// Writes the model in a type written directly (F32/F16/BF16/Q8_0).
Status write_direct(const std::string& dir, const std::string& out_path, const quantize::Mix& mix,
                    const Progress& progress) {
    auto d = read_hf_dir(dir);
    if (!d) return d.status();
    auto st = SafetensorsSet::open(dir);
    if (!st) return st.status();
    HEARTH_TRY(check_source_dtypes(*st));
    const int64_t vocab_size = json_int(d->config, "vocab_size", 0);
    if (vocab_size < 0 || vocab_size > (int64_t(1) << 24))
        return error(Code::BadField, "config.json: vocab_size " + std::to_string(vocab_size) + " is out of range");
    // The architecture first: an unsupported one is the more useful error.
    auto probe = plan_arch(*d, *st, vocab_size);
    if (!probe) return probe.status();
    auto vocab = convert_vocab(*d, vocab_size);
    if (!vocab) return vocab.status();
    auto plan = plan_arch(*d, *st, vocab->n_tokens);
    if (!plan) return plan.status();

    gguf::Writer w;
    w.set("general.architecture", gguf::Value::make_string(plan->arch));
    w.set("general.type", gguf::Value::make_string("model"));
    w.set("general.name", gguf::Value::make_string(dir_name(dir)));
    for (auto& kv : plan->kv)
        w.set(kv.key, kv.value);
    w.set("general.file_type", gguf::Value::make_u32(mix.ftype));
    w.set("general.quantization_version", gguf::Value::make_u32(2));
    for (auto& kv : vocab->kv)
        w.set(kv.key, kv.value);

    uint64_t total = 0;
    std::vector<DType> types;
    for (const TensorSpec& t : plan->tensors) {
        types.push_back(tensor_type(t, mix.base));
        HEARTH_TRY(w.add_tensor_later(t.name, types.back(), t.ne));
        if (const auto* e = st->find(t.src)) total += e->info.end - e->info.begin;
    }
    uint64_t done = 0;
    auto produce = [&](size_t k, std::vector<uint8_t>& scratch) -> Result<std::span<const uint8_t>> {
        const TensorSpec& t = plan->tensors[k];
        HEARTH_TRY(encode_tensor(t, types[k], *st, scratch));
        if (const auto* e = st->find(t.src)) {
            done += e->info.end - e->info.begin;
            st->release(*e); // read once: the mapped source does not add up in memory
        }
        if (progress) progress(done, total);
        return std::span<const uint8_t>(scratch);
    };
    return w.write(out_path, produce);
}

// Removes a file when it goes out of scope.
struct RemoveOnExit {
    std::string path;
    ~RemoveOnExit() {
        std::error_code ec;
        std::filesystem::remove(path, ec);
    }
};

} // namespace

bool is_known_type(std::string_view type) {
    return upper(std::string(type)) == "AUTO" || quantize::find_mix(type).has_value();
}

std::string type_names() {
    std::string names = "auto";
    for (std::string_view m : quantize::mix_names())
        names += ", " + std::string(m);
    return names;
}

Status convert_model(const std::string& dir, const std::string& out_path, const Options& opt,
                     const Progress& progress) {
    std::string type = upper(opt.type);
    if (!is_known_type(type)) return error(Code::BadField, "unknown type '" + opt.type + "'; one of: " + type_names());
    std::string auto16; // what "auto" means for this model: BF16 or F16
    {
        auto st = SafetensorsSet::open(dir);
        if (!st) return st.status();
        auto16 = auto_type(*st);
    }
    const auto mix = quantize::find_mix(type == "AUTO" ? auto16 : type);
    HEARTH_CHECK(mix.has_value(), "a known type without a quantize::Mix");
    if (written_directly(mix->base)) return write_direct(dir, out_path, *mix, progress);

    // Through a 16-bit file next to the output (BF16 for a BF16 model, which F16 could overflow; else F16), then
    // hearth quantize.
    const RemoveOnExit tmp{out_path + ".convert.tmp"};
    HEARTH_TRY(write_direct(dir, tmp.path, *quantize::find_mix(auto16), progress));
    auto f = gguf::File::open(tmp.path);
    if (!f) return f.status();
    auto qplan = quantize::make_plan(*f, *mix, /*allow_requantize=*/false);
    if (!qplan) return qplan.status();
    return quantize::run(*f, *qplan, out_path, opt.n_threads, progress);
}

} // namespace hearth::convert
