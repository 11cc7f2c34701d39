// cli/cmd_serve.cpp: `hearth serve`: the OpenAI- and Ollama-compatible HTTP API over a LocalEngine.
// Secure by default: it listens on 127.0.0.1:11435 (Ollama's port plus one, so both can run), checks the
// Host header against DNS rebinding, and, with --api-key (or --api-key-file, or $HEARTH_API_KEY), needs
// `Authorization: Bearer KEY` on every route but /health. Model names are store names (as `hearth list`
// shows them); file paths only with --allow-model-paths. SIGINT/SIGTERM drain: new requests get 503,
// in-flight ones finish (up to --drain-timeout), then it exits 0; a second signal exits at once.
#include "cli/cli_engine.h"
#include "cli/commands.h"
#include "engine/local_engine.h"
#include "router/router.h"
#include "server/builtin.h"
#include "server/infill.h"
#include "server/ollama.h"
#include "server/openai.h"
#include "server/routing.h"
#include "server/security.h"
#include "server/server.h"
#include "server/web.h"
#include "store/resolve.h"

#include <atomic>
#include <cctype>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <malloc.h>
#include <memory>
#include <pthread.h>
#include <thread>

#ifndef HEARTH_VERSION
#define HEARTH_VERSION "0.1.0"
#endif

namespace hearth::cli {
namespace {

struct ServeOpts {
    std::string host = "127.0.0.1";
    int port = server::kDefaultPort;
    std::string api_key, api_key_file, management_key;
    std::vector<std::string> allow_hosts, cors_origins;
    uint64_t max_body = uint64_t{8} << 20;
    int http_threads = 32;
    size_t max_connections = 8192, max_connections_per_client = 4096;
    bool log_prompts = false;
    bool allow_model_paths = false;
    double keep_alive_s = 300;
    int max_queue = 64;
    int parallel = 4;
    int32_t ctx_size = 4096;
    int threads = 0;
    std::string device;
    int32_t gpu_layers = -1;
    double drain_timeout_s = 30;
    std::string router_config; // empty: $HEARTH_HOME/router.toml when it exists
    std::string capture_dir;
    std::string web_dir; // serve the page's files from here (working on the page); empty: the embedded page
    bool no_web = false; // no page at all (API only)
};

// A model name from a client must name a store model unless paths were allowed: a client must not make
// the server open files of its choosing.
bool looks_like_file(const std::string& name) {
    if (name.starts_with("/") || name.starts_with(".") || name.starts_with("~") || name.ends_with(".gguf")) return true;
    std::error_code ec;
    return name.find('/') != std::string::npos && std::filesystem::exists(name, ec);
}

// A resolver error as a client sees it: every absolute path in it (the store's folder, a fixture file) is
// left out, as the operator can look those up and a client should not learn them.
std::string without_paths(const std::string& msg) {
    std::string out;
    for (size_t i = 0; i < msg.size();) {
        const bool starts = msg[i] == '/' && (i == 0 || std::isspace(static_cast<unsigned char>(msg[i - 1])) ||
                                              msg[i - 1] == '(' || msg[i - 1] == '\'' || msg[i - 1] == '"');
        if (!starts) {
            out += msg[i++];
            continue;
        }
        while (i < msg.size() && !std::isspace(static_cast<unsigned char>(msg[i])) && msg[i] != ')' && msg[i] != '\'' &&
               msg[i] != '"' && msg[i] != ';' && msg[i] != ',')
            ++i;
        out += "<path>";
    }
    for (size_t at; (at = out.find(" (<path>)")) != std::string::npos;)
        out.erase(at, 9);
    return out;
}

// `trusted`: a name the operator configured (the router's local_model), which may be a path.
engine::Resolver make_resolver(bool allow_paths, std::string trusted = "") {
    return [allow_paths, trusted](const std::string& name) -> Result<engine::ModelSpec> {
        if (!allow_paths && name != trusted && looks_like_file(name))
            return error("model '" + name +
                         "': name a model in the store (`hearth list`); file paths need "
                         "`hearth serve --allow-model-paths`");
        store::FindOptions fo;
        fo.allow_pull = false; // and nothing said: no note, no progress
        auto src = store::find_model(name, fo);
        if (!src) return error(without_paths(src.message()));
        return model_spec(*src);
    };
}

// The API key from the flags or the environment; an error when both flags are given or the file is bad.
Result<std::string> api_key(const ServeOpts& o) {
    if (!o.api_key.empty() && !o.api_key_file.empty()) return error("give --api-key or --api-key-file, not both");
    if (!o.api_key.empty()) return o.api_key;
    if (!o.api_key_file.empty()) return server::read_key_file(o.api_key_file);
    if (const char* env = std::getenv("HEARTH_API_KEY")) return std::string(env);
    return std::string();
}

// Waits for SIGINT/SIGTERM (blocked in every thread, see run_serve) until `done`; the first signal runs
// `drain` on a helper thread, a second one exits at once. Whatever is still running (a handler that does
// not return, a forward pass that does not see the cancel), the process ends `deadline` after the first
// signal: a watchdog exits with status 1 then.
void signal_loop(const std::function<void()>& drain, const std::atomic<bool>& done,
                 std::chrono::milliseconds deadline) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    std::thread stopper;
    while (!done) {
        timespec ts{0, 100'000'000};
        const int sig = sigtimedwait(&set, nullptr, &ts);
        if (sig < 0) continue;
        if (stopper.joinable()) {
            std::fprintf(stderr, "hearth: second signal, exiting now\n");
            std::_Exit(1);
        }
        std::fprintf(stderr, "hearth: %s received, draining requests (again to exit at once)\n",
                     sig == SIGINT ? "SIGINT" : "SIGTERM");
        stopper = std::thread(drain);
        std::thread([deadline] {
            std::this_thread::sleep_for(deadline);
            std::fprintf(stderr, "hearth: the drain did not end within --drain-timeout + 1 s, exiting now\n");
            std::_Exit(1);
        }).detach();
    }
    if (stopper.joinable()) stopper.join();
}

int run_serve(const ServeOpts& o) {
    auto key = api_key(o);
    if (!key) {
        std::fprintf(stderr, "hearth: error: %s\n", key.message().c_str());
        return 2;
    }
    std::string management_key = o.management_key;
    if (management_key.empty())
        if (const char* env = std::getenv("HEARTH_MANAGEMENT_KEY")) management_key = env;

    server::ServerOptions so;
    so.host = o.host;
    so.port = o.port;
    so.security.api_key = *key;
    so.security.management_key = management_key;
    so.security.allow_hosts = o.allow_hosts;
    so.security.cors_origins = o.cors_origins;
    const bool loopback = server::is_loopback_address(o.host);
    so.security.check_host = loopback || !o.allow_hosts.empty();
    so.max_body_bytes = static_cast<size_t>(o.max_body);
    so.http_threads = o.http_threads;
    so.max_connections = o.max_connections;
    so.max_connections_per_client = o.max_connections_per_client;
    so.log_prompts = o.log_prompts;
    so.drain_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.drain_timeout_s * 1000));
    if (!loopback && key->empty())
        std::fprintf(stderr,
                     "hearth: warning: listening on %s without an API key: anyone who can reach this "
                     "address can use the models (set --api-key or HEARTH_API_KEY)\n",
                     o.host.c_str());

    // Two malloc arenas, not 8 per core: request handlers on many threads parse large bodies, and memory
    // freed in one thread's arena is hard to give back (with the transport's malloc_trim when idle, RSS
    // after 32 parallel 8 MiB JSON bodies returned to 16 MB instead of staying at 2.2 GB). Inference does
    // not allocate per token, so it does not feel the lower count. Set before any thread starts.
    ::mallopt(M_ARENA_MAX, 2);

    // Signals are taken by signal_loop; block them before any thread starts so every thread inherits it.
    sigset_t set, old;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, &old);

    auto st = store::open_store();
    if (!st)
        std::fprintf(stderr, "hearth: warning: no model store (%s); store routes answer 503\n", st.message().c_str());
    engine::LocalEngineOptions eo;
    eo.n_threads = o.threads;
    eo.device = o.device;
    eo.gpu_layers = o.gpu_layers;
    eo.max_queue = o.max_queue;
    eo.max_active = o.parallel;
    eo.max_default_ctx = o.ctx_size;
    eo.default_keep_alive_s = o.keep_alive_s;
    eo.drain_timeout_s = o.drain_timeout_s;
    // The router: "auto" (and the config's aliases) answered here or by an upstream; other names pass through.
    const std::string home = store::default_home().string();
    const std::string router_path = o.router_config.empty() ? router::default_config_path(home) : o.router_config;
    auto rcfg = router::load_config(router_path, !o.router_config.empty(), home);
    if (!rcfg) {
        std::fprintf(stderr, "hearth: error: %s\n", rcfg.message().c_str());
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return 2;
    }
    engine::LocalEngine engine(make_resolver(o.allow_model_paths, rcfg->local_model), eo);
    router::RouterOptions ro;
    const char* offline = std::getenv("HEARTH_OFFLINE");
    ro.offline = offline && *offline && std::string(offline) != "0";
    ro.capture_dir = o.capture_dir;
    ro.log = [](const std::string& m) { std::fprintf(stderr, "hearth: %s\n", m.c_str()); };
    auto router = router::Router::create(std::move(*rcfg), engine, ro);
    if (!router) {
        std::fprintf(stderr, "hearth: error: %s\n", router.message().c_str());
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return 1;
    }
    {
        const router::Config& rc = (*router)->config();
        std::fprintf(stderr, "hearth: router: %s -> %s locally; %zu upstream(s)%s%s\n", rc.aliases.front().c_str(),
                     rc.local_model.empty() ? "(no local_model)" : rc.local_model.c_str(), rc.upstreams.size(),
                     ro.offline ? ", offline" : "", rc.source.empty() ? " (no router.toml)" : "");
    }

    server::HttpMetrics metrics;
    so.metrics = &metrics;
    server::ApiContext ctx{**router, st ? &*st : nullptr, HEARTH_VERSION, o.log_prompts, 8};
    const router::Router& rt = **router;
    std::vector<server::Route> routes =
        server::builtin_routes(rt, metrics, [&rt] { return server::router_metrics(rt.router_stats()); });
    for (auto& r : server::router_routes(rt))
        routes.push_back(std::move(r));
    for (auto* make : {&server::openai_routes, &server::ollama_routes, &server::infill_routes})
        for (auto& r : make(ctx))
            routes.push_back(std::move(r));
    if (!o.no_web) {
        auto page = server::web_routes(o.web_dir);
        if (!page) {
            std::fprintf(stderr, "hearth: error: %s\n", page.message().c_str());
            pthread_sigmask(SIG_SETMASK, &old, nullptr);
            return 1;
        }
        for (auto& r : *page)
            routes.push_back(std::move(r));
    }

    server::Server srv(so, std::move(routes));
    if (Status b = srv.bind(); !b) {
        std::fprintf(stderr, "hearth: error: %s\n", b.message().c_str());
        pthread_sigmask(SIG_SETMASK, &old, nullptr);
        return 1;
    }
    const bool v6 = o.host.find(':') != std::string::npos;
    std::fprintf(stderr, "hearth: listening on http://%s%s%s:%d (API key %s)\n", v6 ? "[" : "", o.host.c_str(),
                 v6 ? "]" : "", srv.port(), key->empty() ? "off" : "required");
    if (!o.no_web) { // where to open it on this machine (a wildcard bind is reached through loopback)
        const bool any = o.host == "0.0.0.0" || o.host == "::";
        const std::string at = any ? "127.0.0.1" : v6 ? "[" + o.host + "]" : o.host;
        std::fprintf(stderr, "hearth: chat page: http://%s:%d/%s\n", at.c_str(), srv.port(),
                     o.web_dir.empty() ? "" : (" (files from " + o.web_dir + ")").c_str());
    }
    std::atomic<bool> done{false};
    // The drain: new requests get 503 while in-flight ones finish (up to the timeout); then the engine
    // cancels what is left, so handlers blocked in generate() return and listen() can end.
    const auto drain = [&] {
        srv.stop();
        engine.drain(0);
    };
    const auto hard_deadline = so.drain_timeout + std::chrono::milliseconds(900);
    std::thread signals([&] { signal_loop(drain, done, hard_deadline); });
    const Status served = srv.listen();
    done = true;
    signals.join();
    engine.drain(o.drain_timeout_s);
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    if (!served) {
        std::fprintf(stderr, "hearth: error: %s\n", served.message().c_str());
        return 1;
    }
    std::fprintf(stderr, "hearth: stopped\n");
    return 0;
}

} // namespace

Runner add_serve_command(CLI::App& app) {
    auto o = std::make_shared<ServeOpts>();
    CLI::App* cmd = app.add_subcommand("serve", "Serve the OpenAI- and Ollama-compatible HTTP API (default "
                                                "http://127.0.0.1:11435)");
    cmd->add_option("--host", o->host, "address to listen on (0.0.0.0: every interface; set an API key then)")
        ->capture_default_str();
    cmd->add_option("--port", o->port, "TCP port (0: any free port)")
        ->capture_default_str()
        ->check(CLI::Range(0, 65535));
    cmd->add_option("--api-key", o->api_key,
                    "require `Authorization: Bearer KEY` (visible in `ps`: prefer --api-key-file or HEARTH_API_KEY)");
    cmd->add_option("--api-key-file", o->api_key_file, "read the API key from the first line of this file");
    cmd->add_option("--management-key", o->management_key,
                    "key for pull/create/delete/copy (else they take the API key; env HEARTH_MANAGEMENT_KEY)");
    cmd->add_option("--allow-host", o->allow_hosts, "also accept this Host name (repeatable; DNS-rebinding check)");
    cmd->add_option("--cors-origin", o->cors_origins, "allow browser pages from this exact origin (repeatable)");
    cmd->add_option("--max-body", o->max_body, "largest request body (bytes; 8M, 512k also work)")
        ->transform(CLI::AsSizeValue(false))
        ->capture_default_str();
    cmd->add_option("--http-threads", o->http_threads, "HTTP worker threads (requests handled at once)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    cmd->add_option("--max-connections", o->max_connections,
                    "open connections in all (over it, the one idle longest is closed)")
        ->capture_default_str()
        ->check(CLI::Range(size_t{8}, size_t{1} << 20));
    cmd->add_option("--max-connections-per-client", o->max_connections_per_client,
                    "open connections per client address")
        ->capture_default_str()
        ->check(CLI::Range(size_t{1}, size_t{1} << 20));
    cmd->add_flag("--log-prompts", o->log_prompts, "put request bodies in the access log (off: never logged)");
    cmd->add_flag("--allow-model-paths", o->allow_model_paths, "let clients name .gguf files by path");
    cmd->add_option("--keep-alive", o->keep_alive_s, "seconds a model stays loaded after its last request")
        ->capture_default_str();
    cmd->add_option("--max-queue", o->max_queue, "requests that may wait for a slot; more get 503")
        ->capture_default_str()
        ->check(CLI::Range(0, 100000));
    cmd->add_option("--parallel", o->parallel, "requests decoded at once per model")
        ->capture_default_str()
        ->check(CLI::Range(1, 256));
    cmd->add_option("-c,--ctx-size", o->ctx_size,
                    "context of a request that sets no num_ctx: min(the model's training context, this)")
        ->capture_default_str()
        ->check(CLI::Range(16, 1 << 20));
    cmd->add_option("-t,--threads", o->threads, "compute threads per model (0: all cores)")->capture_default_str();
    add_device_options(cmd, &o->device, &o->gpu_layers);
    cmd->add_option("--drain-timeout", o->drain_timeout_s, "seconds in-flight requests may take after SIGTERM")
        ->capture_default_str()
        ->check(CLI::Range(0.0, 3600.0));
    cmd->add_option("--router-config", o->router_config,
                    "the router's TOML config (default $HEARTH_HOME/router.toml; see `hearth router show`)");
    cmd->add_option("--capture", o->capture_dir,
                    "record (pseudonymized prompt, cloud answer) pairs as chat JSONL in this folder (off by default)");
    cmd->add_option("--web-dir", o->web_dir,
                    "serve the chat page's own files from this folder (for working on the page; default: built in)");
    cmd->add_flag("--no-web", o->no_web, "serve no chat page at / (API only)");
    return [cmd, o]() -> int {
        if (!cmd->parsed()) return -1;
        return run_serve(*o);
    };
}

} // namespace hearth::cli
