#include "cli/cli_engine.h"

#include "cli/commands.h"

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

engine::ModelSpec model_spec(const store::ModelSource& src) {
    engine::ModelSpec spec;
    spec.name = src.display;
    spec.path = src.path;
    if (src.stored) {
        const store::ResolvedModel& m = *src.stored;
        spec.template_text = m.template_text;
        spec.system = m.system;
        spec.params_json = m.params.dump();
        for (const auto& msg : m.messages)
            if (msg.is_object())
                spec.messages.push_back({msg.value("role", std::string()), msg.value("content", std::string())});
    }
    return spec;
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

std::string failure_text(const Status& f, const EngineLog& log) {
    const std::string full = log.last();
    return full.empty() ? f.message() : full; // the engine logs only load errors
}

void add_device_options(CLI::App* cmd, std::string* device, int32_t* gpu_layers) {
    cmd->add_option("--device", *device, "what computes: cpu, cuda or cuda:N (default: $HEARTH_DEVICE, else cpu)");
    cmd->add_option("--gpu-layers,--ngl", *gpu_layers,
                    "with a GPU device: the last N layers on it, the rest on the CPU (default: $HEARTH_GPU_LAYERS, "
                    "else all)")
        ->check(CLI::Range(-1, 100000));
}

} // namespace hearth::cli
