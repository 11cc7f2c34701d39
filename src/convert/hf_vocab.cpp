#include "convert/hf_vocab.h"

#include <algorithm>
#include <map>
#include <set>
#include <utility>

namespace hearth::convert {
namespace {

using json = nlohmann::json;
using gguf::KeyValue;
using gguf::Value;
using gguf::ValueType;

// gguf-py's TokenType.
enum TokenType : int32_t { kNormal = 1, kUnknown = 2, kControl = 3, kUserDefined = 4, kUnused = 5, kByte = 6 };

// The Split regexes llama.cpp's pre-tokenizer names stand for (tokenizer/pretokenize.cpp has them as hearth runs
// them).
constexpr std::pair<std::string_view, std::string_view> kKnownSplits[] = {
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     "qwen2"},
    {"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1,3}| "
     "?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
     "\\s+(?!\\S)|\\s+",
     "llama-bpe"},
};

struct AddedToken {
    int64_t id = 0;
    std::string content;
    bool special = false;
};

// A tokenizer_config entry: "text" or {"content": "text", ...}; "" when absent.
std::string token_content(const json& tc, const std::string& key) {
    if (!tc.is_object()) return "";
    auto it = tc.find(key);
    if (it == tc.end()) return "";
    if (it->is_string()) return it->get<std::string>();
    if (it->is_object()) return json_str(*it, "content");
    return "";
}

bool starts_ends(std::string_view s, std::string_view a, std::string_view b) {
    return s.size() >= a.size() + b.size() && s.starts_with(a) && s.ends_with(b);
}

// gguf-py's TextModel.does_token_look_special.
bool looks_special(std::string_view t) {
    return t == "<pad>" || t == "<mask>" || t == "<2mass>" || t == "[@BOS@]" || starts_ends(t, "<|", "|>") ||
           starts_ends(t, "<\xef\xbd\x9c", "\xef\xbd\x9c>") || starts_ends(t, "<unused", ">");
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
        s.replace(p, from.size(), to);
    return s;
}

// tokenizer.json's `field` (pre_tokenizer, normalizer) itself, or the members (`list`) of a Sequence.
std::vector<json> members(const json& tok, const char* field, const char* list) {
    auto it = tok.find(field);
    if (it == tok.end() || !it->is_object()) return {};
    if (json_str(*it, "type") == "Sequence" && it->contains(list) && (*it)[list].is_array())
        return (*it)[list].get<std::vector<json>>();
    return {*it};
}

std::vector<json> pre_tokenizers(const json& tok) {
    return members(tok, "pre_tokenizer", "pretokenizers");
}

std::vector<json> normalizers(const json& tok) {
    return members(tok, "normalizer", "normalizers");
}

bool is_byte_level(const json& tok) {
    for (const json& p : pre_tokenizers(tok))
        if (json_str(p, "type") == "ByteLevel") return true;
    return false;
}

// tokenizer.ggml.pre from the pre-tokenizers: one known Split regex, else ByteLevel's own GPT-2 regex ("gpt-2"), with
// single digits split off first ("smollm"). Any other combination is refused, naming what was found.
Result<std::string> identify_pre(const json& tok) {
    std::string split;
    bool byte_level_regex = false, digits = false;
    for (const json& p : pre_tokenizers(tok)) {
        const std::string type = json_str(p, "type");
        if (type == "Split" && split.empty()) {
            split = p.contains("pattern") ? json_str(p["pattern"], "Regex") : "";
            if (split.empty()) return error("tokenizer.json: a Split pre-tokenizer without a regex");
        } else if (type == "ByteLevel") {
            byte_level_regex = json_bool(p, "use_regex", true);
        } else if (type == "Digits" && json_bool(p, "individual_digits", false)) {
            digits = true;
        } else {
            return error("tokenizer.json: unsupported pre-tokenizer '" + type + "' in a byte-level BPE");
        }
    }
    if (!split.empty() && !byte_level_regex && !digits) {
        for (auto [known, name] : kKnownSplits)
            if (split == known) return std::string(name);
        return error("tokenizer.json: unsupported pre-tokenizer regex '" + split +
                     "' (hearth convert knows the Qwen 2, Llama 3 and GPT-2 ones)");
    }
    if (split.empty() && byte_level_regex) return std::string(digits ? "smollm" : "gpt-2");
    return error("tokenizer.json: a byte-level BPE whose pre-tokenizers hearth convert does not know");
}

// Does the SentencePiece-style tokenizer put "▁" before the text (SentencePiece's add_dummy_prefix)?
bool prepends_space(const json& tok) {
    for (const json& n : normalizers(tok))
        if (json_str(n, "type") == "Prepend") return true;
    for (const json& p : pre_tokenizers(tok))
        if (json_str(p, "type") == "Metaspace")
            return json_str(p, "prepend_scheme", json_bool(p, "add_prefix_space", true) ? "always" : "never") !=
                   "never";
    return false;
}

// gguf-py's SpecialVocab: special token ids and add_*_token flags, in the order it sets them.
struct Specials {
    std::vector<std::pair<std::string, int64_t>> ids;
    std::vector<std::pair<std::string, bool>> add;
    int64_t n_vocab = -1; // ids at or past it are skipped; -1: no bound

    void set_id(const std::string& typ, int64_t id) {
        if (id < 0 || (n_vocab >= 0 && id >= n_vocab)) return;
        for (auto& [t, v] : ids)
            if (t == typ) return;
        ids.emplace_back(typ, id);
    }
    void set_add(const std::string& typ, bool v, bool overwrite) {
        for (auto& [t, old] : add)
            if (t == typ) {
                if (overwrite) old = v;
                return;
            }
        add.emplace_back(typ, v);
    }
};

constexpr const char* kSpecialTypes[] = {"bos", "eos", "unk", "sep", "pad", "cls", "mask"};

// The post-processor's add_bos/add_eos (ByteLevel: neither; RobertaProcessing: both; TemplateProcessing: its first
// and last special tokens when they are the bos and eos tokens). `names` holds tokenizer_config's *_token texts and
// is updated as SpecialVocab updates its copy of tokenizer_config.
void read_post_processor(const json& tok, bool have_tc, std::map<std::string, std::string>& names, Specials& sp) {
    auto pp = tok.find("post_processor");
    if (pp == tok.end() || !pp->is_object()) return;
    std::vector<json> procs = {*pp};
    if (pp->contains("processors") && (*pp)["processors"].is_array())
        procs = (*pp)["processors"].get<std::vector<json>>();
    for (const json& p : procs) {
        const std::string type = json_str(p, "type");
        if (type == "ByteLevel") {
            sp.set_add("bos", false, false);
            sp.set_add("eos", false, false);
        } else if (type == "RobertaProcessing") {
            for (const char* t : {"bos", "eos", "sep"})
                sp.set_add(t, true, true);
        } else if (type == "TemplateProcessing" && p.contains("single") && p["single"].is_array() &&
                   p["single"].size() > 1) {
            const json& single = p["single"];
            auto special_id = [](const json& item) {
                return item.is_object() && item.contains("SpecialToken") ? json_str(item["SpecialToken"], "id") : "";
            };
            if (const std::string first = special_id(single.front()); !first.empty()) {
                if (!have_tc) {
                    names["bos"] = first;
                } else if (first != names["bos"] && first != names["cls"]) {
                    if (names["bos"].empty()) names["bos"] = first;
                    if (names["cls"].empty()) names["cls"] = first;
                }
                sp.set_add("bos", first == names["bos"] || first == names["cls"], true);
            }
            if (const std::string last = special_id(single.back()); !last.empty()) {
                if (!have_tc || last != names["eos"]) names["eos"] = last;
                sp.set_add("eos", true, true);
            }
        }
    }
}

Result<Specials> read_specials(const HfDir& d, const std::vector<AddedToken>& added, int64_t n_vocab) {
    Specials sp;
    sp.n_vocab = n_vocab;
    const json& tc = d.tokenizer_config;
    const bool have_tc = tc.is_object();
    std::map<std::string, std::string> names;
    for (const char* t : kSpecialTypes)
        names[t] = token_content(tc, std::string(t) + "_token");
    if (names["bos"].empty() && !names["cls"].empty() && have_tc) names["bos"] = names["cls"];
    if (names["eos"].empty() && !names["sep"].empty() && have_tc) names["eos"] = names["sep"];
    read_post_processor(d.tokenizer, have_tc, names, sp);
    if (have_tc) {
        for (const char* t : kSpecialTypes) {
            const std::string typ = t;
            if (auto it = tc.find("add_" + typ + "_token"); it != tc.end() && it->is_boolean())
                sp.set_add(typ, it->get<bool>(), false);
            if (names[typ].empty()) continue;
            for (const AddedToken& a : added)
                if (a.content == names[typ]) {
                    sp.set_id(typ, a.id);
                    break;
                }
        }
    }
    for (const char* t : kSpecialTypes)
        sp.set_id(t, json_int(d.config, (std::string(t) + "_token_id").c_str(), -1));
    // Not read by llama.cpp: fills in only what the files above leave unset.
    for (const char* t : {"bos", "eos"}) {
        const std::string key = std::string(t) + "_token_id";
        if (!d.generation_config.is_object() || !d.generation_config.contains(key)) continue;
        const json& v = d.generation_config[key];
        if (v.is_number_integer()) sp.set_id(t, v.get<int64_t>());
        if (v.is_array() && !v.empty() && v[0].is_number_integer()) sp.set_id(t, v[0].get<int64_t>());
    }
    return sp;
}

void add_specials(const Specials& sp, std::vector<KeyValue>& kv) {
    static const std::map<std::string, std::string> kIdKeys = {
        {"bos", "bos_token_id"},       {"eos", "eos_token_id"},     {"unk", "unknown_token_id"},
        {"sep", "seperator_token_id"}, {"pad", "padding_token_id"}, {"mask", "mask_token_id"},
    };
    for (const auto& [typ, id] : sp.ids)
        if (auto k = kIdKeys.find(typ); k != kIdKeys.end())
            kv.push_back({"tokenizer.ggml." + k->second, Value::make_u32(uint32_t(id))});
    for (const auto& [typ, v] : sp.add)
        if (typ == "bos" || typ == "eos" || typ == "sep")
            kv.push_back({"tokenizer.ggml.add_" + typ + "_token", Value::make_bool(v)});
}

// tokenizer_config's chat_template (a string, or [{name, template}] for several), else chat_template.jinja.
void add_chat_template(const HfDir& d, std::vector<KeyValue>& kv) {
    if (!d.tokenizer_config.is_object()) return;
    auto it = d.tokenizer_config.find("chat_template");
    if (it == d.tokenizer_config.end()) {
        if (!d.chat_template_jinja.empty())
            kv.push_back({"tokenizer.chat_template", Value::make_string(d.chat_template_jinja)});
        return;
    }
    if (it->is_string()) {
        kv.push_back({"tokenizer.chat_template", Value::make_string(it->get<std::string>())});
        return;
    }
    if (!it->is_array()) return;
    std::string default_template;
    std::vector<std::string> names;
    for (const json& c : *it) {
        std::string name = json_str(c, "name");
        if (!c.is_object() || !c.contains("template") || !c["template"].is_string() || name.empty()) continue;
        for (char& ch : name)
            if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
        if (name == "default") {
            default_template = c["template"].get<std::string>();
        } else if (std::find(names.begin(), names.end(), name) == names.end()) {
            names.push_back(name);
            kv.push_back({"tokenizer.chat_template." + name, Value::make_string(c["template"].get<std::string>())});
        }
    }
    if (!names.empty()) kv.push_back({"tokenizer.chat_templates", Value::make_string_array(names)});
    if (!default_template.empty()) kv.push_back({"tokenizer.chat_template", Value::make_string(default_template)});
}

// A merge as "left right" (the pair form writes spaces inside a part as U+0120), and its halves.
Result<std::pair<std::string, std::string>> merge_parts(const json& m) {
    if (m.is_string()) {
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        if (sp == std::string::npos) return error("tokenizer.json: merge '" + s + "' is not 'left right'");
        return std::make_pair(s.substr(0, sp), s.substr(sp + 1));
    }
    if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string())
        return std::make_pair(m[0].get<std::string>(), m[1].get<std::string>());
    return error("tokenizer.json: a merge is neither \"a b\" nor [\"a\", \"b\"]");
}

struct Source {
    std::map<int64_t, std::string> by_id; // model.vocab and added_tokens
    int64_t n_base = 0;                   // entries of model.vocab
    std::vector<AddedToken> added;
    json merges;
};

Result<Source> read_source(const json& tok) {
    Source s;
    const json& model = tok["model"];
    auto vocab = model.find("vocab");
    if (vocab == model.end() || !vocab->is_object()) return error("tokenizer.json: model.vocab is not an object");
    for (auto it = vocab->begin(); it != vocab->end(); ++it) {
        if (!it->is_number_unsigned()) return error("tokenizer.json: vocab id of '" + it.key() + "' is not an id");
        if (!s.by_id.emplace(it->get<int64_t>(), it.key()).second)
            return error("tokenizer.json: id " + std::to_string(it->get<int64_t>()) + " is used twice in the vocab");
    }
    s.n_base = int64_t(vocab->size());
    if (auto at = tok.find("added_tokens"); at != tok.end() && at->is_array()) {
        for (const json& a : *at) {
            AddedToken t;
            t.id = json_int(a, "id", -1);
            t.content = json_str(a, "content");
            t.special = json_bool(a, "special", false);
            if (t.id < 0 || t.content.empty()) return error("tokenizer.json: an added token has no id or content");
            s.by_id[t.id] = t.content;
            s.added.push_back(std::move(t));
        }
    }
    if (auto m = model.find("merges"); m != model.end() && m->is_array()) s.merges = *m;
    return s;
}

struct TokenList {
    std::vector<std::string> text;
    std::vector<float> score;
    std::vector<int32_t> type;
    void push(std::string t, float sc, int32_t ty) {
        text.push_back(std::move(t));
        score.push_back(sc);
        type.push_back(ty);
    }
};

void add_token_arrays(const TokenList& tl, bool with_scores, std::vector<KeyValue>& kv) {
    kv.push_back({"tokenizer.ggml.tokens", Value::make_string_array(tl.text)});
    if (with_scores) {
        std::vector<Value> sc;
        sc.reserve(tl.score.size());
        for (float f : tl.score)
            sc.push_back(Value::make_f32(f));
        kv.push_back({"tokenizer.ggml.scores", Value::make_array(ValueType::F32, std::move(sc))});
    }
    std::vector<Value> ty;
    ty.reserve(tl.type.size());
    for (int32_t t : tl.type)
        ty.push_back(Value::make_i32(t));
    kv.push_back({"tokenizer.ggml.token_type", Value::make_array(ValueType::I32, std::move(ty))});
}

Result<VocabMeta> byte_level_vocab(const HfDir& d, const Source& s, int64_t vocab_size) {
    auto pre = identify_pre(d.tokenizer);
    if (!pre) return pre.status();
    if (vocab_size <= 0) vocab_size = s.by_id.empty() ? 0 : s.by_id.rbegin()->first + 1;
    if (!s.by_id.empty() && s.by_id.rbegin()->first >= vocab_size)
        return error("tokenizer.json: token id " + std::to_string(s.by_id.rbegin()->first) +
                     " is past config.json's vocab_size " + std::to_string(vocab_size));
    std::map<int64_t, const AddedToken*> added;
    for (const AddedToken& a : s.added)
        added[a.id] = &a;
    TokenList tl;
    for (int64_t i = 0; i < vocab_size; ++i) {
        auto it = s.by_id.find(i);
        if (it == s.by_id.end()) {
            tl.push("[PAD" + std::to_string(i) + "]", 0, kUnused);
        } else if (auto a = added.find(i); a != added.end()) {
            if (a->second->special || looks_special(it->second))
                tl.push(it->second, 0, kControl);
            else
                tl.push(replace_all(it->second, "\xe2\x96\x81", " "), 0, kUserDefined);
        } else {
            tl.push(it->second, 0, kNormal);
        }
    }
    std::vector<std::string> merges;
    merges.reserve(s.merges.size());
    for (const json& m : s.merges) {
        auto parts = merge_parts(m);
        if (!parts) return parts.status();
        if (m.is_string()) {
            merges.push_back(m.get<std::string>());
        } else {
            merges.push_back(replace_all(parts->first, " ", "\xc4\xa0") + " " +
                             replace_all(parts->second, " ", "\xc4\xa0"));
        }
    }
    if (merges.empty()) return error("tokenizer.json: byte-level BPE without merges");
    auto sp = read_specials(d, s.added, -1);
    if (!sp) return sp.status();
    VocabMeta out;
    out.n_tokens = int64_t(tl.text.size());
    out.kv.push_back({"tokenizer.ggml.model", Value::make_string("gpt2")});
    out.kv.push_back({"tokenizer.ggml.pre", Value::make_string(*pre)});
    add_token_arrays(tl, false, out.kv);
    out.kv.push_back({"tokenizer.ggml.merges", Value::make_string_array(merges)});
    add_specials(*sp, out.kv);
    add_chat_template(d, out.kv);
    return out;
}

// The special tokens transformers lists in all_special_tokens: tokenizer_config's *_token entries and
// additional_special_tokens.
std::set<std::string> all_special_tokens(const json& tc) {
    std::set<std::string> out;
    for (const char* t : kSpecialTypes)
        if (std::string c = token_content(tc, std::string(t) + "_token"); !c.empty()) out.insert(c);
    if (tc.is_object() && tc.contains("additional_special_tokens") && tc["additional_special_tokens"].is_array())
        for (const json& a : tc["additional_special_tokens"]) {
            if (a.is_string()) out.insert(a.get<std::string>());
            if (a.is_object()) out.insert(json_str(a, "content"));
        }
    return out;
}

bool is_byte_token(std::string_view t) {
    auto hex = [](char c) { return std::isxdigit(static_cast<unsigned char>(c)) != 0; };
    return t.size() == 6 && t.starts_with("<0x") && hex(t[3]) && hex(t[4]) && t[5] == '>';
}

Result<VocabMeta> byte_fallback_vocab(const HfDir& d, const Source& s, int64_t vocab_size) {
    const std::set<std::string> specials = all_special_tokens(d.tokenizer_config);
    std::map<std::string, int64_t> merge_rank; // merged text -> first merge making it
    for (size_t r = 0; r < s.merges.size(); ++r) {
        auto parts = merge_parts(s.merges[r]);
        if (!parts) return parts.status();
        merge_rank.emplace(parts->first + parts->second, int64_t(r));
    }
    std::map<int64_t, const AddedToken*> added_past_base;
    for (const AddedToken& a : s.added)
        if (a.id >= s.n_base) added_past_base[a.id] = &a;
    TokenList tl;
    for (int64_t i = 0; i < s.n_base; ++i) {
        if (added_past_base.count(i)) continue;
        auto it = s.by_id.find(i);
        if (it == s.by_id.end()) return error("tokenizer.json: the vocab has no token with id " + std::to_string(i));
        const std::string& t = it->second;
        auto r = merge_rank.find(t);
        const float score = r != merge_rank.end() ? -float(r->second) : 0.0f;
        tl.push(t, score, is_byte_token(t) ? kByte : specials.count(t) ? kControl : kNormal);
    }
    for (const auto& [id, a] : added_past_base) {
        if (id != int64_t(tl.text.size()))
            return error("tokenizer.json: added token '" + a->content + "' has id " + std::to_string(id) +
                         ", not the next free id " + std::to_string(tl.text.size()));
        tl.push(a->content, -1000.0f, specials.count(a->content) ? kControl : kUserDefined);
    }
    // Every added token, in the base vocabulary or past it, as _create_vocab_sentencepiece and Phi-3's set_vocab treat
    // tokenizer_config's added_tokens_decoder: control when special, else user-defined with "▁" as a space.
    for (const AddedToken& a : s.added) {
        if (a.id >= int64_t(tl.text.size())) continue;
        const bool control = a.special || looks_special(a.content) || specials.count(a.content);
        tl.text[size_t(a.id)] = control ? a.content : replace_all(a.content, "\xe2\x96\x81", " ");
        tl.score[size_t(a.id)] = -1000.0f;
        tl.type[size_t(a.id)] = control ? kControl : kUserDefined;
    }
    for (int64_t i = 1; int64_t(tl.text.size()) < vocab_size; ++i)
        tl.push("[PAD" + std::to_string(i) + "]", -1000.0f, kUnused);
    auto sp = read_specials(d, s.added, int64_t(tl.text.size()));
    if (!sp) return sp.status();
    VocabMeta out;
    out.n_tokens = int64_t(tl.text.size());
    out.kv.push_back({"tokenizer.ggml.model", Value::make_string("llama")});
    out.kv.push_back({"tokenizer.ggml.pre", Value::make_string("default")});
    add_token_arrays(tl, true, out.kv);
    add_specials(*sp, out.kv);
    add_chat_template(d, out.kv);
    const json& tc = d.tokenizer_config;
    if (tc.is_object() && tc.contains("add_prefix_space") && tc["add_prefix_space"].is_boolean())
        out.kv.push_back({"tokenizer.ggml.add_space_prefix", Value::make_bool(tc["add_prefix_space"].get<bool>())});
    else if (!prepends_space(d.tokenizer))
        out.kv.push_back({"tokenizer.ggml.add_space_prefix", Value::make_bool(false)});
    return out;
}

} // namespace

Result<VocabMeta> convert_vocab(const HfDir& d, int64_t vocab_size) {
    const json& tok = d.tokenizer;
    if (!tok.contains("model") || !tok["model"].is_object()) return error("tokenizer.json: no \"model\" object");
    const std::string type = json_str(tok["model"], "type", "BPE");
    if (type != "BPE")
        return error("tokenizer.json: unsupported tokenizer type '" + type +
                     "' (hearth convert reads BPE tokenizers: byte-level or with byte fallback)");
    auto src = read_source(tok);
    if (!src) return src.status();
    if (json_bool(tok["model"], "byte_fallback", false)) return byte_fallback_vocab(d, *src, vocab_size);
    if (is_byte_level(tok)) return byte_level_vocab(d, *src, vocab_size);
    return error("tokenizer.json: a BPE tokenizer that is neither byte-level nor byte-fallback (SentencePiece)");
}

} // namespace hearth::convert
