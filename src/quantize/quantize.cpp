#include "quantize/quantize.h"

#include "base/thread_pool.h"
#include "gguf/writer.h"
#include "kernels/ref/quant.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <sys/mman.h>
#include <unistd.h>

namespace hearth::quantize {
namespace {

constexpr std::array<Mix, 19> kMixes = {{
    {"F32", 0, DType::F32},        {"F16", 1, DType::F16},      {"BF16", 32, DType::BF16},
    {"Q4_0", 2, DType::Q4_0},      {"Q4_1", 3, DType::Q4_1},    {"Q5_0", 8, DType::Q5_0},
    {"Q5_1", 9, DType::Q5_1},      {"Q8_0", 7, DType::Q8_0},    {"Q2_K", 10, DType::Q2_K},
    {"Q3_K_S", 11, DType::Q3_K},   {"Q3_K_M", 12, DType::Q3_K}, {"Q3_K_L", 13, DType::Q3_K},
    {"Q4_K_S", 14, DType::Q4_K},   {"Q4_K_M", 15, DType::Q4_K}, {"Q5_K_S", 16, DType::Q5_K},
    {"Q5_K_M", 17, DType::Q5_K},   {"Q6_K", 18, DType::Q6_K},   {"IQ4_NL", 25, DType::IQ4_NL},
    {"IQ4_XS", 30, DType::IQ4_XS},
}};

enum class Cat { Output, TokenEmbd, AttnQkv, AttnKvB, AttnV, AttnK, AttnQ, AttnOutput, FfnUp, FfnGate, FfnDown, Other };

bool contains(std::string_view s, std::string_view part) {
    return s.find(part) != std::string_view::npos;
}

Cat category(std::string_view name) {
    if (name == "output.weight") return Cat::Output;
    if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Cat::TokenEmbd;
    if (contains(name, "attn_qkv.weight")) return Cat::AttnQkv;
    if (contains(name, "attn_kv_b.weight")) return Cat::AttnKvB;
    if (contains(name, "attn_v.weight")) return Cat::AttnV;
    if (contains(name, "attn_k.weight")) return Cat::AttnK;
    if (contains(name, "attn_q.weight")) return Cat::AttnQ;
    if (contains(name, "attn_output.weight")) return Cat::AttnOutput;
    if (contains(name, "ffn_up")) return Cat::FfnUp;
    if (contains(name, "ffn_gate")) return Cat::FfnGate;
    if (contains(name, "ffn_down")) return Cat::FfnDown;
    return Cat::Other;
}

bool is_attn_v(Cat c) {
    return c == Cat::AttnV || c == Cat::AttnQkv || c == Cat::AttnKvB;
}

// llama.cpp's tensor_allows_quantization, for the tensors dense models of our architectures have.
bool allows_quantization(const gguf::TensorInfo& t) {
    const std::string_view n = t.name;
    if (t.ne.size() < 2 || t.ne[0] == 0 || t.n_elements == 0) return false; // nothing to quantize (copied)
    if (n.size() < 6 || n.substr(n.size() - 6) != "weight") return false;
    for (std::string_view no : {"_norm.weight", "ffn_gate_inp.weight", "altup", "laurel", "per_layer_model_proj",
                                "ssm_conv1d", "attn_rel_b.weight", ".position_embd", ".patch_embd"})
        if (contains(n, no)) return false;
    return n != "position_embd.weight" && n != "token_types.weight";
}

uint32_t block_of(DType t) {
    return dtype_info(t).block_size;
}

// What the type selection needs to know of the model.
struct State {
    uint32_t ftype = 0;
    bool tied = true; // no output.weight: the token embedding is the output matrix
    bool is_70b = false;
    bool has_imatrix = false;
    uint32_t n_gqa = 1;
    int n_attention_wv = 0, n_layer = 0;
    int i_attention_wv = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;
};

// ftype ids (llama_ftype).
enum : uint32_t {
    kQ4_0 = 2,
    kQ5_0 = 8,
    kQ8_0 = 7,
    kQ2_K = 10,
    kQ3_K_M = 12,
    kQ3_K_L = 13,
    kQ4_K_S = 14,
    kQ4_K_M = 15,
    kQ5_K_M = 17,
    kIQ4_NL = 25,
    kIQ4_XS = 30,
};

bool use_more_bits(int i, int n) {
    return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2;
}

// llama.cpp's llama_tensor_get_type_impl for the mixes above (not MoE, not Falcon).
DType mix_type(State& s, DType t, const gguf::TensorInfo& info, Cat cat) {
    const uint32_t f = s.ftype;
    if (cat == Cat::Output || (s.tied && cat == Cat::TokenEmbd)) {
        if (info.ne[0] % block_of(t) != 0) return DType::Q8_0;
        return t == DType::Q8_0 ? t : DType::Q6_K;
    }
    if (cat == Cat::TokenEmbd) return t;
    if (is_attn_v(cat)) {
        if (f == kQ2_K)
            t = s.n_gqa >= 4 ? DType::Q4_K : DType::Q3_K;
        else if (f == kQ3_K_M)
            t = s.i_attention_wv < 2 ? DType::Q5_K : DType::Q4_K;
        else if (f == kQ3_K_L)
            t = DType::Q5_K;
        else if ((f == kIQ4_NL || f == kIQ4_XS) && s.n_gqa >= 4)
            t = DType::Q5_K;
        else if ((f == kQ4_K_M || f == kQ5_K_M) && use_more_bits(s.i_attention_wv, s.n_attention_wv))
            t = DType::Q6_K;
        else if (f == kQ4_K_S && s.i_attention_wv < 4)
            t = DType::Q5_K;
        if (s.is_70b && (t == DType::Q3_K || t == DType::Q4_K)) t = DType::Q5_K;
        ++s.i_attention_wv;
    } else if (cat == Cat::FfnDown) {
        const int i = s.i_ffn_down, n = s.n_layer;
        if (f == kQ2_K)
            t = DType::Q3_K;
        else if (f == kQ3_K_M)
            t = i < n / 16 ? DType::Q5_K : DType::Q4_K;
        else if (f == kQ3_K_L)
            t = DType::Q5_K;
        else if (f == kQ4_K_M) {
            if (use_more_bits(i, n)) t = DType::Q6_K;
        } else if (i < n / 8 && (f == kIQ4_NL || f == kIQ4_XS) && !s.has_imatrix)
            t = DType::Q5_K;
        else if (f == kQ5_K_M && use_more_bits(i, n))
            t = DType::Q6_K;
        else if (f == kQ4_K_S && i < n / 8)
            t = DType::Q5_K;
        else if ((f == kQ4_0 || f == kQ5_0) && s.has_imatrix && i < n / 8)
            t = f == kQ4_0 ? DType::Q4_1 : DType::Q5_1; // llama.cpp's guard for the first ffn_down layers
        ++s.i_ffn_down;
    } else if (cat == Cat::AttnOutput) {
        if (f == kQ2_K)
            t = DType::Q3_K;
        else if (f == kQ3_K_M)
            t = DType::Q4_K;
        else if (f == kQ3_K_L)
            t = DType::Q5_K;
    } else if (cat == Cat::AttnQkv) {
        if (f == kQ3_K_M || f == kQ3_K_L)
            t = DType::Q4_K;
        else if (f == kQ4_K_M)
            t = DType::Q5_K;
        else if (f == kQ5_K_M)
            t = DType::Q6_K;
    } else if (cat == Cat::FfnGate) {
        ++s.i_ffn_gate;
    } else if (cat == Cat::FfnUp) {
        ++s.i_ffn_up;
    }
    return t;
}

// llama.cpp's tensor_type_fallback: a type whose block does not divide the rows gives way to a 32-element one,
// then to F16.
DType fallback(DType t, uint64_t ncols, int* n_fallback) {
    if (ncols % block_of(t) == 0) return t;
    ++*n_fallback;
    DType r = t;
    switch (t) {
    case DType::IQ4_XS:
        r = DType::IQ4_NL;
        break;
    case DType::Q2_K:
    case DType::Q3_K:
        r = DType::Q4_0;
        break;
    case DType::Q4_K:
        r = DType::Q5_0;
        break;
    case DType::Q5_K:
        r = DType::Q5_1;
        break;
    case DType::Q6_K:
        r = DType::Q8_0;
        break;
    default:
        break;
    }
    return ncols % block_of(r) == 0 ? r : DType::F16;
}

std::string upper(std::string_view s) {
    std::string u(s);
    for (char& c : u)
        c = char(std::toupper(static_cast<unsigned char>(c)));
    return u;
}

} // namespace

std::optional<Mix> find_mix(std::string_view name) {
    const std::string u = upper(name);
    for (const Mix& m : kMixes)
        if (m.name == u) return m;
    return std::nullopt;
}

std::vector<std::string_view> mix_names() {
    std::vector<std::string_view> v;
    for (const Mix& m : kMixes)
        v.push_back(m.name);
    return v;
}

Result<Plan> make_plan(const gguf::File& f, const Mix& mix, bool allow_requantize, const ImatrixInput* imatrix) {
    auto arch = f.get_string("general.architecture");
    if (!arch) return error("the model has no general.architecture: " + arch.message());
    State s;
    s.ftype = mix.ftype;
    s.has_imatrix = imatrix != nullptr;
    if (const auto e = f.get_u64(*arch + ".expert_count"); e && *e > 1)
        return error("mixture-of-experts models (" + std::to_string(*e) + " experts) are not supported yet");
    auto n_layer = f.get_u64(*arch + ".block_count");
    if (!n_layer) return error(n_layer.message());
    s.n_layer = int(std::min<uint64_t>(*n_layer, 1u << 20));
    s.is_70b = *arch == "llama" && *n_layer == 80;
    // n_gqa: heads per KV head of layer 0 (the keys may be per-layer arrays; their first element then).
    auto first_of = [&](const std::string& key) -> uint64_t {
        if (auto v = f.get_u64(key)) return *v;
        if (auto a = f.get_int_array(key); a && !a->empty()) return uint64_t(std::max<int64_t>((*a)[0], 0));
        return 0;
    };
    const uint64_t n_head = first_of(*arch + ".attention.head_count");
    const uint64_t n_head_kv =
        f.find(*arch + ".attention.head_count_kv") ? first_of(*arch + ".attention.head_count_kv") : n_head;
    s.n_gqa = n_head_kv > 0 ? uint32_t(n_head / n_head_kv) : 0;
    for (const gguf::TensorInfo& t : f.tensors()) {
        const Cat c = category(t.name);
        if (is_attn_v(c)) ++s.n_attention_wv;
        if (c == Cat::Output) s.tied = false;
    }
    Plan p;
    p.mix = mix;
    p.imatrix = imatrix;
    const bool quantized_target = dtype_info(mix.base).quantized;
    // llama.cpp's order (its model loader's): by layer (tensors outside the blocks first), then by name. The
    // per-layer rules count tensors in this order, and the output is written in it.
    auto layer_of = [](const std::string& name) {
        int layer = -1;
        if (name.rfind("blk.", 0) == 0) {
            const char* p = name.c_str() + 4;
            char* end = nullptr;
            const long v = std::strtol(p, &end, 10);
            if (end != p && *end == '.' && v >= 0 && v < (1 << 30)) layer = int(v);
        }
        return layer;
    };
    std::vector<const gguf::TensorInfo*> order;
    for (const gguf::TensorInfo& t : f.tensors())
        order.push_back(&t);
    std::stable_sort(order.begin(), order.end(), [&](const gguf::TensorInfo* a, const gguf::TensorInfo* b) {
        const int la = layer_of(a->name), lb = layer_of(b->name);
        return la != lb ? la < lb : a->name < b->name;
    });
    for (const gguf::TensorInfo* tp_info : order) {
        const gguf::TensorInfo& t = *tp_info;
        TensorPlan tp;
        tp.name = t.name;
        tp.ne = t.ne;
        tp.from = t.type;
        tp.to = t.type;
        if (allows_quantization(t)) {
            DType to = mix.base;
            if (quantized_target) {
                to = mix_type(s, to, t, category(t.name));
                to = fallback(to, t.ne[0], &p.n_fallback);
            }
            tp.to = to;
        }
        tp.copy = tp.to == tp.from;
        if (!tp.copy) {
            if (dtype_info(tp.from).quantized && !allow_requantize)
                return error("tensor " + t.name + " is already " + std::string(dtype_name(tp.from)) +
                             ": requantizing loses quality twice; pass --allow-requantize to do it anyway");
            if (!ref::ref_can_dequantize(tp.from))
                return error("tensor " + t.name + ": cannot read type " + std::string(dtype_name(tp.from)));
            if (!ref::ref_can_quantize(tp.to))
                return error("tensor " + t.name + ": no quantizer for " + std::string(dtype_name(tp.to)));
        }
        if (imatrix != nullptr && !tp.copy && ref::ref_uses_imatrix(tp.to)) {
            const auto it = imatrix->weights.find(t.name);
            if (it == imatrix->weights.end()) {
                ++p.n_without_imatrix;
            } else if (it->second.size() != t.ne[0]) {
                if (category(t.name) != Cat::TokenEmbd)
                    return error("the importance matrix has " + std::to_string(it->second.size()) + " columns for " +
                                 t.name + ", which has " + std::to_string(t.ne[0]) + ": it was made for another model");
            } else {
                tp.imatrix = &it->second;
            }
        }
        tp.bytes_in = t.n_bytes;
        tp.bytes_out = tp.copy ? t.n_bytes : *dtype_row_bytes(tp.to, t.ne[0]) * (t.n_elements / t.ne[0]);
        p.bytes_in += tp.bytes_in;
        p.bytes_out += tp.bytes_out;
        p.tensors.push_back(std::move(tp));
    }
    return p;
}

Status run(const gguf::File& f, const Plan& plan, const std::string& out_path, int n_threads,
           const std::function<void(uint64_t, uint64_t)>& progress) {
    gguf::Writer w;
    for (const gguf::KeyValue& kv : f.metadata()) {
        if (kv.key.rfind("split.", 0) == 0) continue;
        w.set(kv.key, kv.value);
    }
    w.set("general.quantization_version", gguf::Value::make_u32(2));
    w.set("general.file_type", gguf::Value::make_u32(plan.mix.ftype));
    if (const ImatrixInput* im = plan.imatrix) {
        w.set("quantize.imatrix.file", gguf::Value::make_string(im->file));
        if (!im->dataset.empty()) w.set("quantize.imatrix.dataset", gguf::Value::make_string(im->dataset));
        w.set("quantize.imatrix.entries_count", gguf::Value::make_u32(uint32_t(im->weights.size())));
        if (im->chunk_count > 0) w.set("quantize.imatrix.chunks_count", gguf::Value::make_u32(im->chunk_count));
    }
    ThreadPool pool(n_threads > 0 ? n_threads : int(std::max(1u, std::thread::hardware_concurrency())));
    std::vector<const gguf::TensorInfo*> src;
    for (const TensorPlan& tp : plan.tensors) {
        const gguf::TensorInfo* t = f.find_tensor(tp.name);
        if (t == nullptr) return error("tensor " + tp.name + " vanished from the source");
        src.push_back(t);
        HEARTH_TRY(w.add_tensor_later(tp.name, tp.to, tp.ne));
    }
    // Tensors are made one at a time as the file is written: memory holds one output tensor, not the model.
    uint64_t done = 0;
    std::vector<std::vector<float>> rows(size_t(pool.size()));
    // The source's pages are given back once their tensor is written (each is read once), so the mapped source does
    // not add up in memory either.
    std::span<const uint8_t> last;
    auto release = [](std::span<const uint8_t> s) {
        const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
        const uintptr_t b = (reinterpret_cast<uintptr_t>(s.data()) + page - 1) / page * page;
        const uintptr_t e = (reinterpret_cast<uintptr_t>(s.data()) + s.size()) / page * page;
        if (e > b) madvise(reinterpret_cast<void*>(b), e - b, MADV_DONTNEED);
    };
    return w.write(out_path, [&](size_t k, std::vector<uint8_t>& out) -> Result<std::span<const uint8_t>> {
        const TensorPlan& tp = plan.tensors[k];
        if (!last.empty() && f.is_mapped()) release(last);
        const std::span<const uint8_t> in = f.tensor_data(*src[k]);
        last = in;
        done += tp.bytes_in;
        if (tp.copy) {
            if (progress) progress(done, plan.bytes_in);
            return in;
        }
        const uint64_t ncols = tp.ne[0], nrows = src[k]->n_elements / ncols;
        const uint64_t in_row = *dtype_row_bytes(tp.from, ncols), out_row = *dtype_row_bytes(tp.to, ncols);
        out.resize(size_t(out_row * nrows));
        std::atomic<int64_t> bad_row{-1};
        pool.run([&](int ith, int nth) {
            const auto [r0, r1] = ThreadPool::split(int64_t(nrows), ith, nth);
            std::vector<float>& row = rows[size_t(ith)];
            row.resize(size_t(ncols));
            for (int64_t r = r0; r < r1; ++r) {
                ref::ref_dequantize_row(tp.from, in.data() + size_t(r) * in_row, row.data(), int64_t(ncols));
                // The quantizers need finite inputs (a NaN would reach a float-to-int conversion).
                if (!std::all_of(row.begin(), row.end(), [](float v) { return std::isfinite(v); })) {
                    bad_row.store(r);
                    return;
                }
                ref::ref_quantize_row_imatrix(tp.to, row.data(), out.data() + size_t(r) * out_row, int64_t(ncols),
                                              tp.imatrix != nullptr ? tp.imatrix->data() : nullptr);
            }
        });
        if (bad_row.load() >= 0)
            return error("tensor " + tp.name + " row " + std::to_string(bad_row.load()) +
                         " holds a NaN or infinity: the model is broken; nothing written");
        if (progress) progress(done, plan.bytes_in);
        return std::span<const uint8_t>(out);
    });
}

} // namespace hearth::quantize
