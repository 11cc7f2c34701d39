#include "cli/run_params.h"

#include "store/modelfile.h"

#include <sstream>

namespace hearth::cli {
Status set_parameter(RunParams& p, const std::string& name, const std::string& value) {
    // One table of names, types and ranges for Modelfiles and for run (store/modelfile.h).
    const store::ParameterKey* key = store::find_parameter_key(name);
    if (!key) {
        std::string known;
        for (const auto& k : store::kParameterKeys)
            known += (known.empty() ? "" : ", ") + std::string(k.name);
        return error("unknown parameter '" + name + "' (known: " + known + ")");
    }
    auto v = store::parse_parameter(*key, value);
    if (!v) return error("parameter '" + name + "': " + v.message());
    SamplingParams& s = p.sampling;
    if (name == "stop") {
        p.stop.push_back(v->get<std::string>());
        return Status::ok();
    }
    const double d = v->get<double>();
    const auto i = v->is_number_integer() ? v->get<int64_t>() : int64_t(d);
    if (name == "temperature")
        s.temperature = float(d);
    else if (name == "top_k")
        s.top_k = int32_t(i);
    else if (name == "top_p")
        s.top_p = float(d);
    else if (name == "min_p")
        s.min_p = float(d);
    else if (name == "repeat_penalty")
        s.repeat_penalty = float(d);
    else if (name == "repeat_last_n")
        s.penalty_last_n = i < 0 ? kMaxPenaltyLastN : int32_t(i); // -1: all
    else if (name == "presence_penalty")
        s.presence_penalty = float(d);
    else if (name == "frequency_penalty")
        s.frequency_penalty = float(d);
    else if (name == "num_ctx")
        p.num_ctx = int32_t(i);
    else if (name == "num_predict")
        p.num_predict = i < 0 ? -1 : int32_t(i); // -1, -2: until the turn ends
    else if (name == "num_thread")
        p.num_thread = int(i);
    else if (name == "seed") {
        p.seed_set = i >= 0; // Ollama: a negative seed means a random one
        if (i >= 0) s.seed = uint64_t(i);
    }
    return Status::ok();
}

Status apply_parameters(RunParams& p, const nlohmann::json& params) {
    if (!params.is_object()) return error("model parameters are not a JSON object");
    for (const auto& [k, v] : params.items()) {
        if (k == "stop") {
            const auto list = v.is_array() ? v : nlohmann::json::array({v});
            for (const auto& s : list) {
                if (!s.is_string()) return error("parameter 'stop' must be strings");
                HEARTH_TRY(set_parameter(p, k, s.get<std::string>()));
            }
            continue;
        }
        std::string text;
        if (v.is_number_integer())
            text = std::to_string(v.get<int64_t>());
        else if (v.is_number()) {
            std::ostringstream o;
            o.precision(17);
            o << v.get<double>();
            text = o.str();
        } else if (v.is_string())
            text = v.get<std::string>();
        else
            return error("parameter '" + k + "' has a value of the wrong type");
        HEARTH_TRY(set_parameter(p, k, text));
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
