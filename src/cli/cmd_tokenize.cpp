// `hearth tokenize`, `hearth detokenize` and `hearth template`: the model's own tokenizer and chat
// template, from its GGUF metadata.
#include "cli/commands.h"
#include "gguf/gguf.h"
#include "template/chat_template.h"
#include "tokenizer/tokenizer.h"

#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>

namespace hearth::cli {
namespace {

struct Loaded {
    gguf::File file;
    Tokenizer tok;
};

Result<std::unique_ptr<Loaded>> load(const std::string& path) {
    auto f = gguf::File::open(path);
    if (!f) return f.status();
    auto t = load_tokenizer(*f);
    if (!t) return error(path + ": " + t.message());
    return std::make_unique<Loaded>(Loaded{std::move(*f), std::move(*t)});
}

std::string read_stdin() {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
}

int fail(const std::string& msg, int rc = 1) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return rc;
}

} // namespace

Runner add_tokenize_command(CLI::App& app) {
    struct Opts {
        std::string model, text;
        bool from_stdin = false, no_bos = false, no_parse_special = false, pieces = false, json = false, ids = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("tokenize", "Text to token ids with the model's own tokenizer");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model (or vocabulary-only GGUF)")->required();
    auto* text = cmd->add_option("--text", o->text, "text to tokenize");
    auto* in = cmd->add_flag("--stdin", o->from_stdin, "read the text from standard input");
    text->excludes(in);
    cmd->add_flag("--no-bos", o->no_bos, "do not add BOS/EOS even where the model asks for them");
    cmd->add_flag("--no-parse-special", o->no_parse_special, "treat special-token text as plain text");
    auto* ids = cmd->add_flag("--ids", o->ids, "print ids only, space-separated (the default)");
    auto* pieces = cmd->add_flag("--pieces", o->pieces, "print one 'id<TAB>piece' line per token");
    auto* json = cmd->add_flag("--json", o->json, "print {\"ids\": [...], \"pieces\": [...]}");
    ids->excludes(pieces)->excludes(json);
    pieces->excludes(json);
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        if (!o->from_stdin && cmd->count("--text") == 0) return fail("tokenize: give --text or --stdin", 2);
        auto l = load(o->model);
        if (!l) return fail(l.message());
        const std::string text = o->from_stdin ? read_stdin() : o->text;
        const auto toks = tokenize((*l)->tok, text, !o->no_bos, !o->no_parse_special);
        if (o->json) {
            nlohmann::json j;
            j["ids"] = toks;
            j["pieces"] = nlohmann::json::array();
            for (int32_t t : toks)
                j["pieces"].push_back(token_to_piece((*l)->tok, t, true));
            std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        } else if (o->pieces) {
            for (int32_t t : toks) {
                std::string p = token_to_piece((*l)->tok, t, true);
                std::string shown;
                for (unsigned char c : p) {
                    if (c < 0x20 || c == 0x7f) {
                        char b[8];
                        std::snprintf(b, sizeof b, "\\x%02x", c);
                        shown += b;
                    } else {
                        shown += char(c);
                    }
                }
                std::printf("%d\t%s\n", t, shown.c_str());
            }
        } else {
            for (size_t i = 0; i < toks.size(); ++i)
                std::printf("%s%d", i ? " " : "", toks[i]);
            std::printf("\n");
        }
        return 0;
    };
}

Runner add_detokenize_command(CLI::App& app) {
    struct Opts {
        std::string model, ids;
        bool from_stdin = false, special = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("detokenize", "Token ids to text with the model's own tokenizer");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    auto* ids = cmd->add_option("--ids", o->ids, "space-separated token ids");
    auto* in = cmd->add_flag("--stdin", o->from_stdin, "read the ids from standard input");
    ids->excludes(in);
    cmd->add_flag("--special", o->special, "render control tokens (e.g. <|im_end|>) as their text");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        if (!o->from_stdin && cmd->count("--ids") == 0) return fail("detokenize: give --ids or --stdin", 2);
        auto l = load(o->model);
        if (!l) return fail(l.message());
        std::istringstream in(o->from_stdin ? read_stdin() : o->ids);
        std::vector<int32_t> toks;
        std::string w;
        while (in >> w) {
            char* end = nullptr;
            const long long v = std::strtoll(w.c_str(), &end, 10);
            if (*end != '\0' || v < 0 || v >= (*l)->tok.n_vocab())
                return fail("detokenize: '" + w + "' is not a token id of this model (vocabulary size " +
                                std::to_string((*l)->tok.n_vocab()) + ")",
                            2);
            toks.push_back(int32_t(v));
        }
        const std::string text = detokenize((*l)->tok, toks, o->special);
        std::fwrite(text.data(), 1, text.size(), stdout);
        std::printf("\n");
        return 0;
    };
}

Runner add_template_command(CLI::App& app) {
    struct Opts {
        std::string model, template_file, messages;
        bool no_generation_prompt = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand(
        "template", "Render the model's chat template (sandboxed Jinja2) for a conversation; prints the prompt text");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    cmd->add_option("--messages", o->messages,
                    "JSON: a list of {role, content} messages, or an object {messages, tools, ...}; '-' reads stdin")
        ->required();
    cmd->add_option("--template", o->template_file, "a Jinja2 file to use instead of the model's template");
    cmd->add_flag("--no-generation-prompt", o->no_generation_prompt, "do not open an assistant turn at the end");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        auto l = load(o->model);
        if (!l) return fail(l.message());
        std::string source;
        if (!o->template_file.empty()) {
            std::ifstream f(o->template_file, std::ios::binary);
            if (!f) return fail("cannot read template file '" + o->template_file + "'");
            source.assign(std::istreambuf_iterator<char>(f), {});
        } else if ((*l)->file.find("tokenizer.chat_template")) {
            auto t = (*l)->file.get_string("tokenizer.chat_template");
            if (!t) return fail(t.message());
            source = *t;
        } else {
            source = std::string(kChatMlTemplate); // the model has none: ChatML
        }
        const std::string raw = o->messages == "-" ? read_stdin() : o->messages;
        auto parsed = nlohmann::ordered_json::parse(raw, nullptr, false);
        if (parsed.is_discarded()) return fail("--messages is not valid JSON", 2);
        nlohmann::ordered_json ctx = parsed.is_array() ? nlohmann::ordered_json{{"messages", parsed}} : parsed;
        if (!ctx.is_object() || !ctx.contains("messages") || !ctx["messages"].is_array())
            return fail("--messages must be a list of messages or an object with a \"messages\" list", 2);
        ctx["add_generation_prompt"] = !o->no_generation_prompt;
        const Tokenizer& tok = (*l)->tok;
        ctx["bos_token"] = tok.bos >= 0 ? token_to_piece(tok, tok.bos, true) : "";
        ctx["eos_token"] = tok.eos >= 0 ? token_to_piece(tok, tok.eos, true) : "";
        auto out = render_chat_template(source, ctx, TemplateOptions{});
        if (!out) return fail("chat template: " + out.message());
        std::fwrite(out->data(), 1, out->size(), stdout);
        return 0;
    };
}

} // namespace hearth::cli
