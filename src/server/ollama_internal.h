// server/ollama_internal.h (internal to hearth_server): what the Ollama adapter's two files share.
// ollama.cpp: inference routes, options, keep_alive, the route table; ollama_store.cpp: the store's views
// (/api/tags, /api/show, /api/ps) and management routes (/api/delete, /api/copy, /api/pull, /api/create).
#pragma once

#include "server/ollama.h"
#include "store/store.h"

#include <chrono>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hearth::server::ollama_internal {

// Ollama's "keep forever": 100 years, finite so the engine can do arithmetic with it.
inline constexpr double kForeverS = 100.0 * 365 * 24 * 3600;

std::string rfc3339(std::chrono::system_clock::time_point t, bool nanos);
std::string now_rfc3339();
std::string file_time_rfc3339(std::filesystem::file_time_type t);

HttpResponse json_response(int status, const nlohmann::json& j);
HttpResponse error_response(int status, const std::string& message);
HttpResponse error_response(const ApiError& e);
HttpResponse failure_response(const Status& f);
std::string ndjson(const nlohmann::json& j); // one line

std::optional<ApiError> model_field(const nlohmann::json& body, std::string& out); // "model" (or "name")
std::optional<ApiError> store_name(const std::string& text, const std::string& field, store::ModelName& out);
bool is_not_found(Code c);
std::optional<ApiError> need_store(const ApiContext& ctx); // 503 without a store

HttpResponse handle_tags(const ApiContext& ctx);
HttpResponse handle_show(const ApiContext& ctx, const HttpRequest& http);
HttpResponse handle_ps(const ApiContext& ctx);
HttpResponse handle_delete(const ApiContext& ctx, const HttpRequest& http);
HttpResponse handle_copy(const ApiContext& ctx, const HttpRequest& http);
HttpResponse handle_pull(const ApiContext& ctx, const HttpRequest& http);
HttpResponse handle_create(const ApiContext& ctx, const HttpRequest& http);

} // namespace hearth::server::ollama_internal
