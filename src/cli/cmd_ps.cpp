// cli/cmd_ps.cpp: `hearth ps` (the models a running server has loaded) and `hearth stop MODEL` (unload one
// now), as `ollama ps` / `ollama stop`: they talk to the server named by HEARTH_HOST with HEARTH_API_KEY.
#include "cli/commands.h"
#include "cli/server_client.h"
#include "store/human.h"

#include <cctype>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

namespace hearth::cli {
namespace {

using json = nlohmann::json;

std::string key_from_env() {
    const char* k = std::getenv("HEARTH_API_KEY");
    return k ? k : "";
}

// Seconds from now until an RFC 3339 time ("2026-12-07T06:30:00.5Z", "...+01:00"); nullopt when unreadable.
std::optional<double> seconds_until(const std::string& t) {
    std::tm tm{};
    int frac_end = 0;
    if (std::sscanf(t.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                    &tm.tm_min, &tm.tm_sec, &frac_end) != 6)
        return std::nullopt;
    size_t i = static_cast<size_t>(frac_end);
    double frac = 0;
    if (i < t.size() && t[i] == '.') {
        size_t j = i + 1;
        while (j < t.size() && std::isdigit(static_cast<unsigned char>(t[j])))
            ++j;
        frac = std::atof(t.substr(i, j - i).c_str());
        i = j;
    }
    long offset = 0;
    if (i < t.size() && (t[i] == '+' || t[i] == '-')) {
        int oh = 0, om = 0;
        if (std::sscanf(t.c_str() + i + 1, "%2d:%2d", &oh, &om) != 2) return std::nullopt;
        offset = (t[i] == '+' ? 1 : -1) * (oh * 3600L + om * 60L);
    } else if (i >= t.size() || (t[i] != 'Z' && t[i] != 'z')) {
        return std::nullopt;
    }
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const double when = static_cast<double>(timegm(&tm) - offset) + frac;
    return when - static_cast<double>(std::time(nullptr));
}

std::string until_text(const std::string& expires_at) {
    const auto s = seconds_until(expires_at);
    if (!s) return expires_at;
    if (*s > 10.0 * 365 * 24 * 3600) return "Forever";
    if (*s < 1) return "Stopping...";
    auto unit = [](long n, const char* one) { return std::to_string(n) + " " + one + (n == 1 ? "" : "s"); };
    const long secs = static_cast<long>(*s);
    if (secs < 60) return unit(secs, "second") + " from now";
    if (secs < 3600) return unit(secs / 60, "minute") + " from now";
    if (secs < 48 * 3600) return unit(secs / 3600, "hour") + " from now";
    return unit(secs / 86400, "day") + " from now";
}

Result<json> loaded_models(const std::string& base, const std::string& key) {
    auto r = call_server(base, "GET", "/api/ps", "", key);
    if (!r) return r.status();
    if (r->status != 200) return error(base + "/api/ps: " + reply_error(*r));
    json j = json::parse(r->body, nullptr, false);
    if (!j.is_object() || !j.contains("models") || !j["models"].is_array())
        return error(base + "/api/ps: not the expected JSON");
    return j["models"];
}

int run_ps() {
    auto base = server_base_url(std::getenv("HEARTH_HOST"));
    if (!base) {
        std::fprintf(stderr, "hearth: error: %s\n", base.message().c_str());
        return 2;
    }
    auto models = loaded_models(*base, key_from_env());
    if (!models) {
        std::fprintf(stderr, "hearth: error: %s\n", models.message().c_str());
        return 1;
    }
    std::printf("%-40s %-14s %-10s %-10s %s\n", "NAME", "ID", "SIZE", "PROCESSOR", "UNTIL");
    for (const auto& m : *models) {
        const std::string name = m.value("name", "");
        const std::string digest = m.value("digest", "");
        const uint64_t size = m.value("size", uint64_t{0});
        const uint64_t vram = m.value("size_vram", uint64_t{0});
        std::string proc = vram == 0      ? "100% CPU"
                           : vram >= size ? "100% GPU"
                                          : std::to_string(100 - vram * 100 / size) + "%/" +
                                                std::to_string(vram * 100 / size) + "% CPU/GPU";
        std::printf("%-40s %-14s %-10s %-10s %s\n", name.c_str(), digest.substr(0, 12).c_str(),
                    store::human_size(size).c_str(), proc.c_str(), until_text(m.value("expires_at", "")).c_str());
    }
    return 0;
}

int run_stop(const std::string& model) {
    auto base = server_base_url(std::getenv("HEARTH_HOST"));
    if (!base) {
        std::fprintf(stderr, "hearth: error: %s\n", base.message().c_str());
        return 2;
    }
    const std::string key = key_from_env();
    auto models = loaded_models(*base, key);
    if (!models) {
        std::fprintf(stderr, "hearth: error: %s\n", models.message().c_str());
        return 1;
    }
    bool loaded = false;
    for (const auto& m : *models)
        loaded = loaded || m.value("name", "") == model || m.value("model", "") == model;
    if (!loaded) {
        std::fprintf(stderr, "hearth: error: model '%s' is not running (see `hearth ps`)\n", model.c_str());
        return 1;
    }
    // As `ollama stop`: an empty generate with keep_alive 0 unloads the model.
    const json body = {{"model", model}, {"keep_alive", 0}, {"stream", false}};
    auto r = call_server(*base, "POST", "/api/generate", body.dump(), key);
    if (!r) {
        std::fprintf(stderr, "hearth: error: %s\n", r.message().c_str());
        return 1;
    }
    if (r->status != 200) {
        std::fprintf(stderr, "hearth: error: %s\n", reply_error(*r).c_str());
        return 1;
    }
    return 0;
}

} // namespace

Runner add_ps_command(CLI::App& app) {
    CLI::App* cmd = app.add_subcommand("ps", "List the models a running server has loaded (HEARTH_HOST)");
    return [cmd]() -> int {
        if (!cmd->parsed()) return -1;
        return run_ps();
    };
}

Runner add_stop_command(CLI::App& app) {
    auto model = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand("stop", "Unload a model from a running server now (HEARTH_HOST)");
    cmd->add_option("model", *model, "the model, as `hearth ps` names it")->required();
    return [cmd, model]() -> int {
        if (!cmd->parsed()) return -1;
        return run_stop(*model);
    };
}

} // namespace hearth::cli
