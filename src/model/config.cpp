#include "model/config.h"

#include "model/archs/archs.h"
#include "model/config_keys.h"

#include <cmath>

namespace hearth {

Result<ModelConfig> read_model_config(const gguf::File& f) {
    ModelConfig c;
    auto arch = f.get_string("general.architecture");
    if (!arch) return arch.status();
    c.arch = find_arch(*arch);
    if (!c.arch) return error("model: unsupported architecture '" + *arch + "' (supported: " + arch_names() + ")");

    KeyReader r{f, *arch + "."};
    HEARTH_TRY(r.u32("embedding_length", &c.n_embd, true));
    HEARTH_TRY(r.u32("block_count", &c.n_layer, true));
    HEARTH_TRY(r.u32("feed_forward_length", &c.n_ff, true));
    HEARTH_TRY(r.u32("attention.head_count", &c.n_head, true));
    c.n_head_kv = c.n_head;
    HEARTH_TRY(r.u32("attention.head_count_kv", &c.n_head_kv, false));
    HEARTH_TRY(r.u32("context_length", &c.n_ctx_train, true));
    if (c.n_embd % c.n_head != 0 && !f.find(r.prefix + "attention.key_length"))
        return error("model: embedding_length is not a multiple of head_count and no key_length is given");
    if (c.n_head % c.n_head_kv != 0) return error("model: head_count is not a multiple of head_count_kv");
    c.head_dim_k = c.n_embd / c.n_head;
    HEARTH_TRY(r.u32("attention.key_length", &c.head_dim_k, false));
    c.head_dim_v = c.head_dim_k;
    HEARTH_TRY(r.u32("attention.value_length", &c.head_dim_v, false));
    c.rope_dim = c.head_dim_k;
    HEARTH_TRY(r.u32("rope.dimension_count", &c.rope_dim, false));
    if (c.rope_dim > c.head_dim_k || c.rope_dim % 2 != 0 || c.rope_dim > 1024)
        return error("model: rope.dimension_count must be even and at most the head size");
    HEARTH_TRY(r.f32("attention.layer_norm_rms_epsilon", &c.rms_eps));
    HEARTH_TRY(r.f32("rope.freq_base", &c.rope_base));
    if (f.find(r.prefix + "rope.scaling.type")) {
        auto type = f.get_string(r.prefix + "rope.scaling.type");
        if (!type) return type.status();
        if (*type == "linear") {
            HEARTH_TRY(r.f32("rope.scaling.factor", &c.rope_scale));
            if (!(c.rope_scale > 0)) return error("model: rope.scaling.factor must be positive");
        } else if (*type != "none" && *type != "llama3") {
            return error("model: unsupported rope.scaling.type '" + *type + "'");
        }
    }

    auto vocab = f.get_array_size("tokenizer.ggml.tokens");
    if (vocab) c.n_vocab = static_cast<int32_t>(std::min<uint64_t>(*vocab, 1u << 30));
    HEARTH_TRY(r.u32("vocab_size", &c.n_vocab, false));
    if (c.n_vocab <= 0) return error("model: vocabulary size unknown (no tokenizer.ggml.tokens or vocab_size)");

    c.swa_layer.assign(static_cast<size_t>(c.n_layer), false);
    if (f.find_tensor("rope_freqs.weight")) c.rope_freqs_tensor = "rope_freqs.weight";
    HEARTH_TRY(c.arch->configure(f, r, c));
    // After configure, which sets the architecture's default pooling.
    int32_t pooling = 0;
    HEARTH_TRY(r.u32("pooling_type", &pooling, false, 0));
    if (pooling > 3)
        return error("model: key '" + r.prefix + "pooling_type' = " + std::to_string(pooling) +
                     " is not a pooling hearth knows (0 none, 1 mean, 2 cls, 3 last)");
    if (pooling != 0) {
        c.pooling = static_cast<Pooling>(pooling);
        c.pooling_declared = true;
    }
    return c;
}

} // namespace hearth
