// cli/cmd_router.cpp: `hearth router show | stats | audit | export` (eval and calibrate: cmd_router_eval.cpp).
#include "cli/commands.h"
#include "cli/server_client.h"
#include "router/audit.h"
#include "router/config.h"
#include "store/store.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

namespace hearth::cli {
namespace {

using json = nlohmann::json;

std::string config_path(const std::string& given) {
    return given.empty() ? router::default_config_path(store::default_home().string()) : given;
}

int run_show(const std::string& path_flag) {
    auto cfg = router::load_config(config_path(path_flag), !path_flag.empty(), store::default_home().string());
    if (!cfg) {
        std::fprintf(stderr, "hearth: error: %s\n", cfg.message().c_str());
        return 1;
    }
    std::fputs(router::dump(*cfg).c_str(), stdout);
    return 0;
}

int run_stats(const std::string& url_flag, const std::string& key_env) {
    std::string base = url_flag;
    if (base.empty()) {
        auto b = server_base_url(std::getenv("HEARTH_HOST"));
        if (!b) {
            std::fprintf(stderr, "hearth: error: %s\n", b.message().c_str());
            return 2;
        }
        base = *b;
    }
    const char* key = std::getenv(key_env.c_str());
    const std::string target = base + "/api/router/stats";
    auto reply = call_server(base, "GET", "/api/router/stats", "", key ? key : "");
    if (!reply || reply->status != 200) {
        std::fprintf(stderr, "hearth: error: %s\n",
                     !reply ? reply.message().c_str() : (target + ": " + reply_error(*reply)).c_str());
        return 1;
    }
    const std::string& body = reply->body;
    json j = json::parse(body, nullptr, false);
    if (j.is_discarded()) {
        std::fprintf(stderr, "hearth: error: %s: not JSON\n", target.c_str());
        return 1;
    }
    std::printf("requests      local %llu, cloud %llu (escalation rate %.1f%%)\n",
                static_cast<unsigned long long>(j["requests"]["local"].get<uint64_t>()),
                static_cast<unsigned long long>(j["requests"]["cloud"].get<uint64_t>()),
                100 * j["escalation_rate"].get<double>());
    std::printf("escalations   pre-generation %llu, cascade %llu, pinned %llu; fallbacks to local %llu\n",
                static_cast<unsigned long long>(j["escalations"]["pre_generation"].get<uint64_t>()),
                static_cast<unsigned long long>(j["escalations"]["cascade"].get<uint64_t>()),
                static_cast<unsigned long long>(j["escalations"]["pinned"].get<uint64_t>()),
                static_cast<unsigned long long>(j["fallbacks"].get<uint64_t>()));
    std::printf("privacy       kept local %llu, pseudonymized %llu, egress blocked %llu\n",
                static_cast<unsigned long long>(j["privacy"]["kept_local"].get<uint64_t>()),
                static_cast<unsigned long long>(j["privacy"]["pseudonymized"].get<uint64_t>()),
                static_cast<unsigned long long>(j["privacy"]["egress_blocked"].get<uint64_t>()));
    std::printf("tokens        local %llu in / %llu out, cloud %llu in / %llu out\n",
                static_cast<unsigned long long>(j["tokens"]["local"]["prompt"].get<uint64_t>()),
                static_cast<unsigned long long>(j["tokens"]["local"]["completion"].get<uint64_t>()),
                static_cast<unsigned long long>(j["tokens"]["cloud"]["prompt"].get<uint64_t>()),
                static_cast<unsigned long long>(j["tokens"]["cloud"]["completion"].get<uint64_t>()));
    std::printf("spend         cloud $%.4f (today $%.4f), avoided $%.4f (always-cloud would be $%.4f)\n",
                j["cloud_spend_usd"].get<double>(), j.value("cloud_spend_today_usd", 0.0),
                j["spend_avoided_usd"].get<double>(), j["always_cloud_usd"].get<double>());
    std::printf("decisions     %llu, mean %.3f ms\n", static_cast<unsigned long long>(j["decisions"].get<uint64_t>()),
                j["decision_ms_mean"].get<double>());
    return 0;
}

int run_audit(const std::string& path_flag, bool verify, bool as_json) {
    auto cfg = router::load_config(config_path(path_flag), !path_flag.empty(), store::default_home().string());
    if (!cfg) {
        std::fprintf(stderr, "hearth: error: %s\n", cfg.message().c_str());
        return 1;
    }
    const std::string& log = cfg->audit_log;
    if (verify) {
        auto v = router::verify_audit(log);
        if (!v) {
            std::fprintf(stderr, "hearth: error: %s\n", v.message().c_str());
            return 1;
        }
        if (!v->ok) {
            std::printf("%s: TAMPERED at line %llu: %s (%llu records verified before it)\n", log.c_str(),
                        static_cast<unsigned long long>(v->bad_line), v->problem.c_str(),
                        static_cast<unsigned long long>(v->records));
            return 1;
        }
        std::printf("%s: %llu records, chain intact\n", log.c_str(), static_cast<unsigned long long>(v->records));
        return 0;
    }
    std::ifstream in(log);
    if (!in) {
        std::printf("nothing has left this machine (no audit log at %s)\n", log.c_str());
        return 0;
    }
    std::string line;
    uint64_t egress = 0, bytes = 0;
    double cost = 0;
    while (std::getline(in, line)) {
        if (as_json) {
            std::printf("%s\n", line.c_str());
            continue;
        }
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) {
            std::printf("(unreadable record)\n");
            continue;
        }
        if (j.value("kind", "") == "egress") {
            ++egress;
            bytes += j.value("bytes", uint64_t{0});
            std::string ents;
            if (j.contains("pseudonymized") && j["pseudonymized"].is_object())
                for (const auto& [k, v] : j["pseudonymized"].items())
                    ents += (ents.empty() ? "" : ", ") + k + " x" + v.dump();
            std::printf("%s  sent %6llu bytes to %s (%s)  sha256 %.16s…  pseudonymized: %s\n  why: %s\n",
                        j.value("time", "").c_str(), static_cast<unsigned long long>(j.value("bytes", uint64_t{0})),
                        j.value("upstream", "").c_str(), j.value("model", "").c_str(), j.value("sha256", "").c_str(),
                        ents.empty() ? "none" : ents.c_str(), j.value("reason", "").c_str());
        } else if (j.value("kind", "") == "result") {
            cost += j.value("cost_usd", 0.0);
            std::printf("%s  result %s, %.2f s, $%.6f\n", j.value("time", "").c_str(), j.value("outcome", "").c_str(),
                        j.value("seconds", 0.0), j.value("cost_usd", 0.0));
        }
    }
    if (!as_json)
        std::printf("%llu egress records, %llu bytes sent, $%.4f\n", static_cast<unsigned long long>(egress),
                    static_cast<unsigned long long>(bytes), cost);
    return 0;
}

// Writes the captured (pseudonymized prompt, cloud answer) pairs as one chat-format JSONL file
// ({"messages": [...]} per line, as OpenAI fine-tuning, Axolotl and TRL read it), without duplicates.
int run_export(const std::string& dir, const std::string& out_path) {
    std::error_code ec;
    if (!std::filesystem::is_directory(dir, ec)) {
        std::fprintf(stderr, "hearth: error: %s is not a folder\n", dir.c_str());
        return 1;
    }
    std::vector<std::filesystem::path> files;
    for (const auto& e : std::filesystem::directory_iterator(dir, ec))
        if (e.path().extension() == ".jsonl" && e.path().filename().string().starts_with("capture-"))
            files.push_back(e.path());
    std::sort(files.begin(), files.end());
    const std::string tmp = out_path + ".tmp";
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) {
        std::fprintf(stderr, "hearth: error: cannot write %s\n", tmp.c_str());
        return 1;
    }
    std::set<std::string> seen;
    uint64_t n = 0, skipped = 0;
    for (const auto& f : files) {
        std::ifstream in(f);
        std::string line;
        while (std::getline(in, line)) {
            json j = json::parse(line, nullptr, false);
            if (j.is_discarded() || !j.contains("messages") || !j["messages"].is_array() || j["messages"].empty()) {
                ++skipped;
                continue;
            }
            const std::string canon = j.dump();
            if (!seen.insert(canon).second) continue;
            out << canon << "\n";
            ++n;
        }
    }
    out.close();
    if (!out || std::rename(tmp.c_str(), out_path.c_str()) != 0) {
        std::fprintf(stderr, "hearth: error: cannot write %s\n", out_path.c_str());
        std::remove(tmp.c_str());
        return 1;
    }
    std::printf("%llu examples written to %s (%llu unreadable lines skipped)\n", static_cast<unsigned long long>(n),
                out_path.c_str(), static_cast<unsigned long long>(skipped));
    return 0;
}

} // namespace

Runner add_router_command(CLI::App& app, CLI::App** router_out) {
    CLI::App* router = app.add_subcommand("router", "The hybrid router: config, stats, audit log, dataset export");
    router->require_subcommand(1);
    if (router_out) *router_out = router;
    auto config = std::make_shared<std::string>();
    router->add_option("--router-config", *config, "router TOML (default $HEARTH_HOME/router.toml)");

    CLI::App* show = router->add_subcommand("show", "Print the effective router config (secrets masked)");
    auto url = std::make_shared<std::string>(); // empty: HEARTH_HOST, or the default address
    auto key_env = std::make_shared<std::string>("HEARTH_API_KEY");
    CLI::App* stats = router->add_subcommand("stats", "Requests, tokens, escalations and spend of a running server");
    stats->add_option("--url", *url, "the server (default: HEARTH_HOST, else http://127.0.0.1:11435)");
    stats->add_option("--api-key-env", *key_env, "environment variable holding the server's API key")
        ->capture_default_str();
    auto verify = std::make_shared<bool>(false);
    auto as_json = std::make_shared<bool>(false);
    CLI::App* audit = router->add_subcommand("audit", "What left this machine: the audit log");
    audit->add_flag("--verify", *verify, "check the hash chain (exit 1 if any record was edited or removed)");
    audit->add_flag("--json", *as_json, "print the records as stored");
    auto capture = std::make_shared<std::string>();
    auto out = std::make_shared<std::string>();
    CLI::App* exp = router->add_subcommand("export", "Write captured (prompt, cloud answer) pairs as chat JSONL");
    exp->add_option("--capture", *capture, "the folder given to `hearth serve --capture`")->required();
    exp->add_option("-o,--out", *out, "the dataset file to write")->required();

    return [=]() -> int {
        if (!router->parsed()) return -1;
        if (show->parsed()) return run_show(*config);
        if (stats->parsed()) return run_stats(*url, *key_env);
        if (audit->parsed()) return run_audit(*config, *verify, *as_json);
        if (exp->parsed()) return run_export(*capture, *out);
        return -1;
    };
}

} // namespace hearth::cli
