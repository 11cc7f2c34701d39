// server/embeddings.h (internal to hearth_server): request parsing and response shapes of the embedding routes,
// shared by openai.cpp (/v1/embeddings) and ollama.cpp (/api/embed, /api/embeddings), which register them and
// write errors in their own API's shape. The fields each route accepts are listed in embeddings.cpp; any other
// field is a 400 naming it.
#pragma once

#include "server/api.h"

#include <nlohmann/json.hpp>
#include <optional>
#include <variant>

namespace hearth::server {

// Engine::embed with the failure as an ApiError (status from failure_status, field named).
std::variant<engine::Embeddings, ApiError> run_embed(ApiContext& ctx, const engine::EmbedRequest& req);

// OpenAI /v1/embeddings.
std::optional<ApiError> parse_openai_embeddings(const nlohmann::json& body, engine::EmbedRequest& req, bool& base64);
nlohmann::json openai_embeddings_json(const std::string& model, const engine::Embeddings& e, bool base64);

// Ollama /api/embed and the legacy /api/embeddings ({"embedding": [...]}, not normalized).
std::optional<ApiError> parse_ollama_embed(const nlohmann::json& body, engine::EmbedRequest& req);
nlohmann::json ollama_embed_json(const std::string& model, const engine::Embeddings& e);
std::optional<ApiError> parse_ollama_legacy(const nlohmann::json& body, engine::EmbedRequest& req);

} // namespace hearth::server
