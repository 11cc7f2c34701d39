#include "convert/hf_arch.h"

#include <cmath>
#include <map>
#include <numbers>
#include <set>

namespace hearth::convert {
namespace {

using json = nlohmann::json;
using gguf::KeyValue;
using gguf::Value;

enum class Kind { Llama, Qwen2, Qwen3, Gemma3, Phi3 };

struct ArchDef {
    std::string_view hf;
    std::string_view gguf;
    Kind kind;
};

constexpr ArchDef kArchs[] = {
    {"LlamaForCausalLM", "llama", Kind::Llama}, {"Qwen2ForCausalLM", "qwen2", Kind::Qwen2},
    {"Qwen3ForCausalLM", "qwen3", Kind::Qwen3}, {"Gemma3ForCausalLM", "gemma3", Kind::Gemma3},
    {"Phi3ForCausalLM", "phi3", Kind::Phi3},
};

// HF name inside model.layers.N -> GGUF name inside blk.N.
struct LayerName {
    std::string_view hf, gguf;
};

std::vector<LayerName> layer_names(Kind k) {
    std::vector<LayerName> v = {{"input_layernorm.weight", "attn_norm.weight"},
                                {"self_attn.o_proj.weight", "attn_output.weight"},
                                {"mlp.down_proj.weight", "ffn_down.weight"}};
    if (k == Kind::Phi3) {
        v.insert(v.end(), {{"self_attn.qkv_proj.weight", "attn_qkv.weight"},
                           {"post_attention_layernorm.weight", "ffn_norm.weight"},
                           {"mlp.gate_up_proj.weight", "ffn_up.weight"}});
        return v;
    }
    v.insert(v.end(), {{"self_attn.q_proj.weight", "attn_q.weight"},
                       {"self_attn.k_proj.weight", "attn_k.weight"},
                       {"self_attn.v_proj.weight", "attn_v.weight"},
                       {"mlp.gate_proj.weight", "ffn_gate.weight"},
                       {"mlp.up_proj.weight", "ffn_up.weight"}});
    if (k == Kind::Qwen2)
        v.insert(v.end(), {{"self_attn.q_proj.bias", "attn_q.bias"},
                           {"self_attn.k_proj.bias", "attn_k.bias"},
                           {"self_attn.v_proj.bias", "attn_v.bias"}});
    if (k == Kind::Qwen3 || k == Kind::Gemma3)
        v.insert(v.end(), {{"self_attn.q_norm.weight", "attn_q_norm.weight"},
                           {"self_attn.k_norm.weight", "attn_k_norm.weight"}});
    if (k == Kind::Gemma3) {
        v.insert(v.end(), {{"post_attention_layernorm.weight", "post_attention_norm.weight"},
                           {"pre_feedforward_layernorm.weight", "ffn_norm.weight"},
                           {"post_feedforward_layernorm.weight", "post_ffw_norm.weight"}});
    } else {
        v.push_back({"post_attention_layernorm.weight", "ffn_norm.weight"});
    }
    return v;
}

// Typed config reads; a required field that is absent or not a positive integer is an error naming it.
struct Cfg {
    const json& j;
    Result<int64_t> need(const char* key) const {
        const int64_t v = json_int(j, key, -1);
        if (v <= 0 || v > (int64_t(1) << 31))
            return error(Code::BadField,
                         std::string("config.json: '") + key + "' is missing or not a positive integer");
        return v;
    }
    bool has(const char* key) const { return j.contains(key) && !j[key].is_null(); }
};

void put(std::vector<KeyValue>& kv, std::string key, Value v) {
    for (KeyValue& e : kv)
        if (e.key == key) {
            e.value = std::move(v);
            return;
        }
    kv.push_back({std::move(key), std::move(v)});
}

// config's rope_parameters / rope_scaling (the "full_attention" entry when per layer type), with rope_theta and
// the scaling type mirrored in as llama.cpp's TextModel does.
json rope_params(const json& cfg) {
    json rp = cfg.contains("rope_parameters") && cfg["rope_parameters"].is_object() ? cfg["rope_parameters"]
              : cfg.contains("rope_scaling") && cfg["rope_scaling"].is_object()     ? cfg["rope_scaling"]
                                                                                    : json::object();
    if (rp.contains("full_attention") && rp["full_attention"].is_object()) return rp["full_attention"];
    if (!rp.contains("rope_theta") && cfg.contains("rope_theta")) rp["rope_theta"] = cfg["rope_theta"];
    if (!rp.contains("rope_type") && rp.contains("type")) rp["rope_type"] = rp["type"];
    return rp;
}

double local_rope_theta(const json& cfg) {
    if (cfg.contains("rope_parameters") && cfg["rope_parameters"].is_object()) {
        const json& rp = cfg["rope_parameters"];
        if (rp.contains("sliding_attention")) return json_num(rp["sliding_attention"], "rope_theta", 0);
    }
    for (const char* k :
         {"local_rope_theta", "rope_local_theta", "rope_theta_local", "swa_rope_theta", "rope_local_base_freq"})
        if (double v = json_num(cfg, k, 0); v > 0) return v;
    return 0;
}

// TextModel.set_gguf_parameters: the keys every architecture shares.
Status common_params(const Cfg& c, const std::string& p, std::vector<KeyValue>& kv) {
    auto n_layer = c.need("num_hidden_layers");
    if (!n_layer) return n_layer.status();
    put(kv, p + "block_count", Value::make_u32(uint32_t(*n_layer)));
    if (int64_t v = json_int(c.j, "max_position_embeddings", 0); v > 0)
        put(kv, p + "context_length", Value::make_u32(uint32_t(v)));
    for (auto [key, name] :
         {std::pair{"hidden_size", "embedding_length"}, std::pair{"intermediate_size", "feed_forward_length"},
          std::pair{"num_attention_heads", "attention.head_count"}}) {
        auto v = c.need(key);
        if (!v) return v.status();
        put(kv, p + name, Value::make_u32(uint32_t(*v)));
    }
    if (int64_t v = json_int(c.j, "num_key_value_heads", 0); v > 0)
        put(kv, p + "attention.head_count_kv", Value::make_u32(uint32_t(v)));
    const json rp = rope_params(c.j);
    const std::string rope_type = json_str(rp, "rope_type");
    if (rope_type == "linear" && rp.contains("factor")) {
        put(kv, p + "rope.scaling.type", Value::make_string("linear"));
        put(kv, p + "rope.scaling.factor", Value::make_f32(float(json_num(rp, "factor", 1))));
    } else if (!rope_type.empty() && rope_type != "default" && rope_type != "llama3") {
        return error(Code::BadField,
                     "config.json: rope scaling '" + rope_type + "' is not supported by hearth convert");
    }
    if (rp.contains("rope_theta")) put(kv, p + "rope.freq_base", Value::make_f32(float(json_num(rp, "rope_theta", 0))));
    if (double swa = local_rope_theta(c.j); swa > 0) put(kv, p + "rope.freq_base_swa", Value::make_f32(float(swa)));
    if (c.has("rms_norm_eps"))
        put(kv, p + "attention.layer_norm_rms_epsilon", Value::make_f32(float(json_num(c.j, "rms_norm_eps", 0))));
    if (int64_t hd = json_int(c.j, "head_dim", 0); hd > 0) {
        put(kv, p + "attention.key_length", Value::make_u32(uint32_t(hd)));
        put(kv, p + "attention.value_length", Value::make_u32(uint32_t(hd)));
    }
    return Status::ok();
}

Status gemma3_params(const Cfg& c, const std::string& p, std::vector<KeyValue>& kv) {
    put(kv, p + "context_length", Value::make_u32(uint32_t(json_int(c.j, "max_position_embeddings", 131072))));
    put(kv, p + "attention.head_count", Value::make_u32(uint32_t(json_int(c.j, "num_attention_heads", 8))));
    put(kv, p + "attention.layer_norm_rms_epsilon", Value::make_f32(float(json_num(c.j, "rms_norm_eps", 1e-6))));
    const int64_t hd = json_int(c.j, "head_dim", 256);
    put(kv, p + "attention.key_length", Value::make_u32(uint32_t(hd)));
    put(kv, p + "attention.value_length", Value::make_u32(uint32_t(hd)));
    put(kv, p + "rope.freq_base", Value::make_f32(float(json_num(rope_params(c.j), "rope_theta", 1e6))));
    if (c.has("attn_logit_softcapping"))
        return error(Code::BadField, "config.json: Gemma 3 has no attn_logit_softcapping");
    if (double cap = json_num(c.j, "final_logit_softcapping", 0); cap != 0)
        put(kv, p + "final_logit_softcapping", Value::make_f32(float(cap)));
    if (json_int(c.j, "sliding_window_pattern", 0) != 1) {
        auto sw = c.need("sliding_window");
        if (!sw) return sw.status();
        put(kv, p + "attention.sliding_window", Value::make_u32(uint32_t(*sw)));
    }
    put(kv, p + "attention.head_count_kv", Value::make_u32(uint32_t(json_int(c.j, "num_key_value_heads", 4))));
    return Status::ok();
}

// Phi3MiniModel.set_gguf_parameters (it does not start from the common keys).
Status phi3_params(const Cfg& c, const std::string& p, std::vector<KeyValue>& kv) {
    const json rp = rope_params(c.j);
    const char* need[] = {"hidden_size",       "num_attention_heads", "num_key_value_heads", "max_position_embeddings",
                          "intermediate_size", "num_hidden_layers"};
    std::map<std::string, int64_t> v;
    for (const char* k : need) {
        auto r = c.need(k);
        if (!r) return r.status();
        v[k] = *r;
    }
    const int64_t orig =
        json_int(rp, "original_max_position_embeddings", json_int(c.j, "original_max_position_embeddings", -1));
    if (orig <= 0) return error(Code::BadField, "config.json: 'original_max_position_embeddings' is missing");
    if (!rp.contains("rope_theta")) return error(Code::BadField, "config.json: 'rope_theta' is missing");
    const double rot = json_num(rp, "partial_rotary_factor", json_num(c.j, "partial_rotary_factor", 1.0));
    put(kv, p + "context_length", Value::make_u32(uint32_t(v["max_position_embeddings"])));
    put(kv, p + "rope.scaling.original_context_length", Value::make_u32(uint32_t(orig)));
    put(kv, p + "embedding_length", Value::make_u32(uint32_t(v["hidden_size"])));
    put(kv, p + "feed_forward_length", Value::make_u32(uint32_t(v["intermediate_size"])));
    put(kv, p + "block_count", Value::make_u32(uint32_t(v["num_hidden_layers"])));
    put(kv, p + "attention.head_count", Value::make_u32(uint32_t(v["num_attention_heads"])));
    put(kv, p + "attention.head_count_kv", Value::make_u32(uint32_t(v["num_key_value_heads"])));
    put(kv, p + "attention.layer_norm_rms_epsilon", Value::make_f32(float(json_num(c.j, "rms_norm_eps", 1e-5))));
    put(kv, p + "rope.dimension_count",
        Value::make_u32(uint32_t(int64_t(rot * double(v["hidden_size"])) / v["num_attention_heads"])));
    put(kv, p + "rope.freq_base", Value::make_f32(float(json_num(rp, "rope_theta", 10000))));
    put(kv, p + "attention.sliding_window", Value::make_u32(uint32_t(json_int(c.j, "sliding_window", 0))));
    return Status::ok();
}

// The heads of a model, for the permutation and llama's keys.
struct Heads {
    int64_t n_head = 0, n_head_kv = 0, head_dim = 0, n_layer = 0;
};

// Phi3MiniModel.generate_extra_tensors: LongRoPE's per-frequency factors (long and short) as tensors, and the
// attention factor sqrt(1 + ln(scale) / ln(original context)) for contexts scaled past the original.
Status phi3_longrope(const Cfg& c, const Heads& h, ArchPlan& plan) {
    const json rp = rope_params(c.j);
    if (!rp.contains("long_factor")) return Status::ok();
    const std::string type = json_str(rp, "rope_type");
    if (type != "longrope" && type != "su")
        return error(Code::BadField,
                     "config.json: Phi-3 rope scaling '" + type + "' is not supported by hearth convert");
    const double n_ctx = double(json_int(c.j, "max_position_embeddings", 0));
    const double orig =
        double(json_int(rp, "original_max_position_embeddings", json_int(c.j, "original_max_position_embeddings", 0)));
    const double scale = n_ctx / orig;
    const double attn = scale > 1.0 ? std::sqrt(1 + std::log(scale) / std::log(orig)) : 1.0;
    put(plan.kv, plan.arch + ".rope.scaling.attn_factor", Value::make_f32(float(attn)));
    const double rot = json_num(rp, "partial_rotary_factor", json_num(c.j, "partial_rotary_factor", 1.0));
    const size_t n_rot = size_t(int64_t(rot * double(json_int(c.j, "hidden_size", 0))) / h.n_head);
    for (auto [key, name] : {std::pair{"long_factor", "rope_factors_long.weight"},
                             std::pair{"short_factor", "rope_factors_short.weight"}}) {
        const json& f = rp.contains(key) ? rp[key] : json();
        TensorSpec t;
        t.name = name;
        for (const json& v : f.is_array() ? f : json::array())
            if (v.is_number()) t.values.push_back(float(v.get<double>()));
        if (t.values.size() != n_rot / 2 || t.values.size() != f.size())
            return error(Code::BadField, std::string("config.json: rope_scaling ") + key + " needs " +
                                             std::to_string(n_rot / 2) + " numbers");
        t.ne = {t.values.size()};
        plan.tensors.push_back(std::move(t));
    }
    return Status::ok();
}

// LlamaModel.generate_extra_tensors: Llama 3's frequency-dependent RoPE scaling as divisors of the frequencies.
std::vector<float> llama3_rope_factors(const json& rp, double base, int64_t dim) {
    const double factor = json_num(rp, "factor", 8.0), lo = json_num(rp, "low_freq_factor", 1.0),
                 hi = json_num(rp, "high_freq_factor", 4.0);
    const double old_ctx = json_num(rp, "original_max_position_embeddings", 8192);
    const double lo_wavelen = old_ctx / lo, hi_wavelen = old_ctx / hi;
    std::vector<float> out;
    for (int64_t i = 0; i < dim; i += 2) {
        const float freq = 1.0f / std::pow(float(base), float(i) / float(dim));
        const double wavelen = 2 * std::numbers::pi / double(freq);
        if (wavelen < hi_wavelen) {
            out.push_back(1.0f);
        } else if (wavelen > lo_wavelen) {
            out.push_back(float(factor));
        } else {
            const double smooth = (old_ctx / wavelen - lo) / (hi - lo);
            out.push_back(float(1 / ((1 - smooth) / factor + smooth)));
        }
    }
    return out;
}

std::vector<uint64_t> reversed(const std::vector<uint64_t>& shape) {
    return {shape.rbegin(), shape.rend()};
}

Result<Heads> read_heads(const Cfg& c) {
    auto n_head = c.need("num_attention_heads");
    auto n_layer = c.need("num_hidden_layers");
    auto n_embd = c.need("hidden_size");
    if (!n_head || !n_layer || !n_embd)
        return !n_head ? n_head.status() : !n_layer ? n_layer.status() : n_embd.status();
    Heads h{*n_head, json_int(c.j, "num_key_value_heads", *n_head), json_int(c.j, "head_dim", *n_embd / *n_head),
            *n_layer};
    if (h.n_head_kv <= 0 || h.n_head_kv > h.n_head || h.head_dim <= 0 || h.head_dim > 4096)
        return error(Code::BadField, "config.json: num_key_value_heads / head_dim out of range");
    return h;
}

// The "<arch>.*" keys, and the tensors they imply (Llama 3's rope_freqs).
Status plan_params(Kind kind, const Cfg& c, const Heads& h, int64_t n_tokens, ArchPlan& plan) {
    const std::string p = plan.arch + ".";
    HEARTH_TRY(kind == Kind::Phi3 ? phi3_params(c, p, plan.kv) : common_params(c, p, plan.kv));
    if (kind == Kind::Gemma3) HEARTH_TRY(gemma3_params(c, p, plan.kv));
    if (kind == Kind::Phi3) HEARTH_TRY(phi3_longrope(c, h, plan));
    if (kind != Kind::Llama) return Status::ok();
    put(plan.kv, p + "vocab_size", Value::make_u32(uint32_t(json_int(c.j, "vocab_size", n_tokens))));
    put(plan.kv, p + "rope.dimension_count", Value::make_u32(uint32_t(h.head_dim)));
    const json rp = rope_params(c.j);
    if (json_str(rp, "rope_type") == "llama3") {
        TensorSpec t;
        t.name = "rope_freqs.weight";
        t.values = llama3_rope_factors(rp, json_num(rp, "rope_theta", 10000.0), h.head_dim);
        t.ne = {t.values.size()};
        plan.tensors.push_back(std::move(t));
    }
    return Status::ok();
}

// One source tensor as a GGUF tensor: its shape reversed, its transformation.
Result<TensorSpec> plan_tensor(Kind kind, const Heads& h, const StTensor& src, std::string name, int64_t n_tokens) {
    if (src.shape.empty() || src.shape.size() > 4)
        return error("tensor " + src.name + " has " + std::to_string(src.shape.size()) + " dimensions");
    TensorSpec t;
    t.name = std::move(name);
    t.src = src.name;
    t.ne = reversed(src.shape);
    if (kind == Kind::Gemma3 && src.name.ends_with("norm.weight")) t.transform = Transform::AddOne;
    if (kind == Kind::Llama && (src.name.ends_with("q_proj.weight") || src.name.ends_with("k_proj.weight"))) {
        t.transform = Transform::PermuteRope;
        t.permute_heads = int32_t(src.name.ends_with("q_proj.weight") ? h.n_head : h.n_head_kv);
        if (src.shape[0] % uint64_t(2 * t.permute_heads) != 0)
            return error("tensor " + src.name + ": " + std::to_string(src.shape[0]) +
                         " rows are not a whole number of RoPE heads");
    }
    if (kind == Kind::Gemma3 && t.name == "token_embd.weight" && t.ne.size() == 2 && n_tokens > 0 &&
        uint64_t(n_tokens) < t.ne[1])
        t.ne[1] = uint64_t(n_tokens); // rows past the tokenizer's tokens are dropped
    return t;
}

} // namespace

std::string supported_architectures() {
    std::string s;
    for (const ArchDef& a : kArchs)
        s += (s.empty() ? "" : ", ") + std::string(a.hf);
    return s;
}

Result<ArchPlan> plan_arch(const HfDir& d, const SafetensorsSet& st, int64_t n_tokens) {
    const json& cfg = d.config;
    const json* archs = cfg.contains("architectures") ? &cfg["architectures"] : nullptr;
    if (!archs || !archs->is_array() || archs->empty() || !(*archs)[0].is_string())
        return error(Code::BadField, "config.json: no \"architectures\" entry");
    const std::string hf_arch = (*archs)[0].get<std::string>();
    const ArchDef* def = nullptr;
    for (const ArchDef& a : kArchs)
        if (a.hf == hf_arch) def = &a;
    if (!def)
        return error(Code::BadField, "unsupported architecture '" + hf_arch +
                                         "' (hearth convert reads: " + supported_architectures() + ")");
    const Cfg c{cfg};
    auto heads = read_heads(c);
    if (!heads) return heads.status();
    ArchPlan plan;
    plan.arch = std::string(def->gguf);
    HEARTH_TRY(plan_params(def->kind, c, *heads, n_tokens, plan));

    // Every source tensor is used exactly once; a missing one or one left over is refused by name.
    std::set<std::string> unused;
    for (const auto& e : st.tensors())
        if (!e.info.name.ends_with(".rotary_emb.inv_freq")) unused.insert(e.info.name);
    auto add = [&](const std::string& src, std::string name, bool required) -> Status {
        const SafetensorsSet::Entry* e = st.find(src);
        if (!e) return required ? error(Code::NotFound, "missing tensor " + src + " (for " + name + ")") : Status::ok();
        unused.erase(src);
        auto t = plan_tensor(def->kind, *heads, e->info, std::move(name), n_tokens);
        if (!t) return t.status();
        plan.tensors.push_back(std::move(t.value()));
        return Status::ok();
    };
    HEARTH_TRY(add("model.embed_tokens.weight", "token_embd.weight", true));
    const std::vector<LayerName> names = layer_names(def->kind);
    for (int64_t il = 0; il < heads->n_layer; ++il)
        for (const LayerName& n : names)
            HEARTH_TRY(add("model.layers." + std::to_string(il) + "." + std::string(n.hf),
                           "blk." + std::to_string(il) + "." + std::string(n.gguf), true));
    HEARTH_TRY(add("model.norm.weight", "output_norm.weight", true));
    const bool tied = json_bool(cfg, "tie_word_embeddings", def->kind == Kind::Gemma3);
    HEARTH_TRY(add("lm_head.weight", "output.weight", !tied));
    if (!unused.empty())
        return error("unexpected tensor " + *unused.begin() + " (not part of " + hf_arch + " as hearth converts it)");
    return plan;
}

} // namespace hearth::convert
