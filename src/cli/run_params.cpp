#include "cli/run_params.h"

#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <sstream>

namespace hearth::cli {
namespace {

Result<double> to_number(const std::string& name, const std::string& v) {
    errno = 0;
    char* end = nullptr;
    const double d = std::strtod(v.c_str(), &end);
    if (v.empty() || *end != '\0' || errno != 0 || !std::isfinite(d))
        return error("parameter '" + name + "': '" + v + "' is not a number");
    return d;
}

Result<int64_t> to_int(const std::string& name, const std::string& v, int64_t lo, int64_t hi) {
    errno = 0;
    char* end = nullptr;
    const long long x = std::strtoll(v.c_str(), &end, 10);
    if (v.empty() || *end != '\0' || errno != 0)
        return error("parameter '" + name + "': '" + v + "' is not an integer");
    if (x < lo || x > hi)
        return error("parameter '" + name + "': " + v + " is outside [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
    return int64_t(x);
}

Result<float> to_float(const std::string& name, const std::string& v, double lo, double hi) {
    auto d = to_number(name, v);
    if (!d) return d.status();
    if (*d < lo || *d > hi)
        return error("parameter '" + name + "': " + v + " is outside [" + std::to_string(lo) + ", " +
                     std::to_string(hi) + "]");
    return float(*d);
}

} // namespace

Status set_parameter(RunParams& p, const std::string& name, const std::string& value) {
    auto set_f = [&](float& dst, double lo, double hi) -> Status {
        auto v = to_float(name, value, lo, hi);
        if (!v) return v.status();
        dst = *v;
        return Status::ok();
    };
    auto set_i = [&](auto& dst, int64_t lo, int64_t hi) -> Status {
        auto v = to_int(name, value, lo, hi);
        if (!v) return v.status();
        dst = static_cast<std::remove_reference_t<decltype(dst)>>(*v);
        return Status::ok();
    };
    SamplingParams& s = p.sampling;
    if (name == "temperature") return set_f(s.temperature, 0, kMaxTemperature);
    if (name == "top_k") return set_i(s.top_k, 0, 1 << 30);
    if (name == "top_p") return set_f(s.top_p, 1e-6, 1);
    if (name == "min_p") return set_f(s.min_p, 0, 1);
    if (name == "repeat_penalty") return set_f(s.repeat_penalty, 1e-6, kMaxRepeatPenalty);
    if (name == "repeat_last_n") return set_i(s.penalty_last_n, 0, kMaxPenaltyLastN);
    if (name == "presence_penalty") return set_f(s.presence_penalty, -kMaxPresenceFrequency, kMaxPresenceFrequency);
    if (name == "frequency_penalty") return set_f(s.frequency_penalty, -kMaxPresenceFrequency, kMaxPresenceFrequency);
    if (name == "num_ctx") return set_i(p.num_ctx, 0, 1 << 24);
    if (name == "num_predict") return set_i(p.num_predict, -1, 1 << 24);
    if (name == "num_thread") return set_i(p.num_thread, 0, 1024);
    if (name == "seed") {
        auto v = to_int(name, value, 0, INT64_MAX);
        if (!v) return v.status();
        s.seed = uint64_t(*v);
        p.seed_set = true;
        return Status::ok();
    }
    if (name == "stop") {
        if (value.empty()) return error("parameter 'stop': empty stop string");
        p.stop.push_back(value);
        return Status::ok();
    }
    return error("unknown parameter '" + name +
                 "' (known: temperature, top_k, top_p, min_p, repeat_penalty, repeat_last_n, presence_penalty, "
                 "frequency_penalty, seed, stop, num_ctx, num_predict, num_thread)");
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
            o.precision(9);
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
