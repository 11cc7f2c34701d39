// engine/model_entry.cpp: loading a model for LocalEngine, the session pool.
#include "engine/model_entry.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <system_error>

namespace hearth::engine {

std::unique_ptr<ModelEntry> ModelEntry::load(const Job& job, const LocalEngineOptions& opts, Status& why,
                                             bool log_too_large) {
    const std::string& path = job.spec.path;
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec)) {
        why = load_failure(opts, Code::NotFound, job.req.model, path, "its file is missing");
        return nullptr;
    }
    const RuntimeOptions ro{opts.n_threads, true, opts.device, opts.gpu_layers};
    auto runtime = opts.make_backend ? hearth::Runtime::load_on(path, ro, opts.make_backend(path))
                                     : hearth::Runtime::load(path, ro);
    if (!runtime) {
        // TooLarge: its weights do not fit on the device (the scheduler may unload idle models there and retry).
        const Code code = runtime.status().code() == Code::TooLarge ? Code::TooLarge : Code::Internal;
        why = load_failure(opts, code, job.req.model, path, runtime.message(), code != Code::TooLarge || log_too_large);
        return nullptr;
    }
    auto m = std::make_unique<ModelEntry>();
    m->path = path;
    m->runtime = std::move(*runtime);
    m->text = job.text;
    m->device_weight_bytes = m->runtime->info().device_weight_bytes;
    m->weight_bytes = m->runtime->info().weight_bytes - m->device_weight_bytes;
    m->last_used = Clock::now();
    return m;
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

uint64_t ModelEntry::sessions_bytes(uint64_t PooledSession::*part) const {
    uint64_t n = 0;
    for (const auto& s : idle)
        n += (*s).*part;
    for (const auto& s : active)
        if (s->ps) n += (*s->ps).*part;
    return n;
}

uint64_t ModelEntry::bytes() const {
    return weight_bytes + runtime->scratch_bytes() + sessions_bytes(&PooledSession::bytes);
}

uint64_t ModelEntry::device_bytes() const {
    if (device_weight_bytes == 0) return 0;
    return device_weight_bytes + runtime->device_scratch_bytes() + sessions_bytes(&PooledSession::device_bytes);
}

Clock::time_point ModelEntry::expires_at() const {
    if (!std::isfinite(keep_alive_s) || keep_alive_s < 0) return Clock::time_point::max();
    const double capped = std::min(keep_alive_s, 1e9); // no overflow of the clock
    return last_used + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(capped));
}

} // namespace hearth::engine
