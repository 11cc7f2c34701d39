#include "hearth/runtime.h"

#include "backend/cpu_backend.h"
#include "backend/cuda_backend.h"
#include "base/check.h"
#include "base/cpu_features.h"
#include "kernels/ref/quant.h"
#include "model/archs/archs.h"
#include "model/model.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <thread>
#include <unistd.h>

namespace hearth {

struct Runtime::Impl {
    std::unique_ptr<Model> model;
    std::unique_ptr<Backend> be;       // computes the output, and every layer unless the model is split
    std::unique_ptr<Backend> cpu_part; // partial offload: the CPU backend of the first layers; else null
    std::vector<LayerSplit> splits;    // (1 or 2) the layers each backend computes, in order
    bool on_device = false;            // `be` is a device with memory of its own (its split is the last one)
    ModelInfo info;
    // The scratch of every pass (sessions' and batches'; one pass runs at a time), one per split, made at the first
    // pass and grown when a call needs more tokens, sequences or context than it has (never per token); the stages
    // that use it, and the host buffer that hands the hidden states between splits.
    std::vector<std::unique_ptr<PassScratch>> scratch;
    std::vector<Stage> stages;
    std::vector<float> handover;
    std::span<const Stage> stages_for(int32_t n_ctx, int32_t n_batch, int32_t n_seqs, const MatmulObserver* observer);
    Backend& first() const { return *splits.front().be; }
};

std::span<const Stage> Runtime::Impl::stages_for(int32_t n_ctx, int32_t n_batch, int32_t n_seqs,
                                                 const MatmulObserver* observer) {
    const PassScratch* s = scratch.empty() ? nullptr : scratch.front().get();
    if (!s || s->n_ctx < n_ctx || s->n_batch < n_batch || s->n_seqs < n_seqs) {
        if (s) {
            n_ctx = std::max(n_ctx, s->n_ctx);
            n_batch = std::max(n_batch, s->n_batch);
            n_seqs = std::max(n_seqs, s->n_seqs);
        }
        stages.clear();
        scratch.clear(); // free the old scratch before the new one is made
        for (const LayerSplit& sp : splits) {
            scratch.push_back(std::make_unique<PassScratch>(make_pass_scratch(*model, *sp.be, n_ctx, n_batch, n_seqs)));
            stages.push_back(Stage{ComputeCtx{sp.be, nullptr, sp.begin, sp.end}, scratch.back().get()});
        }
        if (splits.size() > 1) handover.assign(size_t(n_batch) * size_t(model->cfg.n_embd), 0.0f);
    }
    for (Stage& st : stages)
        st.c.observer = observer;
    return stages;
}

bool matryoshka_family(const std::string& name) {
    static constexpr const char* kFamilies[] = {
        "qwen3-embedding",      "nomic-embed-text-v1.5",         "embeddinggemma",
        "mxbai-embed-large-v1", "snowflake-arctic-embed-m-v1.5", "jina-embeddings-v3"};
    std::string lower = name;
    for (char& ch : lower)
        ch = char(std::tolower(static_cast<unsigned char>(ch)));
    for (const char* f : kFamilies)
        if (lower.find(f) != std::string::npos) return true;
    return false;
}

namespace {

std::unique_ptr<Backend> cpu_backend(const RuntimeOptions& opts) {
    const int n =
        opts.n_threads > 0 ? opts.n_threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const char* repack_env = std::getenv("HEARTH_REPACK");
    const bool repack = opts.repack_weights && !(repack_env != nullptr && std::string(repack_env) == "0");
    return make_cpu_backend(cpu::make_kernel_table(detect_cpu_features()), n, repack);
}

// The backend RuntimeOptions::device names (or HEARTH_DEVICE): "cpu", "cuda", "cuda:N".
Result<std::unique_ptr<Backend>> make_backend(const RuntimeOptions& opts) {
    std::string device = opts.device;
    if (device.empty()) {
        const char* env = std::getenv("HEARTH_DEVICE");
        device = env != nullptr && *env != '\0' ? env : "cpu";
    }
    if (device == "cpu") return cpu_backend(opts);
    if (device == "cuda") return make_cuda_backend(0);
    if (device.rfind("cuda:", 0) == 0) {
        const std::string idx = device.substr(5);
        if (!idx.empty() && idx.size() <= 3 &&
            std::all_of(idx.begin(), idx.end(), [](char ch) { return ch >= '0' && ch <= '9'; }))
            return make_cuda_backend(std::stoi(idx));
    }
    return error("unknown device '" + device + "': use cpu, cuda or cuda:N");
}

} // namespace

Runtime::Runtime() : impl_(std::make_unique<Impl>()) {}
Runtime::~Runtime() = default;

Result<std::unique_ptr<Runtime>> Runtime::load(const std::string& path, const RuntimeOptions& opts) {
    auto be = make_backend(opts);
    if (!be) return be.status();
    return load_on(path, opts, std::move(*be));
}

Result<std::unique_ptr<Runtime>> Runtime::load_on(const std::string& path, const RuntimeOptions& opts,
                                                  std::unique_ptr<Backend> device) {
    HEARTH_CHECK(device != nullptr, "Runtime::load_on needs a backend");
    auto model = load_model(path);
    if (!model) return model.status();
    std::unique_ptr<Runtime> e(new Runtime());
    Impl& im = *e->impl_;
    im.model = std::move(*model);
    im.be = std::move(device);
    // Partial offload: the last gpu_layers layers and the output on the device, the rest on the CPU (llama.cpp's
    // -ngl); 0 layers: the CPU alone. Encoders run whole on one backend.
    const int32_t n_layer = im.model->cfg.n_layer;
    int32_t gpu_layers = opts.gpu_layers;
    if (gpu_layers < 0)
        if (const char* env = std::getenv("HEARTH_GPU_LAYERS"); env != nullptr && *env != '\0')
            gpu_layers = std::atoi(env);
    int32_t split = 0; // the first layer on im.be
    if (im.be->device_memory_free() && gpu_layers >= 0 && gpu_layers < n_layer && im.model->cfg.causal) {
        if (gpu_layers == 0)
            im.be = cpu_backend(opts);
        else
            im.cpu_part = cpu_backend(opts);
        split = gpu_layers == 0 ? 0 : n_layer - gpu_layers;
    }
    if (im.cpu_part) im.splits.push_back(LayerSplit{im.cpu_part.get(), 0, split});
    im.splits.push_back(LayerSplit{im.be.get(), split, n_layer});
    im.on_device = im.be->device_memory_free().has_value();
    // Matrices go through the backend; embedding rows are dequantized by the reference code.
    const ModelWeights& w = im.model->w;
    auto unsupported = [&](const std::string& name, DType t) {
        return error(path + ": tensor '" + name + "' has type " + std::string(dtype_name(t)) +
                     ", which hearth cannot compute with yet");
    };
    if (!ref::ref_can_dequantize(w.token_embd.type)) return unsupported("token_embd.weight", w.token_embd.type);
    if (w.output.present() && !im.be->supports(w.output.type)) return unsupported("output.weight", w.output.type);
    uint64_t device_bytes = w.output.present() ? uint64_t(w.output.rows) * w.output.row_bytes : 0;
    for (size_t il = 0; il < w.layers.size(); ++il) {
        const LayerWeights& L = w.layers[il];
        const bool on_be = int32_t(il) >= split;
        for (const Matrix* m : {&L.wq, &L.wk, &L.wv, &L.wqkv, &L.wo, &L.ffn_gate, &L.ffn_up, &L.ffn_down}) {
            if (m->present() && !(on_be ? *im.be : *im.cpu_part).supports(m->type))
                return unsupported("a matrix of layer " + std::to_string(il), m->type);
            if (on_be && m->present()) device_bytes += uint64_t(m->rows) * m->row_bytes;
        }
    }
    if (const auto free = im.be->device_memory_free(); free && device_bytes > *free)
        return error(
            Code::TooLarge,
            path + ": " + std::to_string(device_bytes >> 20) + " MiB of weights do not fit in the " +
                std::to_string(*free >> 20) + " MiB free on " + im.be->name() + " (" + im.be->isa() +
                "); put fewer layers on it (--gpu-layers N), use a smaller or more quantized model, or the CPU "
                "(--device cpu)");
    for (size_t i = 0; i < im.splits.size(); ++i)
        prepare_weights(im.model->w, *im.splits[i].be, im.splits[i].begin, im.splits[i].end, i == 0,
                        i + 1 == im.splits.size());
    const ModelConfig& c = im.model->cfg;
    im.info.arch = c.arch->name;
    if (auto name = im.model->file.get_string("general.name")) im.info.name = *name;
    im.info.n_vocab = c.n_vocab;
    im.info.n_ctx_train = c.n_ctx_train;
    im.info.n_embd = c.n_embd;
    im.info.n_layer = c.n_layer;
    im.info.can_generate = c.generative;
    im.info.pooling = c.pooling;
    im.info.embedding_model = c.pooling_declared || !c.generative;
    if (auto base = im.model->file.get_string("general.basename")) im.info.matryoshka = matryoshka_family(*base);
    im.info.matryoshka = im.info.embedding_model && (im.info.matryoshka || matryoshka_family(im.info.name));
    for (const auto& t : im.model->file.tensors()) {
        im.info.n_params += t.n_elements;
        im.info.weight_bytes += t.n_bytes;
    }
    if (im.on_device) im.info.device_weight_bytes = std::min(device_bytes, im.info.weight_bytes);
    return e;
}

const ModelInfo& Runtime::info() const {
    return impl_->info;
}
const std::string& Runtime::kernel_isa() const {
    return impl_->be->isa();
}
const std::string& Runtime::device() const {
    return impl_->be->name();
}
int32_t Runtime::device_layers() const {
    return impl_->splits.back().end - impl_->splits.back().begin;
}
int Runtime::n_threads() const {
    return impl_->first().n_threads();
}

namespace {

// The context a session gets: the model's training context (at most 4096) unless asked for.
Result<int32_t> session_ctx(const ModelConfig& c, const SessionOptions& opts) {
    int32_t n_ctx = opts.n_ctx > 0 ? opts.n_ctx : std::min<int32_t>(c.n_ctx_train, 4096);
    if (n_ctx > c.n_ctx_train)
        return error("context " + std::to_string(n_ctx) + " exceeds the model's training context " +
                     std::to_string(c.n_ctx_train));
    if (c.n_ctx_max > 0 && n_ctx > c.n_ctx_max) {
        if (opts.n_ctx > 0)
            return error("context " + std::to_string(n_ctx) + " exceeds " + std::to_string(c.n_ctx_max) +
                         ", the longest this model supports in hearth (LongRoPE long factors are not supported yet)");
        n_ctx = c.n_ctx_max;
    }
    if (opts.n_batch <= 0 || opts.n_batch > 8192) return error("n_batch must be in 1..8192");
    return n_ctx;
}

uint64_t host_available_memory();

// After the last embedding pass over n tokens: mean pooling's sum becomes the mean.
void finish_embedding(const ModelConfig& c, SeqState& b, int32_t n) {
    if (c.pooling != Pooling::Mean || n <= 0) return;
    const float s = 1.0f / float(n);
    for (float& x : b.embd)
        x *= s;
}

// Room left under this process's cgroup (v2) memory limit, if it has one (containers, systemd units).
std::optional<uint64_t> cgroup_room() {
    auto read_u64 = [](const char* path) -> std::optional<uint64_t> {
        std::FILE* f = std::fopen(path, "r");
        if (!f) return std::nullopt;
        unsigned long long v = 0;
        const bool ok = std::fscanf(f, "%llu", &v) == 1; // "max" (no limit) does not parse
        std::fclose(f);
        return ok ? std::optional<uint64_t>(v) : std::nullopt;
    };
    const auto limit = read_u64("/sys/fs/cgroup/memory.max");
    if (!limit) return std::nullopt;
    const uint64_t used = read_u64("/sys/fs/cgroup/memory.current").value_or(0);
    return *limit > used ? *limit - used : 0;
}

// MemAvailable (the kernel's estimate of memory that can be had without swapping), else physical memory;
// less if a cgroup limit leaves less room.
uint64_t available_memory() {
    const uint64_t host = host_available_memory();
    const auto room = cgroup_room();
    return room && (host == 0 || *room < host) ? *room : host;
}

uint64_t host_available_memory() {
    if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
        char line[256];
        unsigned long long kb = 0;
        bool found = false;
        while (std::fgets(line, sizeof line, f))
            if (std::sscanf(line, "MemAvailable: %llu kB", &kb) == 1) {
                found = true;
                break;
            }
        std::fclose(f);
        if (found) return uint64_t(kb) * 1024;
    }
    const long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? uint64_t(pages) * uint64_t(page) : 0;
}

std::string mib(uint64_t bytes) {
    return std::to_string((bytes + (1 << 20) - 1) >> 20) + " MiB";
}

} // namespace

Status check_memory(const MemoryEstimate& m) {
    if (m.on_device && m.device_needed() > m.device_available)
        return error("not enough device memory: the model's layers on the device need " + mib(m.device_needed()) +
                     " more (KV cache " + mib(m.device_session_bytes) + " and scratch " + mib(m.device_scratch_bytes) +
                     " for a context of " + std::to_string(m.n_ctx) + " tokens) but only " + mib(m.device_available) +
                     " is free on it; try a smaller context (--ctx-size), fewer layers on the device (--gpu-layers "
                     "N), or a smaller or more quantized model");
    if (m.available == 0 || m.needed() <= m.available) return Status::ok();
    return error("not enough memory: the model needs " + mib(m.needed()) + " (weights " + mib(m.weight_bytes) +
                 " + KV cache and scratch " + mib(m.session_bytes + m.scratch_bytes) + " for a context of " +
                 std::to_string(m.n_ctx) + " tokens) but only " + mib(m.available) +
                 " is available; try a smaller context (--ctx-size), a smaller or more quantized model, or "
                 "closing other programs");
}

Result<MemoryEstimate> Runtime::estimate_memory(const SessionOptions& opts) const {
    const ModelConfig& c = impl_->model->cfg;
    auto n_ctx = session_ctx(c, opts);
    if (!n_ctx) return n_ctx.status();
    MemoryEstimate m;
    m.n_ctx = *n_ctx;
    // Its KV cache and outputs, and what the shared pass scratch would grow by for its passes: its own batch, or
    // a batched pass of kBatchTokens (the server's), whichever is larger.
    // The KV cache is the same per layer: the device's layers' share of it is on the device, the rest and the
    // outputs in host memory (make_seq_state allocates it so).
    const Impl& im = *impl_;
    const uint64_t kv = seq_state_bytes(c, *n_ctx) - seq_state_bytes(c, 0);
    const int32_t device_layers = im.on_device ? im.splits.back().end - im.splits.back().begin : 0;
    m.device_session_bytes = c.n_layer > 0 ? kv / uint64_t(c.n_layer) * uint64_t(device_layers) : 0;
    m.session_bytes = seq_state_bytes(c, *n_ctx) - m.device_session_bytes;
    // Every split has a pass scratch of its own, on its backend.
    const int32_t n_batch = std::min(std::max(opts.n_batch, kBatchTokens), *n_ctx);
    const uint64_t per_split = pass_scratch_bytes(c, *n_ctx, n_batch, im.first().n_threads());
    const auto n_device_splits = uint64_t(im.on_device ? 1 : 0);
    const uint64_t host = per_split * (uint64_t(im.splits.size()) - n_device_splits),
                   device = per_split * n_device_splits;
    const uint64_t held = scratch_bytes(), device_held = device_scratch_bytes();
    m.scratch_bytes = host > held ? host - held : 0;
    m.device_scratch_bytes = device > device_held ? device - device_held : 0;
    m.weight_bytes = im.info.weight_bytes - im.info.device_weight_bytes;
    m.available = available_memory();
    if (im.on_device) {
        m.on_device = true;
        m.device_available = im.be->device_memory_free().value_or(0);
    }
    return m;
}

Result<std::unique_ptr<Session>> Runtime::create_session(const SessionOptions& opts) const {
    auto est = estimate_memory(opts);
    if (!est) return est.status();
    if (opts.check_memory) HEARTH_TRY(check_memory(*est));
    const int32_t n_ctx = est->n_ctx;
    // An encoder sees each input whole in one pass: its batch is its context (short: 512 for BERT).
    const int32_t n_batch = impl_->model->cfg.causal ? std::min(opts.n_batch, n_ctx) : n_ctx;
    std::unique_ptr<Session> s(new Session());
    s->runtime_ = this;
    s->seq_ = std::make_unique<SeqState>(make_seq_state(*impl_->model, impl_->splits, n_ctx));
    s->n_batch_ = n_batch;
    return s;
}

Session::~Session() = default;

int32_t Session::n_ctx() const {
    return seq_->n_ctx;
}

std::span<const float> Session::logits() const {
    return seq_->logits;
}

std::span<const float> Session::embedding() const {
    return seq_->embd;
}

Status Session::truncate(int32_t n_keep) {
    if (n_keep < 0 || n_keep > n_past_)
        return error("truncate: " + std::to_string(n_keep) + " is outside [0, " + std::to_string(n_past_) + "]");
    n_past_ = n_keep;
    return Status::ok();
}

void Session::reset() {
    n_past_ = 0;
    cancelled_.store(false);
}

Status Session::check_feed(std::span<const int32_t> tokens) const {
    const int32_t n_vocab = runtime_->impl_->model->cfg.n_vocab;
    for (size_t i = 0; i < tokens.size(); ++i) {
        if (tokens[i] < 0 || tokens[i] >= n_vocab)
            return error("token " + std::to_string(tokens[i]) + " at index " + std::to_string(i) +
                         " is outside the vocabulary [0, " + std::to_string(n_vocab) + ")");
    }
    if (static_cast<int64_t>(n_past_) + static_cast<int64_t>(tokens.size()) > seq_->n_ctx)
        return error(Code::ContextFull, "context full: " + std::to_string(n_past_) + " + " +
                                            std::to_string(tokens.size()) + " tokens > context size " +
                                            std::to_string(seq_->n_ctx));
    return Status::ok();
}

Status Session::feed(std::span<const int32_t> tokens) {
    const Runtime::Impl& im = *runtime_->impl_;
    if (!im.model->cfg.generative)
        return error("this model (" + im.info.arch + ") computes embeddings only: it cannot generate text");
    HEARTH_TRY(check_feed(tokens));
    return run_passes(tokens, false);
}

Status Session::feed_scored(std::span<const int32_t> tokens, size_t first, const LogitsFn& fn,
                            const MatmulInputFn* inputs) {
    const Runtime::Impl& im = *runtime_->impl_;
    if (!im.model->cfg.generative)
        return error("this model (" + im.info.arch + ") computes embeddings only: it cannot generate text");
    if (first > tokens.size())
        return error("first scored token " + std::to_string(first) + " is past the " + std::to_string(tokens.size()) +
                     " tokens fed");
    HEARTH_TRY(check_feed(tokens));
    return run_passes(tokens, false, first, &fn, inputs);
}

namespace {

// The GGUF names of the model's matrices, for feed_scored's observer.
struct NamedInputs {
    std::vector<std::pair<const Matrix*, std::string>> names;
    const Session::MatmulInputFn* fn = nullptr;

    NamedInputs(const ModelWeights& w, const Session::MatmulInputFn* f) : fn(f) {
        // A tied output matrix is the token embedding's tensor, named as llama.cpp names it then.
        names.emplace_back(&w.output, w.output.data == w.token_embd.data ? "token_embd.weight" : "output.weight");
        for (size_t i = 0; i < w.layers.size(); ++i) {
            const LayerWeights& L = w.layers[i];
            const std::string blk = "blk." + std::to_string(i) + ".";
            for (const auto& [m, n] : {std::pair{&L.wq, "attn_q"},
                                       {&L.wk, "attn_k"},
                                       {&L.wv, "attn_v"},
                                       {&L.wqkv, "attn_qkv"},
                                       {&L.wo, "attn_output"},
                                       {&L.ffn_gate, "ffn_gate"},
                                       {&L.ffn_up, "ffn_up"},
                                       {&L.ffn_down, "ffn_down"}})
                names.emplace_back(m, blk + n + ".weight");
        }
    }
    static void observe(void* user, const Matrix& w, const float* x, int64_t n_tokens) {
        const auto* self = static_cast<const NamedInputs*>(user);
        for (const auto& [m, name] : self->names)
            if (m == &w) return (*self->fn)(name, x, n_tokens, w.cols);
    }
};

} // namespace

Status Session::run_passes(std::span<const int32_t> tokens, bool embed, size_t first, const LogitsFn* fn,
                           const MatmulInputFn* inputs) {
    Runtime::Impl& im = *runtime_->impl_;
    // Scored rows go through the output matrix kScoredRows at a time (one pass over it per group).
    constexpr int32_t kScoredRows = 64;
    const int32_t n_seqs = fn ? std::min(kScoredRows, n_batch_) : 1;
    std::optional<NamedInputs> named;
    MatmulObserver observer;
    if (inputs != nullptr) {
        named.emplace(im.model->w, inputs);
        observer = MatmulObserver{&NamedInputs::observe, &*named};
    }
    const std::span<const Stage> stages = im.stages_for(seq_->n_ctx, n_batch_, n_seqs, inputs ? &observer : nullptr);
    size_t done = 0;
    while (done < tokens.size()) {
        if (cancelled_.exchange(false)) return error(Code::Cancelled, "cancelled");
        const int32_t n = static_cast<int32_t>(std::min<size_t>(tokens.size() - done, size_t(n_batch_)));
        const SeqSpan one{seq_.get(), n, n_past_};
        if (fn != nullptr && first < done + size_t(n)) {
            const auto row0 = static_cast<int32_t>(first > done ? first - done : 0);
            forward_rows(*im.model, stages, im.handover.data(), *seq_, tokens.data() + done, n, n_past_, row0,
                         [&](int32_t i, std::span<const float> row) { (*fn)(done + size_t(i), row); });
        } else {
            forward_batch(*im.model, stages, im.handover.data(), tokens.data() + done,
                          std::span<const SeqSpan>(&one, 1), embed ? PassOutput::Embedding : PassOutput::Logits);
        }
        n_past_ += n;
        done += size_t(n);
    }
    return Status::ok();
}

Status Session::embed(std::span<const int32_t> tokens) {
    const Runtime::Impl& im = *runtime_->impl_;
    if (tokens.empty()) return error("nothing to embed: no tokens");
    if (!im.model->cfg.causal && tokens.size() > size_t(n_batch_))
        return error(Code::ContextFull, "input of " + std::to_string(tokens.size()) + " tokens is longer than " +
                                            std::to_string(n_batch_) + ", the most this encoder takes");
    reset();
    HEARTH_TRY(check_feed(tokens));
    HEARTH_TRY(run_passes(tokens, true));
    finish_embedding(im.model->cfg, *seq_, n_past_);
    return Status::ok();
}

uint64_t Runtime::scratch_bytes() const {
    uint64_t bytes = uint64_t(impl_->handover.capacity()) * sizeof(float);
    for (size_t i = 0; i < impl_->scratch.size() && i < impl_->splits.size(); ++i) {
        const PassScratch& s = *impl_->scratch[i];
        if (impl_->on_device && i + 1 == impl_->splits.size())
            bytes += allocated_bytes(s) - backend_bytes(s); // the device's host arrays
        else
            bytes += allocated_bytes(s) + impl_->splits[i].be->workspace_bytes();
    }
    return bytes;
}

uint64_t Runtime::device_scratch_bytes() const {
    const Impl& im = *impl_;
    if (!im.on_device || im.scratch.size() != im.splits.size()) return 0;
    return backend_bytes(*im.scratch.back()) + im.splits.back().be->workspace_bytes();
}

Status Runtime::feed_batch(std::span<const BatchItem> items) {
    if (!impl_->model->cfg.generative)
        return error("this model (" + impl_->info.arch + ") computes embeddings only: it cannot generate text");
    return run_batch(items, false);
}

Status Runtime::embed_batch(std::span<const BatchItem> items) {
    const ModelConfig& cfg = impl_->model->cfg;
    for (size_t i = 0; i < items.size(); ++i) {
        if (!cfg.causal && items[i].tokens.size() > size_t(kBatchTokens))
            return error(Code::ContextFull, "batch item " + std::to_string(i) + ": input of " +
                                                std::to_string(items[i].tokens.size()) + " tokens is longer than " +
                                                std::to_string(kBatchTokens) + ", the most this encoder takes");
    }
    // Reset first, so the checks see empty contexts; a failed check leaves the sessions empty.
    for (const BatchItem& it : items)
        if (it.session && it.session->runtime_ == this) it.session->reset();
    HEARTH_TRY(run_batch(items, true));
    for (const BatchItem& it : items)
        finish_embedding(cfg, *it.session->seq_, it.session->n_past_);
    return Status::ok();
}

Status Runtime::run_batch(std::span<const BatchItem> items, bool embed) {
    Impl& im = *impl_;
    const bool whole = embed && !im.model->cfg.causal; // an encoder's input is never split over passes
    int32_t n_ctx = 0;
    for (size_t i = 0; i < items.size(); ++i) {
        const BatchItem& it = items[i];
        const std::string which = "batch item " + std::to_string(i) + ": ";
        if (it.session == nullptr || it.session->runtime_ != this)
            return error(which + "the session was not created by this engine");
        if (it.tokens.empty()) return error(which + "no tokens");
        for (size_t j = 0; j < i; ++j)
            if (items[j].session == it.session) return error(which + "the session is also item " + std::to_string(j));
        if (Status st = it.session->check_feed(it.tokens); !st) return error(which + st.message());
        n_ctx = std::max(n_ctx, it.session->seq_->n_ctx);
    }
    if (items.empty()) return Status::ok();
    const auto n_seqs = static_cast<int32_t>(std::min<size_t>(items.size(), size_t(kBatchTokens)));
    const std::span<const Stage> stages = im.stages_for(n_ctx, kBatchTokens, n_seqs, nullptr);
    std::vector<size_t> done(items.size(), 0);
    std::vector<SeqSpan> seqs;
    std::vector<int32_t> tokens;
    seqs.reserve(size_t(n_seqs));
    tokens.reserve(size_t(kBatchTokens));
    // Each pass takes, item by item, as many of its remaining tokens as the pass has room for.
    for (bool more = true; more;) {
        more = false;
        seqs.clear();
        tokens.clear();
        for (size_t i = 0; i < items.size(); ++i) {
            const size_t left = items[i].tokens.size() - done[i];
            const size_t room = size_t(kBatchTokens) - tokens.size();
            if (left == 0) continue;
            if (room == 0 || seqs.size() == size_t(n_seqs) || (whole && left > room)) {
                more = true;
                break;
            }
            const size_t n = std::min(left, room);
            Session& s = *items[i].session;
            seqs.push_back(SeqSpan{s.seq_.get(), static_cast<int32_t>(n), s.n_past_});
            tokens.insert(tokens.end(), items[i].tokens.begin() + long(done[i]),
                          items[i].tokens.begin() + long(done[i] + n));
            done[i] += n;
            s.n_past_ += static_cast<int32_t>(n);
            more = more || done[i] < items[i].tokens.size();
        }
        if (!seqs.empty())
            forward_batch(*im.model, stages, im.handover.data(), tokens.data(), seqs,
                          embed ? PassOutput::Embedding : PassOutput::Logits);
    }
    return Status::ok();
}

} // namespace hearth
