// bench/bench_forward.cpp: the forward pass on any backend, with nothing but the model and backend libraries (no
// tokenizer, server or ICU), so it can travel to a GPU machine that has no packages with only libstdc++ and
// libcudart beside it (#18's measuring plan):
//
//   bench_forward synth OUT.gguf --shape tiny|1.5b|8b --type q4_k_m|q4_0|q8_0|f16
//       a random-weight llama-architecture model of that shape (1.5b: Qwen2.5-1.5B's dims without biases; 8b:
//       Llama-3.1-8B's), written with hearth's GGUF writer: quantized blocks of random bytes with sane scales, made
//       fast enough to write an 8B model on the device
//   bench_forward run MODEL.gguf [--device cpu|cuda|cuda:N] [-t N] [-p 512] [-n 128] [-r 3]
//       prefill of p tokens and decode of n, best of r: tok/s, and for decode the weight bytes read per token over
//       the step time (GB/s); one JSON line
//   bench_forward compare MODEL.gguf --device cuda [-p 32] [-n 16]
//       the same random tokens on the CPU and on the device: max |Δlogit| and top-1 agreement per step
#include "backend/cpu_backend.h"
#include "backend/cuda_backend.h"
#include "base/cpu_features.h"
#include "base/fp16.h"
#include "gguf/writer.h"
#include "model/model.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace hearth {
namespace {

struct Shape {
    int32_t n_embd, n_layer, n_head, n_head_kv, n_ff, n_vocab;
    float rope_base;
};

std::optional<Shape> shape_named(const std::string& s) {
    if (s == "tiny") return Shape{256, 4, 8, 2, 768, 4096, 10000.0f};
    if (s == "1.5b") return Shape{1536, 28, 12, 2, 8960, 151936, 1000000.0f};
    if (s == "8b") return Shape{4096, 32, 32, 8, 14336, 128256, 500000.0f};
    return std::nullopt;
}

// (rows, cols) of type t: random quants, scales drawn so that a row's dot product with a unit vector stays O(1).
std::vector<uint8_t> random_matrix(DType t, int64_t rows, int64_t cols, uint64_t seed) {
    const size_t row_bytes = size_t(*dtype_row_bytes(t, uint64_t(cols)));
    std::vector<uint8_t> out(size_t(rows) * row_bytes);
    std::mt19937_64 rng(seed);
    const float sd = 1.0f / std::sqrt(float(cols));
    if (t == DType::F16) {
        std::normal_distribution<float> n(0.0f, sd);
        for (size_t i = 0; i + 1 < out.size(); i += 2) {
            const uint16_t h = f32_to_fp16(n(rng));
            std::memcpy(&out[i], &h, 2);
        }
        return out;
    }
    for (size_t i = 0; i + 8 <= out.size(); i += 8) {
        const uint64_t r = rng();
        std::memcpy(&out[i], &r, 8);
    }
    const DTypeInfo& info = dtype_info(t);
    const uint16_t d = f32_to_fp16(sd / (info.block_size == 256 ? 64.0f : 8.0f)); // quants up to ~8 (K: x scale)
    for (size_t b = 0; b + info.type_size <= out.size(); b += info.type_size)
        for (size_t off : dtype_scale_fields(t))
            std::memcpy(&out[b + off], &d, 2);
    return out;
}

int synth(const std::string& path, const Shape& s, const std::string& type) {
    DType mat = DType::Q4_K, heavy = DType::Q6_K; // q4_k_m: Q4_K, with Q6_K for ffn_down and the output
    if (type == "q4_0")
        mat = heavy = DType::Q4_0;
    else if (type == "q8_0")
        mat = heavy = DType::Q8_0;
    else if (type == "f16")
        mat = heavy = DType::F16;
    else if (type != "q4_k_m") {
        std::fprintf(stderr, "bench_forward: unknown --type %s (q4_k_m, q4_0, q8_0, f16)\n", type.c_str());
        return 2;
    }
    const int32_t hd = s.n_embd / s.n_head;
    gguf::Writer w;
    w.set("general.architecture", gguf::Value::make_string("llama"));
    w.set("general.name", gguf::Value::make_string("synthetic " + type));
    w.set("llama.context_length", gguf::Value::make_u32(8192));
    w.set("llama.embedding_length", gguf::Value::make_u32(uint32_t(s.n_embd)));
    w.set("llama.block_count", gguf::Value::make_u32(uint32_t(s.n_layer)));
    w.set("llama.feed_forward_length", gguf::Value::make_u32(uint32_t(s.n_ff)));
    w.set("llama.attention.head_count", gguf::Value::make_u32(uint32_t(s.n_head)));
    w.set("llama.attention.head_count_kv", gguf::Value::make_u32(uint32_t(s.n_head_kv)));
    w.set("llama.attention.layer_norm_rms_epsilon", gguf::Value::make_f32(1e-6f));
    w.set("llama.rope.freq_base", gguf::Value::make_f32(s.rope_base));
    w.set("llama.vocab_size", gguf::Value::make_u32(uint32_t(s.n_vocab)));
    struct T {
        std::string name;
        DType type;
        int64_t rows, cols; // rows 0: a vector of cols ones
    };
    std::vector<T> ts;
    ts.push_back({"token_embd.weight", mat, s.n_vocab, s.n_embd});
    for (int32_t l = 0; l < s.n_layer; ++l) {
        const std::string p = "blk." + std::to_string(l) + ".";
        ts.push_back({p + "attn_norm.weight", DType::F32, 0, s.n_embd});
        ts.push_back({p + "attn_q.weight", mat, int64_t{s.n_head} * hd, s.n_embd});
        ts.push_back({p + "attn_k.weight", mat, int64_t{s.n_head_kv} * hd, s.n_embd});
        ts.push_back({p + "attn_v.weight", mat, int64_t{s.n_head_kv} * hd, s.n_embd});
        ts.push_back({p + "attn_output.weight", mat, s.n_embd, int64_t{s.n_head} * hd});
        ts.push_back({p + "ffn_norm.weight", DType::F32, 0, s.n_embd});
        ts.push_back({p + "ffn_gate.weight", mat, s.n_ff, s.n_embd});
        ts.push_back({p + "ffn_up.weight", mat, s.n_ff, s.n_embd});
        ts.push_back({p + "ffn_down.weight", heavy, s.n_embd, s.n_ff});
    }
    ts.push_back({"output_norm.weight", DType::F32, 0, s.n_embd});
    ts.push_back({"output.weight", heavy, s.n_vocab, s.n_embd});
    for (const T& t : ts) {
        std::vector<uint64_t> ne = {uint64_t(t.cols)};
        if (t.rows > 0) ne.push_back(uint64_t(t.rows));
        if (Status st = w.add_tensor_later(t.name, t.type, ne); !st) {
            std::fprintf(stderr, "bench_forward: %s\n", st.message().c_str());
            return 1;
        }
    }
    const Status st = w.write(path, [&](size_t k, std::vector<uint8_t>& scratch) -> Result<std::span<const uint8_t>> {
        const T& t = ts[k];
        if (t.rows == 0) {
            scratch.resize(size_t(t.cols) * 4);
            const float one = 1.0f;
            for (int64_t i = 0; i < t.cols; ++i)
                std::memcpy(&scratch[size_t(i) * 4], &one, 4);
        } else {
            scratch = random_matrix(t.type, t.rows, t.cols, k + 1);
        }
        return std::span<const uint8_t>(scratch);
    });
    if (!st) {
        std::fprintf(stderr, "bench_forward: %s\n", st.message().c_str());
        return 1;
    }
    std::printf("wrote %s\n", path.c_str());
    return 0;
}

Result<std::unique_ptr<Backend>> backend_for(const std::string& device, int threads) {
    if (device == "cpu")
        return make_cpu_backend(cpu::make_kernel_table(detect_cpu_features()),
                                threads > 0 ? threads : int(std::max(1u, std::thread::hardware_concurrency())));
    if (device == "cuda") return make_cuda_backend(0);
    if (device.rfind("cuda:", 0) == 0) return make_cuda_backend(std::atoi(device.c_str() + 5));
    return error("unknown device " + device);
}

// A model on a backend, ready for passes of up to n_batch tokens over n_ctx positions.
struct Loaded {
    std::unique_ptr<Model> model;
    std::unique_ptr<Backend> be;
    uint64_t weight_bytes = 0; // the matrices a decode step reads
};

Result<Loaded> load(const std::string& path, const std::string& device, int threads) {
    Loaded l;
    auto m = load_model(path);
    if (!m) return m.status();
    l.model = std::move(*m);
    auto be = backend_for(device, threads);
    if (!be) return be.status();
    l.be = std::move(*be);
    prepare_weights(l.model->w, *l.be);
    const ModelWeights& w = l.model->w;
    l.weight_bytes = uint64_t(w.output.rows) * w.output.row_bytes;
    for (const auto& L : w.layers)
        for (const Matrix* x : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down})
            l.weight_bytes += uint64_t(x->rows) * x->row_bytes;
    return l;
}

std::vector<int32_t> random_tokens(int32_t n, int32_t n_vocab, uint64_t seed) {
    std::mt19937_64 rng(seed);
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (auto& x : t)
        x = int32_t(rng() % uint64_t(n_vocab));
    return t;
}

double now_s() {
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

int run(const std::string& path, const std::string& device, int threads, int32_t n_p, int32_t n_g, int reps) {
    auto l = load(path, device, threads);
    if (!l) {
        std::fprintf(stderr, "bench_forward: %s\n", l.message().c_str());
        return 1;
    }
    const Model& m = *l->model;
    Backend& be = *l->be;
    const int32_t n_ctx = n_p + n_g + 1;
    SeqState seq = make_seq_state(m, be, n_ctx);
    PassScratch work = make_pass_scratch(m, be, n_ctx, std::max(n_p, 1), 1);
    const ComputeCtx c{&be};
    const std::vector<int32_t> toks = random_tokens(n_p + n_g, m.cfg.n_vocab, 7);
    double best_pp = 0, best_tg = 0;
    for (int r = 0; r < reps; ++r) {
        const double t0 = now_s();
        forward(m, c, work, seq, toks.data(), n_p, 0); // ends with the logits read: synchronous
        const double t1 = now_s();
        for (int32_t i = 0; i < n_g; ++i)
            forward(m, c, work, seq, toks.data() + n_p + i, 1, n_p + i);
        const double t2 = now_s();
        best_pp = std::max(best_pp, n_p / (t1 - t0));
        best_tg = std::max(best_tg, n_g / (t2 - t1));
    }
    std::printf("{\"model\": \"%s\", \"device\": \"%s\", \"isa\": \"%s\", \"threads\": %d, \"pp\": %d, \"tg\": %d, "
                "\"pp_tok_s\": %.2f, \"tg_tok_s\": %.2f, \"weight_bytes\": %llu, \"tg_weight_gb_s\": %.2f}\n",
                path.c_str(), be.name().c_str(), be.isa().c_str(), be.n_threads(), n_p, n_g, best_pp, best_tg,
                static_cast<unsigned long long>(l->weight_bytes), best_tg * double(l->weight_bytes) / 1e9);
    return 0;
}

int compare(const std::string& path, const std::string& device, int threads, int32_t n_p, int32_t n_g) {
    auto a = load(path, "cpu", threads);
    auto b = load(path, device, threads);
    if (!a || !b) {
        std::fprintf(stderr, "bench_forward: %s\n", (!a ? a.message() : b.message()).c_str());
        return 1;
    }
    const Model& ma = *a->model;
    const int32_t n_ctx = n_p + n_g + 1;
    SeqState sa = make_seq_state(ma, *a->be, n_ctx), sb = make_seq_state(*b->model, *b->be, n_ctx);
    PassScratch wa = make_pass_scratch(ma, *a->be, n_ctx, n_p, 1),
                wb = make_pass_scratch(*b->model, *b->be, n_ctx, n_p, 1);
    const std::vector<int32_t> toks = random_tokens(n_p + n_g, ma.cfg.n_vocab, 11);
    double worst = 0;
    int agree = 0;
    for (int32_t i = 0; i <= n_g; ++i) {
        const int32_t n = i == 0 ? n_p : 1, past = i == 0 ? 0 : n_p + i - 1;
        forward(ma, ComputeCtx{a->be.get()}, wa, sa, toks.data() + past, n, past);
        forward(*b->model, ComputeCtx{b->be.get()}, wb, sb, toks.data() + past, n, past);
        double d = 0, scale = 0;
        for (size_t k = 0; k < sa.logits.size(); ++k) {
            d = std::max(d, std::fabs(double(sa.logits[k]) - double(sb.logits[k])));
            scale = std::max(scale, std::fabs(double(sa.logits[k])));
        }
        const auto top = [](const std::vector<float>& v) { return std::max_element(v.begin(), v.end()) - v.begin(); };
        agree += top(sa.logits) == top(sb.logits);
        worst = std::max(worst, d);
        std::printf("step %d: max|dlogit| %.5f (max|logit| %.2f), top-1 %s\n", i, d, scale,
                    top(sa.logits) == top(sb.logits) ? "same" : "DIFFERENT");
    }
    std::printf(
        "{\"model\": \"%s\", \"device\": \"%s\", \"worst_abs_diff\": %.6f, \"top1_agree\": %d, \"steps\": %d}\n",
        path.c_str(), b->be->name().c_str(), worst, agree, n_g + 1);
    return 0;
}

int usage() {
    std::fprintf(stderr, "usage: bench_forward synth OUT.gguf --shape tiny|1.5b|8b --type q4_k_m|q4_0|q8_0|f16\n"
                         "       bench_forward run MODEL.gguf [--device D] [-t N] [-p N] [-n N] [-r N]\n"
                         "       bench_forward compare MODEL.gguf --device D [-t N] [-p N] [-n N]\n");
    return 2;
}

} // namespace
} // namespace hearth

int main(int argc, char** argv) {
    using namespace hearth;
    if (argc < 3) return usage();
    const std::string cmd = argv[1], path = argv[2];
    std::string device = "cpu", shape = "tiny", type = "q4_k_m";
    int threads = 0, reps = 3;
    int32_t n_p = 512, n_g = 128;
    bool n_given = false, p_given = false;
    for (int i = 3; i + 1 < argc; i += 2) {
        const std::string k = argv[i], v = argv[i + 1];
        if (k == "--device")
            device = v;
        else if (k == "--shape")
            shape = v;
        else if (k == "--type")
            type = v;
        else if (k == "-t")
            threads = std::atoi(v.c_str());
        else if (k == "-r")
            reps = std::max(1, std::atoi(v.c_str()));
        else if (k == "-p")
            n_p = std::max(1, std::atoi(v.c_str())), p_given = true;
        else if (k == "-n")
            n_g = std::max(1, std::atoi(v.c_str())), n_given = true;
        else
            return usage();
    }
    if (cmd == "synth") {
        const auto s = shape_named(shape);
        if (!s) return usage();
        return synth(path, *s, type);
    }
    if (cmd == "run") return run(path, device, threads, n_p, n_g, reps);
    if (cmd == "compare") return compare(path, device, threads, p_given ? n_p : 32, n_given ? n_g : 16);
    return usage();
}
