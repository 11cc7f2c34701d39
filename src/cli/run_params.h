// cli/run_params.h: the parameters of `hearth run`, from three places in order of precedence: the model's
// PARAMETER lines (store), command-line flags, and `/set parameter NAME VALUE` in the chat. The names are
// Ollama's (temperature, top_k, num_ctx, stop, ...), so Modelfiles and habits carry over.
#pragma once

#include "base/status.h"
#include "sampling/sampling.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hearth::cli {

struct RunParams {
    SamplingParams sampling;
    int32_t num_ctx = 0;      // 0 = the model's (at most 4096)
    int32_t num_predict = -1; // -1 = until the end of the turn
    int num_thread = 0;       // 0 = all cores
    std::vector<std::string> stop;
    bool seed_set = false; // a seed was given (else a random one is drawn per run)
};

// Sets one parameter from its text form; errors name the parameter and the accepted range.
Status set_parameter(RunParams& p, const std::string& name, const std::string& value);
// Applies a store manifest's params JSON ({"temperature": 0.2, "stop": ["a", "b"]}).
Status apply_parameters(RunParams& p, const nlohmann::json& params);
// One line per parameter, for /show parameters.
std::string describe_parameters(const RunParams& p);

} // namespace hearth::cli
