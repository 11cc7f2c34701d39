// engine/prompt.cpp: ModelText and its cache, load failures without paths, a request's prompt as tokens.
#include "engine/prompt.h"

#include "engine/constrain.h"
#include "gguf/gguf.h"
#include "runtime/chat.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <system_error>

namespace hearth::engine {
namespace {

void replace_all(std::string& s, const std::string& from, const std::string& to) {
    if (from.empty()) return;
    for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
        s.replace(at, from.size(), to);
}

// `msg` with the model file's path, and its folder, left out.
std::string without_path(std::string msg, const std::string& path) {
    replace_all(msg, "'" + path + "'", "the model file");
    replace_all(msg, path + ": ", "");
    replace_all(msg, path, "the model file");
    const std::string dir = std::filesystem::path(path).parent_path().string();
    if (dir.size() > 1) replace_all(msg, dir, "...");
    return msg;
}

Result<ModelText> load_model_text(const std::string& path) {
    auto file = gguf::File::open(path);
    if (!file) return file.status();
    auto tok = load_tokenizer(*file);
    if (!tok) return tok.status();
    ModelText t;
    t.tok = std::move(*tok);
    if (file->find("tokenizer.chat_template")) {
        auto tmpl = file->get_string("tokenizer.chat_template");
        if (!tmpl) return tmpl.status();
        t.chat_template = std::move(*tmpl);
    }
    return t;
}

} // namespace

Status load_failure(const LocalEngineOptions& opts, Code code, const std::string& name, const std::string& path,
                    const std::string& reason, bool log) {
    const std::string full = "model '" + name + "' (" + path + ") could not be loaded: " + reason;
    if (!log) {
    } else if (opts.log)
        opts.log(full);
    else
        std::fprintf(stderr, "hearth: %s\n", full.c_str());
    return Status::error(code, "model '" + name + "' could not be loaded: " + without_path(reason, path), "model");
}

Result<std::shared_ptr<const ModelText>> ModelTextCache::get(const LocalEngineOptions& opts, const std::string& name,
                                                             const std::string& path) {
    {
        std::lock_guard lk(mu_);
        auto it = by_path_.find(path);
        if (it != by_path_.end())
            if (auto held = it->second.lock()) return held;
    }
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        return load_failure(opts, Code::NotFound, name, path, "its file is missing");
    auto loaded = load_model_text(path);
    if (!loaded) return load_failure(opts, Code::Internal, name, path, loaded.message());
    auto text = std::make_shared<const ModelText>(std::move(*loaded));
    std::lock_guard lk(mu_);
    std::erase_if(by_path_, [](const auto& kv) { return kv.second.expired(); });
    auto& slot = by_path_[path];
    if (auto held = slot.lock()) return held; // another caller loaded it meanwhile: share theirs
    slot = text;
    return text;
}

const grammar::VocabTrie& vocab_trie(const ModelText& text) {
    std::call_once(text.vocab->once, [&] {
        std::vector<std::string> bytes(size_t(text.tok.n_vocab()));
        for (int32_t id = 0; id < text.tok.n_vocab(); ++id)
            bytes[size_t(id)] = token_to_piece(text.tok, id, /*special=*/false);
        text.vocab->trie.emplace(grammar::VocabTrie::build(std::move(bytes)));
    });
    return *text.vocab->trie;
}

Result<std::vector<int32_t>> prompt_tokens(const ModelText& text, const Request& r, const ModelSpec& spec) {
    const std::string field = !r.prompt_tokens.empty() ? "prompt_tokens" : r.prompt ? "prompt" : "messages";
    auto bad = [&](const std::string& msg) { return bad_field(field, msg); };
    const Tokenizer& tok = text.tok;
    if (!r.prompt_tokens.empty()) {
        for (int32_t t : r.prompt_tokens)
            if (t < 0 || t >= tok.n_vocab())
                return bad("prompt token " + std::to_string(t) + " is outside the vocabulary [0, " +
                           std::to_string(tok.n_vocab()) + ")");
        return r.prompt_tokens;
    }
    std::vector<int32_t> toks;
    if (r.suffix) {
        if (!r.prompt) return bad_field("suffix", "suffix needs a prompt (the text before the gap)");
        if (tok.fim_pre == kNoToken || tok.fim_suf == kNoToken || tok.fim_mid == kNoToken)
            return bad_field("suffix", "model '" + r.model +
                                           "' has no fill-in-the-middle tokens: suffix needs a code model such as "
                                           "Qwen2.5-Coder");
        // Prefix-suffix-middle order: [BOS] <fim_prefix> prefix <fim_suffix> suffix <fim_middle>. The texts are
        // code, not instructions: special-token text in them stays text.
        if (tok.add_bos && tok.bos != kNoToken) toks.push_back(tok.bos);
        auto text = [&](const std::string& s) {
            for (int32_t t : tokenize(tok, s, /*add_special=*/false, /*parse_special=*/false))
                toks.push_back(t);
        };
        if (!r.fim_files.empty()) { // repository-level: the other files first, then the one being edited
            if (tok.fim_sep == kNoToken)
                return bad_field("input_extra",
                                 "model '" + r.model + "' has no file-separator token (<|file_sep|>) for other files");
            if (tok.fim_rep != kNoToken) {
                toks.push_back(tok.fim_rep);
                text("project\n");
            }
            for (const auto& f : r.fim_files) {
                toks.push_back(tok.fim_sep);
                text(f.name + "\n" + f.text);
                if (!f.text.ends_with('\n')) text("\n");
            }
            toks.push_back(tok.fim_sep);
            text("current\n");
        }
        toks.push_back(tok.fim_pre);
        for (int32_t t : tokenize(tok, *r.prompt, /*add_special=*/false, /*parse_special=*/false))
            toks.push_back(t);
        toks.push_back(tok.fim_suf);
        for (int32_t t : tokenize(tok, *r.suffix, /*add_special=*/false, /*parse_special=*/false))
            toks.push_back(t);
        toks.push_back(tok.fim_mid);
        return toks;
    }
    if (r.prompt && r.raw) {
        toks = tokenize(tok, *r.prompt, /*add_special=*/true, /*parse_special=*/true);
    } else {
        const ChatFormat fmt = chat_format_for(tok, text.chat_template, spec.template_text, "Modelfile TEMPLATE");
        std::vector<ChatMessage> msgs;
        auto chat_message = [](const Message& m) {
            ChatMessage c{m.role, m.content};
            for (const auto& t : m.tool_calls)
                c.tool_calls.push_back({t.id, t.name, t.arguments});
            c.tool_call_id = m.tool_call_id;
            c.name = m.name;
            return c;
        };
        if (r.prompt) {
            msgs.push_back({"user", *r.prompt});
        } else {
            for (const auto& m : spec.messages) // the model's MESSAGE history comes first
                msgs.push_back(chat_message(m));
            for (const auto& m : r.messages)
                msgs.push_back(chat_message(m));
        }
        // The system prompt: the request's, else the model's SYSTEM, unless the messages bring their own.
        const std::optional<std::string>& system = r.system ? r.system : spec.system;
        const bool has_system =
            std::any_of(msgs.begin(), msgs.end(), [](const ChatMessage& m) { return m.role == "system"; });
        if (system && !system->empty() && !has_system) msgs.insert(msgs.begin(), ChatMessage{"system", *system});
        // tool_choice none: the model is not told of the tools, so it answers in text.
        const std::string_view tools = r.tool_choice == ToolChoice::None ? std::string_view() : r.tools;
        // Thinking: a template with a switch gets it (on unless the request says no).
        std::optional<bool> enable_thinking;
        if (toolcall::detect_thinking(fmt.source) == toolcall::Thinking::Switchable) enable_thinking = thinks(r);
        auto rendered = render_chat(fmt, msgs, r.add_generation_prompt, tools, enable_thinking);
        if (!rendered) return bad(rendered.message());
        const bool starts_with_bos = !fmt.bos_token.empty() && rendered->starts_with(fmt.bos_token);
        toks = tokenize(tok, *rendered, /*add_special=*/false, /*parse_special=*/true);
        if (fmt.add_bos && !starts_with_bos) toks.insert(toks.begin(), tok.bos);
    }
    if (toks.empty()) return bad("the prompt is empty");
    return toks;
}

toolcall::Format tool_format(const ModelText& text, const ModelSpec& spec) {
    return toolcall::detect_format(
        chat_format_for(text.tok, text.chat_template, spec.template_text, "Modelfile TEMPLATE").source);
}

toolcall::Thinking thinking_mode(const ModelText& text, const ModelSpec& spec) {
    const ChatFormat fmt = chat_format_for(text.tok, text.chat_template, spec.template_text, "Modelfile TEMPLATE");
    return fmt.kind == ChatFormat::Kind::Jinja ? toolcall::detect_thinking(fmt.source) : toolcall::Thinking::None;
}

} // namespace hearth::engine
