// engine/model_entry.cpp: loading a model for LocalEngine, rendering a request's prompt, the session pool.
#include "engine/model_entry.h"

#include "gguf/gguf.h"
#include "runtime/chat.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

namespace hearth::engine {

std::unique_ptr<ModelEntry> ModelEntry::load(const std::string& path, int n_threads, Failure& why) {
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        why = Failure{ErrorKind::NotFound, "model file '" + path + "' not found", "model"};
        return nullptr;
    }
    auto internal = [&](const std::string& msg) {
        why = Failure{ErrorKind::Internal, "loading '" + path + "': " + msg, ""};
        return nullptr;
    };
    auto engine = hearth::Engine::load(path, EngineOptions{n_threads});
    if (!engine) return internal(engine.message());
    auto file = gguf::File::open(path);
    if (!file) return internal(file.message());
    auto tok = load_tokenizer(*file);
    if (!tok) return internal(tok.message());
    auto m = std::make_unique<ModelEntry>();
    if (file->find("tokenizer.chat_template")) {
        auto t = file->get_string("tokenizer.chat_template");
        if (!t) return internal(t.message());
        m->model_template = *t;
    }
    m->path = path;
    m->engine = std::move(*engine);
    m->tok = std::move(*tok);
    m->weight_bytes = m->engine->info().weight_bytes;
    m->logits.resize(size_t(m->engine->info().n_vocab));
    m->last_used = Clock::now();
    return m;
}

std::optional<std::vector<int32_t>> ModelEntry::prompt_tokens(const Job& job, Failure& why) const {
    const Request& r = job.req;
    const std::string field = r.prompt ? "prompt" : "messages";
    auto bad = [&](const std::string& msg) {
        why = Failure{ErrorKind::BadRequest, msg, field};
        return std::nullopt;
    };
    std::vector<int32_t> toks;
    if (r.prompt && r.raw) {
        toks = tokenize(tok, *r.prompt, /*add_special=*/true, /*parse_special=*/true);
    } else {
        const ChatFormat fmt = chat_format_for(tok, model_template, job.spec.template_text, "Modelfile TEMPLATE");
        std::vector<ChatMessage> msgs;
        if (r.prompt) {
            msgs.push_back({"user", *r.prompt});
        } else {
            for (const auto& m : job.spec.messages) // the model's MESSAGE history comes first
                msgs.push_back({m.role, m.content});
            for (const auto& m : r.messages)
                msgs.push_back({m.role, m.content});
        }
        // The system prompt: the request's, else the model's SYSTEM, unless the messages bring their own.
        const std::optional<std::string>& system = r.system ? r.system : job.spec.system;
        const bool has_system =
            std::any_of(msgs.begin(), msgs.end(), [](const ChatMessage& m) { return m.role == "system"; });
        if (system && !system->empty() && !has_system) msgs.insert(msgs.begin(), ChatMessage{"system", *system});
        auto text = render_chat(fmt, msgs, r.add_generation_prompt);
        if (!text) return bad(text.message());
        const bool starts_with_bos = !fmt.bos_token.empty() && text->starts_with(fmt.bos_token);
        toks = tokenize(tok, *text, /*add_special=*/false, /*parse_special=*/true);
        if (fmt.add_bos && !starts_with_bos) toks.insert(toks.begin(), tok.bos);
    }
    if (toks.empty()) return bad("the prompt is empty");
    return toks;
}

std::unique_ptr<PooledSession> ModelEntry::take_session(int32_t n_ctx, const std::vector<int32_t>& prompt) {
    size_t best = idle.size(), best_len = 0;
    for (size_t i = 0; i < idle.size(); ++i) {
        if (idle[i]->session->n_ctx() != n_ctx) continue;
        size_t n = 0;
        while (n < idle[i]->cached.size() && n < prompt.size() && idle[i]->cached[n] == prompt[n])
            ++n;
        if (best == idle.size() || n > best_len) {
            best = i;
            best_len = n;
        }
    }
    if (best == idle.size()) return nullptr;
    auto ps = std::move(idle[best]);
    idle.erase(idle.begin() + long(best));
    return ps;
}

void ModelEntry::drop_lru_idle() {
    if (idle.empty()) return;
    auto lru = std::min_element(idle.begin(), idle.end(),
                                [](const auto& a, const auto& b) { return a->last_used < b->last_used; });
    idle.erase(lru);
}

uint64_t ModelEntry::bytes() const {
    uint64_t n = weight_bytes + engine->batch_scratch_bytes();
    for (const auto& s : idle)
        n += s->bytes;
    for (const auto& s : active)
        if (s->ps) n += s->ps->bytes;
    return n;
}

Clock::time_point ModelEntry::expires_at() const {
    if (!std::isfinite(keep_alive_s) || keep_alive_s < 0) return Clock::time_point::max();
    const double capped = std::min(keep_alive_s, 1e9); // no overflow of the clock
    return last_used + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(capped));
}

} // namespace hearth::engine
