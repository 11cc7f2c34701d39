#include "store/resolve.h"

#include <cstdlib>
#include <filesystem>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;

// The models scripts/fetch-models puts in the cache, by the store names they get. A bare model name
// ("qwen2.5-coder") means the first entry with that name: the mission-size 1.5B before the 0.5B fixture.
constexpr BuiltinModel kBuiltins[] = {
    {"qwen2.5-coder:1.5b-q4_k_m", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
     "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", "qwen2.5-coder-1.5b"},
    {"smollm2:135m-q4_1", "SmolLM2-135M-Instruct.Q4_1.gguf",
     "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "smollm2-135m"},
    {"gemma3:270m-q4_k_m", "gemma-3-270m-q4_k_m.gguf",
     "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818", "gemma3-270m"},
    {"qwen2.5-coder:0.5b-q4_k_m", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
     "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", "qwen2.5-coder-0.5b"},
};

std::string models_cache() {
    if (const char* env = std::getenv("HEARTH_MODELS"); env && *env) return env;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hearth/models";
}

bool looks_like_path(const std::string& arg) {
    return arg.ends_with(".gguf") || arg.starts_with("/") || arg.starts_with("./") || arg.starts_with("../") ||
           arg.starts_with("~/");
}

Result<ModelSource> from_store(const Store& st, const ModelName& name) {
    auto r = resolve(st, name);
    if (!r) return r.status();
    ModelSource src;
    src.path = r->model_path.string();
    src.display = name.display();
    src.stored = std::move(*r);
    return src;
}

} // namespace

std::optional<BuiltinModel> builtin_model(const ModelName& name) {
    if (name.host != "local" || name.ns != "library") return std::nullopt;
    for (const auto& b : kBuiltins) {
        const std::string full = b.name;
        const std::string model = full.substr(0, full.find(':'));
        const std::string tag = full.substr(full.find(':') + 1);
        // "smollm2", "smollm2:latest", "smollm2:135m" and "smollm2:135m-q4_1" all name the first build.
        if (name.model == model && (name.tag == "latest" || name.tag == tag || tag.starts_with(name.tag + "-")))
            return b;
    }
    return std::nullopt;
}

Result<ModelSource> find_model(const std::string& arg, const FindOptions& opts) {
    if (arg.empty()) return error("no model given");
    if (looks_like_path(arg) || (arg.find('/') != std::string::npos && fs::is_regular_file(arg))) {
        std::string path = arg;
        if (path.starts_with("~/"))
            if (const char* home = std::getenv("HOME")) path = std::string(home) + path.substr(1);
        std::error_code ec;
        if (!fs::is_regular_file(path, ec)) return error("model file '" + arg + "' does not exist");
        return ModelSource{path, fs::path(path).filename().string(), std::nullopt};
    }
    auto st = open_store();
    if (!st) return st.status();

    const bool is_url = arg.starts_with("https://") || arg.starts_with("http://");
    if (!is_url) {
        auto name = parse_name(arg);
        if (name) {
            auto stored = from_store(*st, *name);
            if (stored) return stored;
            // A model that is there but broken says why, rather than "not in the store".
            if (stored.code() != Code::NotFound) return stored.status();
            if (auto b = builtin_model(*name)) {
                // First use of a built-in model: import it from the fixture cache (hard link, verified).
                const std::string file = models_cache() + "/" + b->file;
                if (!fs::is_regular_file(file))
                    return error("model '" + arg + "' is not in the store and its file " + file +
                                 " is missing; run scripts/fetch-models --only " + b->fetch_name);
                if (opts.note) opts.note(std::string("importing ") + b->name + " from " + file);
                auto bname = parse_name(b->name);
                if (!bname) return bname.status();
                auto m = import_gguf(*st, file, *bname);
                if (!m) return m.status();
                auto src = from_store(*st, *bname);
                if (!src) return src;
                if (src->stored->model_digest != std::string("sha256:") + b->sha256) {
                    (void)remove_model(*st, *bname);
                    return error(file + " does not have the pinned sha256 " + b->sha256 +
                                 "; run scripts/fetch-models --only " + b->fetch_name + " again");
                }
                if (!(*name == *bname)) {
                    if (Status cs = copy_model(*st, *bname, *name); !cs) return cs;
                    return from_store(*st, *name);
                }
                return src;
            }
            const bool hub = name->host == "hf.co" || name->host == "huggingface.co" ||
                             (name->host == "local" && name->ns != "library");
            if (hub) {
                // "org/repo[:quant]" names what `hearth pull org/repo` stored as hf.co/org/repo:<quant>.
                ModelName hf = *name;
                hf.host = "hf.co";
                if (auto src = from_store(*st, hf)) return src;
                if (name->tag == "latest")
                    if (auto all = list_models(*st))
                        for (const auto& e : *all)
                            if (e.name.host == "hf.co" && e.name.ns == hf.ns && e.name.model == hf.model)
                                return from_store(*st, e.name);
            }
            if (!hub || !opts.allow_pull)
                return error("model '" + arg + "' is not in the store (" + st->root.string() +
                             "); `hearth list` shows what is there, `hearth pull ORG/REPO` gets a model from "
                             "Hugging Face");
        } else if (!opts.allow_pull || arg.find('/') == std::string::npos || !parse_pull_ref(arg)) {
            // Neither a valid store name nor a Hugging Face reference: say what is wrong with the name.
            return name.status();
        }
    }
    if (!opts.allow_pull) return error("model '" + arg + "' is not in the store");
    PullOptions po;
    if (opts.note) opts.note("pulling " + arg);
    po.on_progress = opts.on_progress;
    auto pulled = pull(*st, arg, po);
    if (!pulled) return pulled.status();
    return from_store(*st, *pulled);
}

} // namespace hearth::store
