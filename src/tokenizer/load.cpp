// tokenizer/load.cpp: Tokenizer from `tokenizer.ggml.*` metadata, with llama.cpp's per-model defaults.
#include "tokenizer/tokenizer.h"
#include "tokenizer/unicode.h"

#include <algorithm>
#include <initializer_list>

namespace hearth {
namespace {

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> names) {
    return std::find(names.begin(), names.end(), s) != names.end();
}

// Defaults that depend on the model and pre-tokenizer, before the GGUF flags override them.
Status apply_model_defaults(Tokenizer& t) {
    if (t.model == "llama") {
        t.type = VocabType::Spm;
        t.bos = 1, t.eos = 2, t.unk = 0;
        t.add_space_prefix = true, t.add_bos = true;
    } else if (t.model == "bert") {
        t.type = VocabType::Wpm;
        t.bos = 101, t.unk = 100, t.sep = 102, t.pad = 0, t.mask = 103;
        t.add_bos = true, t.add_sep = true, t.clean_spaces = true;
    } else if (t.model == "gpt2") {
        t.type = VocabType::Bpe;
        t.bos = 11, t.eos = 11; // llama.cpp's defaults when the file names none
        t.clean_spaces = true;
        if (is_one_of(t.pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                              "tekken"})) {
            t.ignore_merges = true, t.add_bos = true;
        }
        if (is_one_of(t.pre, {"deepseek-llm",     "deepseek-coder", "deepseek-v3", "command-r",  "qwen2",
                              "deepseek-r1-qwen", "poro-chat",      "viking",      "tekken",     "smollm",
                              "chameleon",        "gpt-4o",         "llama4",      "bailingmoe", "llada-moe",
                              "seed-coder",       "hunyuan",        "grok-2",      "trillion",   "granite-docling"})) {
            t.clean_spaces = false;
        }
        if (t.pre == "chameleon") t.add_bos = true;
        if (t.pre == "chatglm-bpe" || t.pre == "glm4") t.bos = kNoToken;
        if (is_one_of(t.pre, {"jina-v1-en", "jina-v2-code", "roberta-bpe"})) t.add_sep = true;
    } else {
        return Status::error("tokenizer: unsupported tokenizer.ggml.model '" + t.model +
                             "' (supported: llama, gpt2, bert)");
    }
    return Status::ok();
}

Status read_vocab(const gguf::File& f, Tokenizer& t) {
    auto tokens = f.get_string_array("tokenizer.ggml.tokens");
    if (!tokens) return tokens.status();
    if (tokens->empty()) return Status::error("tokenizer: tokenizer.ggml.tokens is empty");
    if (tokens->size() > size_t(INT32_MAX)) return Status::error("tokenizer: tokenizer.ggml.tokens is too large");
    const size_t n = tokens->size();
    t.pieces = std::move(tokens.value());

    t.scores.assign(n, 0.0f);
    if (f.find("tokenizer.ggml.scores")) {
        auto scores = f.get_f32_array("tokenizer.ggml.scores");
        if (!scores) return scores.status();
        if (scores->size() < n) return Status::error("tokenizer: tokenizer.ggml.scores has fewer entries than tokens");
        std::copy(scores->begin(), scores->begin() + n, t.scores.begin());
    }
    t.types.assign(n, TokenType::Normal);
    if (f.find("tokenizer.ggml.token_type")) {
        auto types = f.get_int_array("tokenizer.ggml.token_type");
        if (!types) return types.status();
        if (types->size() < n) {
            return Status::error("tokenizer: tokenizer.ggml.token_type has fewer entries than tokens");
        }
        for (size_t i = 0; i < n; ++i) {
            const int64_t v = (*types)[i];
            t.types[i] = (v >= 0 && v <= 6) ? TokenType(v) : TokenType::Undefined;
        }
    }
    t.piece_to_id.reserve(n);
    for (size_t i = 0; i < n; ++i) {
        if (t.pieces[i].empty()) t.pieces[i] = "[EMPTY_" + std::to_string(i) + "]"; // as llama.cpp
        if (!t.piece_to_id.emplace(t.pieces[i], int32_t(i)).second) {
            return Status::error("tokenizer: duplicate token '" + t.pieces[i] + "' in tokenizer.ggml.tokens (ids " +
                                 std::to_string(t.piece_to_id.find(t.pieces[i])->second) + " and " + std::to_string(i) +
                                 ")");
        }
        t.max_piece_len = std::max(t.max_piece_len, t.pieces[i].size());
    }
    return Status::ok();
}

Status read_merges(const gguf::File& f, Tokenizer& t) {
    auto merges = f.get_string_array("tokenizer.ggml.merges");
    if (!merges) return Status::error("tokenizer: byte-level BPE needs tokenizer.ggml.merges: " + merges.message());
    t.merges.reserve(merges->size());
    for (size_t i = 0; i < merges->size(); ++i) {
        const std::string& m = (*merges)[i];
        const size_t space = m.find(' ', 1);
        if (space == std::string::npos) continue; // malformed entry: unusable, as in llama.cpp
        auto left = t.piece_to_id.find(std::string_view(m).substr(0, space));
        auto right = t.piece_to_id.find(std::string_view(m).substr(space + 1));
        if (left == t.piece_to_id.end() || right == t.piece_to_id.end()) continue; // can never apply
        auto merged = t.piece_to_id.find(m.substr(0, space) + m.substr(space + 1));
        const uint64_t key = (uint64_t(uint32_t(left->second)) << 32) | uint32_t(right->second);
        t.merges.emplace(key, tok::MergeInfo{int32_t(i), merged == t.piece_to_id.end() ? kNoToken : merged->second});
    }
    return Status::ok();
}

void read_special_ids(const gguf::File& f, Tokenizer& t) {
    const std::pair<const char*, int32_t*> keys[] = {
        {"tokenizer.ggml.bos_token_id", &t.bos},     {"tokenizer.ggml.eos_token_id", &t.eos},
        {"tokenizer.ggml.eot_token_id", &t.eot},     {"tokenizer.ggml.eom_token_id", &t.eom},
        {"tokenizer.ggml.unknown_token_id", &t.unk}, {"tokenizer.ggml.seperator_token_id", &t.sep},
        {"tokenizer.ggml.padding_token_id", &t.pad}, {"tokenizer.ggml.mask_token_id", &t.mask},
    };
    for (auto [key, id] : keys) {
        if (*id >= t.n_vocab()) *id = kNoToken; // a default that does not fit this vocabulary
        if (!f.find(key)) continue;
        auto v = f.get_u64(key);
        if (v && *v < uint64_t(t.n_vocab())) *id = int32_t(*v); // an out-of-range id keeps the default
    }
    auto flag = [&](const char* key, bool& out) {
        if (!f.find(key)) return;
        if (auto v = f.get_bool(key)) out = *v;
    };
    flag("tokenizer.ggml.add_bos_token", t.add_bos);
    flag("tokenizer.ggml.add_eos_token", t.add_eos);
    flag("tokenizer.ggml.add_sep_token", t.add_sep);
    flag("tokenizer.ggml.add_space_prefix", t.add_space_prefix);
}

// Special tokens recognised by their text, as llama.cpp's llama_vocab::impl::load does it (llama-vocab.cpp):
// EOT, EOM and the FIM tokens when the file names none, then the end-of-generation set. A token found this
// way that is not a control token becomes one (so its text is no longer matched without parse_special,
// e.g. Gemma 3's "</s>", a UserDefined token that llama.cpp treats as an EOG control token).
void find_eog(const gguf::File& f, Tokenizer& t) {
    static constexpr std::string_view kEot[] = {"<|eot_id|>",    "<|im_end|>",        "<|end|>", "<end_of_turn>",
                                                "<|endoftext|>", "<|end_of_text|>",   "<EOT>",   "_<EOT>",
                                                "[EOT]",         "<end_of_utterance>"};
    static constexpr std::string_view kFimPre[] = {"<|fim_prefix|>", "<fim-prefix>",    "<fim_prefix>",
                                                   "<PRE>",          "<|code_prefix|>", "<|prefix|>"};
    static constexpr std::string_view kFimSuf[] = {"<|fim_suffix|>", "<fim-suffix>",    "<fim_suffix>",
                                                   "<SUF>",          "<|code_suffix|>", "<|suffix|>"};
    static constexpr std::string_view kFimMid[] = {"<|fim_middle|>", "<fim-middle>",    "<fim_middle>",
                                                   "<MID>",          "<|code_middle|>", "<|middle|>"};
    static constexpr std::string_view kFimPad[] = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
    static constexpr std::string_view kFimRep[] = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
                                                   "<reponame>"};
    static constexpr std::string_view kFimSep[] = {"<|file_sep|>"};
    static constexpr std::string_view kEog[] = {"<|eot_id|>",
                                                "<|im_end|>",
                                                "<|end|>",
                                                "<|return|>",
                                                "<|call|>",
                                                "<|flush|>",
                                                "<|calls|>",
                                                "<end_of_turn>",
                                                "<|endoftext|>",
                                                "</s>",
                                                "<|eom_id|>",
                                                "<EOT>",
                                                "_<EOT>",
                                                "[EOT]",
                                                "[EOS]",
                                                "<|end_of_text|>",
                                                "<end_of_utterance>",
                                                "<eos>",
                                                "<turn|>",
                                                "<|tool_response>"};
    auto lookup = [&](std::string_view text) {
        auto it = t.piece_to_id.find(text);
        return it == t.piece_to_id.end() ? kNoToken : it->second;
    };
    auto mark_control = [&](int32_t id) {
        if (id != kNoToken) t.types[id] = TokenType::Control;
    };
    // An id from the file (if in range), else the first token whose text is on the list, made a control token.
    auto by_key_or_text = [&](std::initializer_list<const char*> keys, std::span<const std::string_view> texts,
                              int32_t id) {
        for (const char* key : keys) {
            if (!f.find(key)) continue;
            if (auto v = f.get_u64(key); v && *v < uint64_t(t.n_vocab())) id = int32_t(*v);
        }
        if (id != kNoToken) return id;
        for (auto s : texts) {
            if (int32_t found = lookup(s); found != kNoToken) {
                mark_control(found);
                return found;
            }
        }
        return kNoToken;
    };
    t.eot = by_key_or_text({}, kEot, t.eot);
    static constexpr std::string_view kEom[] = {"<|eom_id|>"};
    t.eom = by_key_or_text({}, kEom, t.eom);
    t.fim_pre =
        by_key_or_text({"tokenizer.ggml.prefix_token_id", "tokenizer.ggml.fim_pre_token_id"}, kFimPre, kNoToken);
    t.fim_suf =
        by_key_or_text({"tokenizer.ggml.suffix_token_id", "tokenizer.ggml.fim_suf_token_id"}, kFimSuf, kNoToken);
    t.fim_mid =
        by_key_or_text({"tokenizer.ggml.middle_token_id", "tokenizer.ggml.fim_mid_token_id"}, kFimMid, kNoToken);
    const int32_t fim_pad = by_key_or_text({"tokenizer.ggml.fim_pad_token_id"}, kFimPad, kNoToken);
    t.fim_rep = by_key_or_text({"tokenizer.ggml.fim_rep_token_id"}, kFimRep, kNoToken);
    t.fim_sep = by_key_or_text({"tokenizer.ggml.fim_sep_token_id"}, kFimSep, kNoToken);

    t.eog.clear();
    for (int32_t id : {fim_pad, t.fim_rep, t.fim_sep}) {
        if (id != kNoToken) t.eog.push_back(id);
    }
    for (auto s : kEog) {
        if (int32_t id = lookup(s); id != kNoToken) {
            t.eog.push_back(id);
            mark_control(id);
        }
    }
    // gpt-oss: these are always rendered.
    for (std::string_view s : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
        if (int32_t id = lookup(s); id != kNoToken) t.types[id] = TokenType::UserDefined;
    }
    for (int32_t id : {t.eos, t.eot, t.eom}) {
        if (id != kNoToken) t.eog.push_back(id);
    }
    std::sort(t.eog.begin(), t.eog.end());
    t.eog.erase(std::unique(t.eog.begin(), t.eog.end()), t.eog.end());
    auto eog_has = [&](std::string_view text) {
        const int32_t id = lookup(text);
        return id != kNoToken && std::binary_search(t.eog.begin(), t.eog.end(), id);
    };
    // gpt-oss (<|return|> + <|call|>) and solar-open (<|calls|> + <|flush|>): <|end|> ends a message, not the
    // generation.
    const bool has_call = eog_has("<|call|>") || eog_has("<|calls|>");
    if (eog_has("<|end|>") && has_call && (eog_has("<|return|>") || eog_has("<|flush|>"))) {
        const int32_t end = lookup("<|end|>");
        std::erase(t.eog, end);
        t.types[end] = TokenType::UserDefined;
    }
    // Gemma 4 (has <|tool_response>): "</s>" is ordinary text there.
    if (eog_has("<|tool_response>") && eog_has("</s>")) {
        const int32_t s = lookup("</s>");
        std::erase(t.eog, s);
        t.types[s] = TokenType::Normal;
    }
}

void build_special_trie(Tokenizer& t) {
    auto& nodes = t.specials.nodes;
    nodes.assign(1, {});
    for (int32_t id = 0; id < t.n_vocab(); ++id) {
        const TokenType ty = t.types[id];
        if (ty != TokenType::Control && ty != TokenType::UserDefined && ty != TokenType::Unknown) continue;
        int32_t node = 0;
        for (char c : t.pieces[id]) {
            const auto b = uint8_t(c);
            auto& next = nodes[node].next;
            auto it = std::lower_bound(next.begin(), next.end(), std::pair<uint8_t, int32_t>(b, INT32_MIN));
            if (it != next.end() && it->first == b) {
                node = it->second;
            } else {
                const auto child = int32_t(nodes.size());
                next.insert(it, {b, child});
                nodes.emplace_back();
                node = child;
            }
        }
        if (nodes[node].token == kNoToken) nodes[node].token = id;
    }
}

void build_byte_tables(Tokenizer& t) {
    t.byte_tokens.fill(kNoToken);
    for (int b = 0; b < 256; ++b) {
        if (t.type == VocabType::Bpe) {
            t.byte_chars[b].clear();
            tok::utf8_append(t.byte_chars[b], tok::byte_to_unicode(uint8_t(b)));
            if (auto it = t.piece_to_id.find(t.byte_chars[b]); it != t.piece_to_id.end()) t.byte_tokens[b] = it->second;
        } else if (t.type == VocabType::Spm) {
            static constexpr char kHex[] = "0123456789ABCDEF";
            const char name[] = {'<', '0', 'x', kHex[b >> 4], kHex[b & 15], '>'};
            auto it = t.piece_to_id.find(std::string_view(name, sizeof(name)));
            if (it == t.piece_to_id.end()) it = t.piece_to_id.find(std::string(1, char(b)));
            if (it != t.piece_to_id.end()) t.byte_tokens[b] = it->second;
        }
    }
    if (t.type == VocabType::Spm) t.nl = t.byte_tokens['\n'];
    if (t.type == VocabType::Bpe) t.nl = t.byte_tokens['\n'];
    if (t.type == VocabType::Wpm) t.nl = t.pad;
}

} // namespace

Result<Tokenizer> load_tokenizer(const gguf::File& f) {
    Tokenizer t;
    auto model = f.get_string("tokenizer.ggml.model");
    if (!model) return model.status();
    t.model = std::move(model.value());
    if (f.find("tokenizer.ggml.pre")) {
        auto pre = f.get_string("tokenizer.ggml.pre");
        if (!pre) return pre.status();
        t.pre = std::move(pre.value());
    }
    HEARTH_TRY(apply_model_defaults(t));
    HEARTH_TRY(read_vocab(f, t));
    if (t.type == VocabType::Bpe) {
        HEARTH_TRY(read_merges(f, t));
        auto patterns = tok::PreTokenizer::patterns_for(t.pre);
        if (!patterns) return patterns.status();
        auto pt = tok::PreTokenizer::compile(*patterns);
        if (!pt) return pt.status();
        t.pre_tokenizer = std::move(pt.value());
    }
    read_special_ids(f, t);
    if (t.add_bos && t.bos == kNoToken) {
        return Status::error("tokenizer: tokenizer.ggml.add_bos_token is true but there is no BOS token id");
    }
    if (t.add_eos && t.eos == kNoToken) {
        return Status::error("tokenizer: tokenizer.ggml.add_eos_token is true but there is no EOS token id");
    }
    if (t.add_sep && t.sep == kNoToken) {
        return Status::error("tokenizer: tokenizer.ggml.add_sep_token is true but there is no separator token id");
    }
    find_eog(f, t);
    build_special_trie(t);
    build_byte_tables(t);
    return t;
}

bool is_eog(const Tokenizer& t, int32_t id) {
    return id != kNoToken && std::binary_search(t.eog.begin(), t.eog.end(), id);
}

bool is_control(const Tokenizer& t, int32_t id) {
    return id >= 0 && id < t.n_vocab() && t.types[id] == TokenType::Control;
}

} // namespace hearth
