#include "cli/run_params.h"

#include "store/modelfile.h"

#include <sstream>

namespace hearth::cli {
namespace {

const store::ParameterKey* known_key(const std::string& name, Status& why) {
    // One table of names, types and ranges for Modelfiles and for run (store/modelfile.h).
    const store::ParameterKey* key = store::find_parameter_key(name);
    if (!key) {
        std::string known;
        for (const auto& k : store::kParameterKeys)
            known += (known.empty() ? "" : ", ") + std::string(k.name);
        why = error("unknown parameter '" + name + "' (known: " + known + ")");
    }
    return key;
}

// Sets one checked value (parse_parameter's result).
void set_value(RunParams& p, const std::string& name, const nlohmann::json& v) {
    if (name == "stop") {
        p.stop.push_back(v.get<std::string>());
        return;
    }
    const double d = v.get<double>();
    if (set_sampling_parameter(p.sampling, name, d)) return;
    const auto i = v.is_number_integer() ? v.get<int64_t>() : int64_t(d);
    if (name == "num_ctx")
        p.num_ctx = int32_t(i);
    else if (name == "num_predict")
        p.num_predict = i < 0 ? -1 : int32_t(i); // -1, -2: until the turn ends
    else if (name == "num_thread")
        p.num_thread = int(i);
    else if (name == "seed") {
        p.seed_set = i >= 0; // Ollama: a negative seed means a random one
        if (i >= 0) p.sampling.seed = uint64_t(i);
    }
}

} // namespace

Status set_parameter(RunParams& p, const std::string& name, const std::string& value) {
    Status why = Status::ok();
    const store::ParameterKey* key = known_key(name, why);
    if (!key) return why;
    auto v = store::parse_parameter(*key, value);
    if (!v) return error("parameter '" + name + "': " + v.message());
    set_value(p, name, *v);
    return Status::ok();
}

Status apply_parameters(RunParams& p, const nlohmann::json& params) {
    if (!params.is_object()) return error("model parameters are not a JSON object");
    for (const auto& [k, v] : params.items()) {
        Status why = Status::ok();
        const store::ParameterKey* key = known_key(k, why);
        if (!key) return why;
        if (k == "stop" && v.is_array()) {
            for (const auto& one : v) {
                if (!one.is_string()) return error("parameter 'stop' must be strings");
                set_value(p, k, one);
            }
            continue;
        }
        auto parsed = store::parse_parameter_json(*key, v);
        if (!parsed) return error("parameter '" + k + "': " + parsed.message());
        set_value(p, k, *parsed);
    }
    return Status::ok();
}

std::string describe_parameters(const RunParams& p) {
    std::ostringstream o;
    const SamplingParams& s = p.sampling;
    o << "temperature       " << s.temperature << "\n"
      << "top_k             " << s.top_k << "\n"
      << "top_p             " << s.top_p << "\n"
      << "min_p             " << s.min_p << "\n"
      << "repeat_penalty    " << s.repeat_penalty << "\n"
      << "repeat_last_n     " << s.penalty_last_n << "\n"
      << "presence_penalty  " << s.presence_penalty << "\n"
      << "frequency_penalty " << s.frequency_penalty << "\n"
      << "seed              " << (p.seed_set ? std::to_string(s.seed) : "random") << "\n"
      << "num_ctx           " << (p.num_ctx ? std::to_string(p.num_ctx) : "model default") << "\n"
      << "num_predict       " << p.num_predict << "\n";
    for (const auto& st : p.stop)
        o << "stop              " << nlohmann::json(st).dump() << "\n";
    return o.str();
}

} // namespace hearth::cli
