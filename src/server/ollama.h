// server/ollama.h: Ollama's REST API (/api/generate, /api/chat, /api/tags, /api/show, /api/ps, /api/pull,
// /api/delete, /api/copy, /api/create, /api/version) on top of the Engine and the model store, so the
// official `ollama` clients work unchanged. Streaming answers are NDJSON (one JSON object per line).
#pragma once

#include "server/api.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

namespace hearth::server {

std::vector<Route> ollama_routes(ApiContext& ctx);

// Applies Ollama option names (a Modelfile's PARAMETERs or a request's `options`) to a request, checked
// against store::kParameterKeys: num_ctx, num_predict, temperature, top_k, top_p, min_p, repeat_penalty,
// repeat_last_n, seed, stop, presence_penalty, frequency_penalty. Unknown options are ignored (as Ollama
// does). Errors name the option ("options.top_p ...").
std::optional<ApiError> apply_ollama_options(const nlohmann::json& options, engine::Request& req,
                                             const std::string& prefix = "options.");

// The model's stored PARAMETERs as defaults for a request (nothing when the name is not in the store).
void apply_model_defaults(const ApiContext& ctx, engine::Request& req);

// Ollama's keep_alive: a number of seconds or a Go duration string ("5m", "1h30m", "0", "-1"); negative
// means "keep loaded" (a very long time). Returns seconds.
std::optional<double> parse_keep_alive(const nlohmann::json& value, std::string* error = nullptr);

} // namespace hearth::server
