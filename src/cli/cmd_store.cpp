// cli/cmd_store.cpp: the model store's commands: list, show, rm, cp, import, create, doctor. Every command
// opens the store at $HEARTH_HOME (default ~/.local/share/hearth, or ~/.hearth if it exists).
#include "cli/commands.h"
#include "cli/inspect.h"
#include "store/human.h"
#include "store/modelfile.h"
#include "store/store.h"
#include "template/conversation.h"

#include <chrono>
#include <cstdio>
#include <ctime>
#include <memory>

namespace hearth::cli {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

int fail(const std::string& msg) {
    std::fprintf(stderr, "hearth: error: %s\n", msg.c_str());
    return 1;
}

void out(const std::string& s) {
    std::fwrite(s.data(), 1, s.size(), stdout);
}

void print_json(const json& j) {
    out(j.dump(2, ' ', false, json::error_handler_t::replace) + "\n");
}

std::string pad(std::string s, size_t width) {
    if (s.size() < width) s.append(width - s.size(), ' ');
    return s;
}

// The model name argument: parse errors are usage errors (exit 2).
struct NameArg {
    std::optional<store::ModelName> name;
    int rc = 0;
};
NameArg parse_arg(const std::string& text) {
    auto n = store::parse_name(text);
    if (!n) {
        std::fprintf(stderr, "hearth: error: %s\n", n.message().c_str());
        return {std::nullopt, 2};
    }
    return {*n, 0};
}

int64_t seconds_ago(fs::file_time_type t) {
    const auto sys = std::chrono::file_clock::to_sys(t);
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now() - sys).count();
}

std::string rfc3339(fs::file_time_type t) {
    const std::time_t tt = std::chrono::system_clock::to_time_t(
        std::chrono::time_point_cast<std::chrono::system_clock::duration>(std::chrono::file_clock::to_sys(t)));
    std::tm tm{};
    gmtime_r(&tt, &tm);
    char buf[64];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

int run_list(bool as_json) {
    auto st = store::open_store();
    if (!st) return fail(st.message());
    std::vector<std::string> warnings;
    auto models = store::list_models(*st, warnings);
    if (!models) return fail(models.message());
    for (const auto& w : warnings)
        std::fprintf(stderr, "hearth: warning: %s\n", w.c_str());
    const auto broken = std::count_if(models->begin(), models->end(), [](const auto& m) { return !m.problem.empty(); });
    if (broken)
        std::fprintf(stderr, "hearth: warning: %zu model%s broken (marked); `hearth doctor` says what is wrong\n",
                     static_cast<size_t>(broken), broken == 1 ? " is" : "s are");
    if (as_json) {
        json arr = json::array();
        for (const auto& m : *models) {
            json e = {{"name", m.name.display()},
                      {"digest", m.model_digest},
                      {"id", m.model_digest.substr(7, 12)},
                      {"size", m.size},
                      {"quant", m.quant},
                      {"modified_at", rfc3339(m.modified)},
                      {"broken", !m.problem.empty()}};
            if (!m.problem.empty()) e["problem"] = m.problem;
            arr.push_back(e);
        }
        print_json({{"models", arr}});
        return 0;
    }
    // A broken model keeps its row (so it can be found and removed), with "(broken)" at the end.
    std::vector<std::array<std::string, 5>> rows = {{"NAME", "ID", "SIZE", "QUANT", "MODIFIED"}};
    for (const auto& m : *models)
        rows.push_back({m.name.display(), m.model_digest.substr(7, 12), store::human_size(m.size), m.quant,
                        store::human_ago(seconds_ago(m.modified)) + (m.problem.empty() ? "" : "    (broken)")});
    std::array<size_t, 5> width{};
    for (const auto& r : rows)
        for (size_t i = 0; i < r.size(); ++i)
            width[i] = std::max(width[i], r[i].size());
    for (const auto& r : rows) {
        std::string line;
        for (size_t i = 0; i + 1 < r.size(); ++i)
            line += pad(r[i], width[i] + 4);
        out(line + r.back() + "\n");
    }
    return 0;
}

std::string param_text(const json& v) {
    return v.is_string() ? json(v.get<std::string>()).dump(-1, ' ', false, json::error_handler_t::replace) : v.dump();
}

std::string parameters_text(const json& params, const std::string& indent) {
    size_t w = 0;
    for (const auto& [k, v] : params.items())
        w = std::max(w, k.size());
    std::string s;
    for (const auto& [k, v] : params.items()) {
        if (v.is_array())
            for (const auto& item : v)
                s += indent + pad(k, w + 4) + param_text(item) + "\n";
        else
            s += indent + pad(k, w + 4) + param_text(v) + "\n";
    }
    return s;
}

std::string indent_text(const std::string& text, size_t max_lines) {
    std::string s;
    size_t start = 0, lines = 0;
    while (start <= text.size() && lines < max_lines) {
        const size_t nl = text.find('\n', start);
        s += "    " + text.substr(start, nl == std::string::npos ? std::string::npos : nl - start) + "\n";
        ++lines;
        if (nl == std::string::npos) return s;
        start = nl + 1;
    }
    if (start < text.size()) s += "    ...\n";
    return s;
}

struct ShowOpts {
    std::string model;
    bool tmpl = false, system = false, parameters = false, license = false, modelfile = false, json = false;
};

int run_show(const ShowOpts& o) {
    auto arg = parse_arg(o.model);
    if (!arg.name) return arg.rc;
    auto st = store::open_store();
    if (!st) return fail(st.message());
    auto r = store::resolve(*st, *arg.name);
    if (!r) return fail(r.message());
    auto file = gguf::File::open(r->model_path.string());
    if (!file) return fail("model '" + r->name.display() + "': " + file.message());
    auto rep = inspect(*file, r->model_path.string());
    if (!rep) return fail("model '" + r->name.display() + "': " + rep.message());
    std::optional<std::string> builtin_template;
    if (auto t = file->get_string("tokenizer.chat_template")) builtin_template = *t;
    const std::optional<std::string> tmpl = r->template_text ? r->template_text : builtin_template;

    if (o.tmpl) {
        if (tmpl) out(*tmpl + (tmpl->ends_with("\n") ? "" : "\n"));
        return 0;
    }
    if (o.system) {
        if (r->system) out(*r->system + "\n");
        return 0;
    }
    if (o.license) {
        if (r->license) out(*r->license + "\n");
        return 0;
    }
    if (o.parameters) {
        out(parameters_text(r->params, ""));
        return 0;
    }
    if (o.modelfile) {
        out(store::format_modelfile(*r));
        return 0;
    }
    const std::string quant = rep->file_type.value_or(r->manifest.config.value("file_type", std::string()));
    if (o.json) {
        json mix = json::array();
        for (const auto& q : rep->quant_mix)
            mix.push_back({{"type", q.type}, {"tensors", q.n_tensors}, {"bytes", q.n_bytes}});
        json j = {{"name", r->name.display()},
                  {"digest", r->model_digest},
                  {"path", r->model_path.string()},
                  {"architecture", rep->architecture},
                  {"parameters", rep->n_params},
                  {"quantization", quant},
                  {"quant_mix", mix},
                  {"context_length", rep->context_length ? json(*rep->context_length) : json(nullptr)},
                  {"embedding_length", rep->embedding_length ? json(*rep->embedding_length) : json(nullptr)},
                  {"template", tmpl ? json(*tmpl) : json(nullptr)},
                  {"template_source", r->template_text   ? "modelfile"
                                      : builtin_template ? "gguf"
                                                         : "none"},
                  {"system", r->system ? json(*r->system) : json(nullptr)},
                  {"license", r->license ? json(*r->license) : json(nullptr)},
                  {"params", r->params},
                  {"messages", r->messages},
                  {"config", r->manifest.config}};
        print_json(j);
        return 0;
    }
    std::string s = "  Model\n";
    auto row = [&](const std::string& k, const std::string& v) { s += "    " + pad(k, 20) + v + "\n"; };
    row("architecture", rep->architecture.empty() ? "unknown" : rep->architecture);
    row("parameters", store::human_count(rep->n_params));
    row("quantization", quant.empty() ? "unknown" : quant);
    std::string mix;
    for (const auto& q : rep->quant_mix) {
        char buf[64];
        std::snprintf(
            buf, sizeof buf, "%s%s %.1f%%", mix.empty() ? "" : ", ", q.type.c_str(),
            rep->tensor_bytes ? 100.0 * static_cast<double>(q.n_bytes) / static_cast<double>(rep->tensor_bytes) : 0.0);
        mix += buf;
    }
    row("quant mix", mix.empty() ? "none" : mix + " (of weight bytes)");
    if (rep->context_length) row("context length", std::to_string(*rep->context_length));
    if (rep->embedding_length) row("embedding length", std::to_string(*rep->embedding_length));
    row("digest", r->model_digest);
    s += "\n  Template\n";
    if (r->template_text)
        s += indent_text(*r->template_text, 8);
    else if (builtin_template)
        s += "    (the model's built-in chat template, " + std::to_string(builtin_template->size()) +
             " bytes: hearth show --template)\n";
    else
        s += "    none\n";
    if (!r->params.empty()) s += "\n  Parameters\n" + parameters_text(r->params, "    ");
    s += "\n  System\n" + (r->system ? indent_text(*r->system, 8) : "    none\n");
    if (!r->messages.empty()) {
        s += "\n  Messages\n";
        for (const auto& m : r->messages)
            s += "    " + pad(m.value("role", std::string()), 12) +
                 indent_text(m.value("content", std::string()), 1).substr(4);
    }
    s += "\n  License\n" + (r->license ? indent_text(*r->license, 4) : "    none\n");
    out(s + "\n");
    return 0;
}

int run_rm(const std::vector<std::string>& names) {
    auto st = store::open_store();
    if (!st) return fail(st.message());
    int rc = 0;
    for (const auto& text : names) {
        auto arg = parse_arg(text);
        if (!arg.name) {
            rc = std::max(rc, 1);
            continue;
        }
        if (Status s = store::remove_model(*st, *arg.name); !s) {
            fail(s.message());
            rc = 1;
            continue;
        }
        out("deleted '" + arg.name->display() + "'\n");
    }
    return rc;
}

int run_cp(const std::string& from, const std::string& to) {
    auto a = parse_arg(from);
    if (!a.name) return a.rc;
    auto b = parse_arg(to);
    if (!b.name) return b.rc;
    auto st = store::open_store();
    if (!st) return fail(st.message());
    if (Status s = store::copy_model(*st, *a.name, *b.name); !s) return fail(s.message());
    out("copied '" + a.name->display() + "' to '" + b.name->display() + "'\n");
    return 0;
}

int run_import(const std::string& file, const std::string& name_text, bool copy) {
    std::string text = name_text;
    if (text.empty()) text = store::sanitize_model_part(fs::path(file).stem().string());
    auto arg = parse_arg(text);
    if (!arg.name) return arg.rc;
    std::error_code ec;
    if (!fs::exists(file, ec)) return fail("cannot import " + file + ": no such file");
    auto st = store::open_store();
    if (!st) return fail(st.message());
    auto m = store::import_gguf(*st, file, *arg.name, !copy);
    if (!m) return fail(m.message());
    out(arg.name->display() + "\n");
    return 0;
}

int run_create(const std::string& name_text, const std::string& modelfile) {
    auto arg = parse_arg(name_text);
    if (!arg.name) return arg.rc;
    auto mf = store::read_modelfile(modelfile);
    if (!mf) return fail(mf.message());
    for (const auto& w : mf->warnings)
        std::fprintf(stderr, "hearth: warning: %s\n", w.c_str());
    auto st = store::open_store();
    if (!st) return fail(st.message());
    fs::path base = fs::path(modelfile).parent_path();
    if (base.empty()) base = ".";
    if (auto t = store::created_template(*st, *mf, base))
        if (Status s = validate_chat_template(t->text, t->from_gguf); !s) return fail(s.message());
    auto m = store::create_model(*st, *arg.name, *mf, base);
    if (!m) return fail(m.message());
    out("created '" + arg.name->display() + "'\n");
    return 0;
}

// Checks every model against its blobs; exit 1 when any is broken, saying which and how to fix it.
int run_doctor(bool hash) {
    auto st = store::open_store();
    if (!st) return fail(st.message());
    auto checks = store::check_store(*st, hash);
    if (!checks) return fail(checks.message());
    size_t broken = 0;
    for (const auto& c : *checks) {
        if (c.problems.empty()) continue;
        ++broken;
        if (c.name.model.empty()) {
            // Not a manifest of a valid name (a stray file, a symlink): `hearth rm` cannot name it.
            out("broken: " + c.problems[0] + "\n  fix: remove it by hand\n");
            continue;
        }
        out("broken: " + c.name.display() + "\n");
        for (const auto& p : c.problems)
            out("  " + p + "\n");
        out("  fix: hearth rm " + c.name.display() + ", then pull, import or create it again\n");
    }
    const size_t n = checks->size();
    out(std::to_string(n) + " manifest" + (n == 1 ? "" : "s") + " checked" +
        (hash ? " (sizes and sha256)" : " (sizes)") + ": " +
        (broken ? std::to_string(broken) + " broken" : std::string("all whole")) + "\n");
    return broken ? 1 : 0;
}

} // namespace

Runner add_doctor_command(CLI::App& app) {
    auto hash = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("doctor", "Check every model in the store against its files");
    cmd->add_flag("--hash", *hash, "also check each file's sha256 (reads every byte: slow for large models)");
    return [cmd, hash]() -> int { return cmd->parsed() ? run_doctor(*hash) : -1; };
}

Runner add_list_command(CLI::App& app) {
    auto as_json = std::make_shared<bool>(false);
    CLI::App* cmd = app.add_subcommand("list", "List the models in the store");
    cmd->alias("ls");
    cmd->add_flag("--json", *as_json, "machine-readable JSON output");
    return [cmd, as_json]() -> int { return cmd->parsed() ? run_list(*as_json) : -1; };
}

Runner add_show_command(CLI::App& app) {
    auto o = std::make_shared<ShowOpts>();
    CLI::App* cmd = app.add_subcommand("show", "Describe a model in the store");
    cmd->add_option("model", o->model, "model name (e.g. smollm2:latest)")->required();
    auto* t = cmd->add_flag("--template", o->tmpl, "print the chat template (the Modelfile's, else the GGUF's)");
    auto* s = cmd->add_flag("--system", o->system, "print the system prompt");
    auto* p = cmd->add_flag("--parameters", o->parameters, "print the parameters");
    auto* l = cmd->add_flag("--license", o->license, "print the license");
    auto* m = cmd->add_flag("--modelfile", o->modelfile, "print an equivalent Modelfile");
    auto* j = cmd->add_flag("--json", o->json, "machine-readable JSON output");
    for (auto* a : {t, s, p, l, m, j})
        for (auto* b : {t, s, p, l, m, j})
            if (a != b) a->excludes(b);
    return [cmd, o]() -> int { return cmd->parsed() ? run_show(*o) : -1; };
}

Runner add_rm_command(CLI::App& app) {
    auto names = std::make_shared<std::vector<std::string>>();
    CLI::App* cmd = app.add_subcommand("rm", "Remove models (and the files no other model uses)");
    cmd->add_option("models", *names, "model names")->required();
    return [cmd, names]() -> int { return cmd->parsed() ? run_rm(*names) : -1; };
}

Runner add_cp_command(CLI::App& app) {
    auto from = std::make_shared<std::string>();
    auto to = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("cp", "Copy a model to a new name (no data is copied)");
    cmd->add_option("source", *from, "existing model")->required();
    cmd->add_option("destination", *to, "new name")->required();
    return [cmd, from, to]() -> int { return cmd->parsed() ? run_cp(*from, *to) : -1; };
}

Runner add_import_command(CLI::App& app) {
    struct Opts {
        std::string file, name;
        bool copy = false;
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("import", "Add a GGUF file to the store (hard-linked when possible)");
    cmd->add_option("file", o->file, "path to a .gguf file")->required();
    cmd->add_option("name", o->name, "model name (default: from the file name)");
    cmd->add_flag("--copy", o->copy, "copy the file instead of hard-linking it");
    return [cmd, o]() -> int { return cmd->parsed() ? run_import(o->file, o->name, o->copy) : -1; };
}

Runner add_create_command(CLI::App& app) {
    struct Opts {
        std::string name, file = "Modelfile";
    };
    auto o = std::make_shared<Opts>();
    CLI::App* cmd = app.add_subcommand("create", "Create a model from a Modelfile (Ollama syntax)");
    cmd->add_option("name", o->name, "name of the new model")->required();
    cmd->add_option("-f,--file", o->file, "path to the Modelfile (default: ./Modelfile)");
    return [cmd, o]() -> int { return cmd->parsed() ? run_create(o->name, o->file) : -1; };
}

} // namespace hearth::cli
