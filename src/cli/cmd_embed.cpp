// `hearth embed`: embed texts with a model (through engine::LocalEngine, as the server's /v1/embeddings does) and
// print them as JSON: {"model", "pooling", "dimensions", "prompt_tokens", "embeddings": [[...], ...]}.
#include "cli/cli_engine.h"
#include "cli/commands.h"

#include <cstdio>
#include <iostream>
#include <iterator>
#include <nlohmann/json.hpp>

namespace hearth::cli {

Runner add_embed_command(CLI::App& app) {
    struct Opts {
        std::string model;
        std::vector<std::string> texts;
        int threads = 0, ctx = 0, dimensions = 0;
        bool from_stdin = false, raw = false, no_truncate = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("embed", "Embed texts (prints {\"embeddings\": [[...], ...]} as JSON)");
    cmd->add_option("-m,--model", o->model, "path to a .gguf model")->required();
    auto* texts = cmd->add_option("texts", o->texts, "texts to embed, one vector each");
    auto* in = cmd->add_flag("--stdin", o->from_stdin, "embed standard input as one text");
    texts->excludes(in);
    cmd->add_option("-t,--threads", o->threads, "threads (0 = all cores)")->check(CLI::Range(0, 1024));
    cmd->add_option("-c,--ctx-size", o->ctx, "context size (0 = model's, at most 4096)")->check(CLI::Range(0, 1 << 24));
    cmd->add_option("--dimensions", o->dimensions, "shorten the vectors (Matryoshka models only)")
        ->check(CLI::Range(1, 1 << 20));
    cmd->add_flag("--raw", o->raw, "do not L2-normalize the vectors");
    cmd->add_flag("--no-truncate", o->no_truncate, "fail on a text longer than the context instead of cutting it");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        engine::EmbedRequest r;
        r.model = o->model;
        r.texts = o->texts;
        if (o->from_stdin) r.texts.push_back(std::string(std::istreambuf_iterator<char>(std::cin), {}));
        if (r.texts.empty()) {
            std::fprintf(stderr, "hearth: error: give texts to embed (or --stdin)\n");
            return 2;
        }
        r.num_ctx = o->ctx;
        r.dimensions = o->dimensions;
        r.normalize = !o->raw;
        r.truncate = !o->no_truncate;
        auto log = std::make_shared<EngineLog>();
        engine::ModelSpec spec;
        spec.name = spec.path = o->model;
        engine::LocalEngine local(resolver_for(std::move(spec)), cli_engine_options(o->threads, log));
        auto result = local.embed(r, nullptr);
        if (auto* f = std::get_if<Status>(&result)) {
            std::fprintf(stderr, "hearth: error: %s\n", failure_text(*f, *log).c_str());
            return 1;
        }
        const auto& e = std::get<engine::Embeddings>(result);
        const nlohmann::json j = {{"model", o->model},
                                  {"pooling", pooling_name(e.pooling)},
                                  {"dimensions", e.vectors.at(0).size()},
                                  {"prompt_tokens", e.prompt_tokens},
                                  {"embeddings", e.vectors}};
        std::printf("%s\n", j.dump().c_str());
        return 0;
    };
}

} // namespace hearth::cli
