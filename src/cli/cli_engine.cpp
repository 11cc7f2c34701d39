#include "cli/cli_engine.h"

#include <limits>

namespace hearth::cli {

void EngineLog::add(const std::string& msg) {
    std::lock_guard lk(mu_);
    last_ = msg;
}

std::string EngineLog::last() const {
    std::lock_guard lk(mu_);
    return last_;
}

engine::LocalEngineOptions cli_engine_options(int n_threads, std::shared_ptr<EngineLog> log) {
    engine::LocalEngineOptions o;
    o.n_threads = n_threads;
    o.max_active = 1;
    o.max_queue = 4;
    o.default_keep_alive_s = std::numeric_limits<double>::infinity();
    o.drain_timeout_s = 5;
    o.log = [log](const std::string& msg) { log->add(msg); };
    return o;
}

engine::Resolver resolver_for(engine::ModelSpec spec) {
    return [spec = std::move(spec)](const std::string&) -> Result<engine::ModelSpec> { return spec; };
}

std::string failure_text(const engine::Failure& f, const EngineLog& log) {
    const std::string full = log.last();
    return full.empty() ? f.message : full; // the engine logs only load errors
}

} // namespace hearth::cli
