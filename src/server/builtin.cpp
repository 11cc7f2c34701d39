// server/builtin.cpp: /health, /metrics and the HTTP request counters (see builtin.h).
#include "server/builtin.h"

#include <charconv>
#include <fstream>
#include <unistd.h>

namespace hearth::server {
namespace {

// The shortest text that reads back as `x` ("0.1", not "0.10000000000000001").
std::string num(double x) {
    char buf[64];
    const auto res = std::to_chars(buf, buf + sizeof buf, x);
    return std::string(buf, res.ptr);
}

void metric(std::string& out, const char* name, const char* type, const char* help, const std::string& value) {
    out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
    out += std::string(name) + " " + value + "\n";
}

// Resident set size from /proc/self/statm (0 where it cannot be read).
uint64_t resident_bytes() {
    std::ifstream in("/proc/self/statm");
    uint64_t pages_total = 0, pages_resident = 0;
    if (!(in >> pages_total >> pages_resident)) return 0;
    const long page = sysconf(_SC_PAGESIZE);
    return pages_resident * static_cast<uint64_t>(page > 0 ? page : 4096);
}

void ttft_histogram(std::string& out, const engine::Stats& s) {
    const char* name = "hearth_time_to_first_token_seconds";
    out += std::string("# HELP ") + name + " Time from a request's arrival to its first generated token.\n";
    out += std::string("# TYPE ") + name + " histogram\n";
    for (size_t i = 0; i < s.ttft_buckets_s.size(); ++i) {
        const uint64_t c = i < s.ttft_counts.size() ? s.ttft_counts[i] : 0;
        out += std::string(name) + "_bucket{le=\"" + num(s.ttft_buckets_s[i]) + "\"} " + std::to_string(c) + "\n";
    }
    out += std::string(name) + "_bucket{le=\"+Inf\"} " + std::to_string(s.ttft_count) + "\n";
    out += std::string(name) + "_sum " + num(s.ttft_sum_s) + "\n";
    out += std::string(name) + "_count " + std::to_string(s.ttft_count) + "\n";
}

} // namespace

void HttpMetrics::record(const std::string& route, const std::string& method, int status, double seconds) {
    std::lock_guard lock(mu_);
    Counter& c = counters_[{route, method, status}];
    c.n += 1;
    c.seconds += seconds;
}

uint64_t HttpMetrics::count(const std::string& route, const std::string& method, int status) const {
    std::lock_guard lock(mu_);
    auto it = counters_.find({route, method, status});
    return it == counters_.end() ? 0 : it->second.n;
}

std::string HttpMetrics::prometheus() const {
    std::lock_guard lock(mu_);
    std::string out = "# HELP hearth_http_requests_total HTTP requests by route, method and status.\n"
                      "# TYPE hearth_http_requests_total counter\n";
    std::string seconds = "# HELP hearth_http_request_duration_seconds_total Time spent answering HTTP requests.\n"
                          "# TYPE hearth_http_request_duration_seconds_total counter\n";
    for (const auto& [key, c] : counters_) {
        const auto& [route, method, status] = key;
        const std::string labels = "{route=\"" + prometheus_label(route) + "\",method=\"" + prometheus_label(method) +
                                   "\",status=\"" + std::to_string(status) + "\"}";
        out += "hearth_http_requests_total" + labels + " " + std::to_string(c.n) + "\n";
        seconds += "hearth_http_request_duration_seconds_total" + labels + " " + num(c.seconds) + "\n";
    }
    out += seconds;
    metric(out, "hearth_http_connections_open", "gauge", "Open HTTP connections.",
           std::to_string(open_connections_.load()));
    metric(out, "hearth_http_connections_evicted_total", "counter",
           "Connections closed to make room for a new one (over a connection cap).", std::to_string(evicted_.load()));
    metric(out, "hearth_http_connections_refused_total", "counter",
           "Connections refused over a connection cap (nothing could be evicted).", std::to_string(refused_.load()));
    return out;
}

std::string prometheus_label(const std::string& value) {
    std::string out;
    for (char c : value) {
        if (c == '\\')
            out += "\\\\";
        else if (c == '"')
            out += "\\\"";
        else if (c == '\n')
            out += "\\n";
        else
            out += c;
    }
    return out;
}

std::string engine_metrics(const engine::Engine& engine) {
    const engine::Stats s = engine.stats();
    std::string out;
    metric(out, "hearth_engine_requests_total", "counter", "Generation requests the engine ran.",
           std::to_string(s.requests));
    metric(out, "hearth_engine_failures_total", "counter", "Generation requests that failed.",
           std::to_string(s.failures));
    metric(out, "hearth_engine_rejected_busy_total", "counter", "Requests refused because the queue was full.",
           std::to_string(s.rejected_busy));
    metric(out, "hearth_queue_depth", "gauge", "Requests waiting for the inference thread.",
           std::to_string(s.queue_depth));
    metric(out, "hearth_active_requests", "gauge", "Requests being decoded.", std::to_string(s.active));
    metric(out, "hearth_prompt_tokens_total", "counter", "Prompt tokens processed.", std::to_string(s.prompt_tokens));
    metric(out, "hearth_completion_tokens_total", "counter", "Tokens generated.", std::to_string(s.completion_tokens));
    metric(out, "hearth_prompt_tokens_per_second", "gauge", "Prompt processing speed over all requests.",
           num(s.prompt_seconds > 0 ? static_cast<double>(s.prompt_tokens) / s.prompt_seconds : 0));
    metric(out, "hearth_generation_tokens_per_second", "gauge", "Generation speed over all requests.",
           num(s.generate_seconds > 0 ? static_cast<double>(s.completion_tokens) / s.generate_seconds : 0));
    metric(out, "hearth_forward_passes_total", "counter", "Batched forward steps (all active requests of a model).",
           std::to_string(s.forward_passes));
    metric(out, "hearth_forward_sequences_total", "counter",
           "Requests carried by those steps (divided by the passes: the mean batch size).",
           std::to_string(s.forward_sequences));
    metric(out, "hearth_max_batch_sequences", "gauge", "The most requests one forward step has carried.",
           std::to_string(s.max_batch_sequences));
    ttft_histogram(out, s);
    metric(out, "hearth_engine_memory_bytes", "gauge", "Loaded models' weights and sessions.",
           std::to_string(s.memory_bytes));
    metric(out, "hearth_process_resident_memory_bytes", "gauge", "Resident memory of this process.",
           std::to_string(resident_bytes()));
    const auto models = engine.loaded();
    out += "# HELP hearth_model_loaded_bytes Loaded models and their memory (weights and sessions).\n"
           "# TYPE hearth_model_loaded_bytes gauge\n";
    for (const auto& m : models)
        out += "hearth_model_loaded_bytes{model=\"" + prometheus_label(m.name) + "\"} " + std::to_string(m.size_bytes) +
               "\n";
    metric(out, "hearth_models_loaded", "gauge", "Models in memory.", std::to_string(models.size()));
    return out;
}

std::vector<Route> builtin_routes(const engine::Engine& engine, const HttpMetrics& metrics,
                                  std::function<std::string()> extra_metrics) {
    std::vector<Route> routes;
    routes.push_back(Route{"GET", "/health", Access::Public,
                           [](const HttpRequest&) {
                               HttpResponse r;
                               r.body = R"({"status":"ok"})";
                               return r;
                           },
                           /*inline_io=*/true});
    routes.push_back(
        Route{"GET", "/metrics", Access::Inference, [&engine, &metrics, extra_metrics](const HttpRequest&) {
                  HttpResponse r;
                  r.content_type = "text/plain; version=0.0.4; charset=utf-8";
                  r.body = metrics.prometheus() + engine_metrics(engine);
                  if (extra_metrics) r.body += extra_metrics();
                  return r;
              }});
    return routes;
}

} // namespace hearth::server
