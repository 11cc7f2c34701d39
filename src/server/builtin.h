// server/builtin.h: the routes every `hearth serve` has whatever the API adapters: GET /health (public,
// {"status":"ok"}) and GET /metrics (Prometheus text format 0.0.4, needs the API key), and HttpMetrics, the
// per-route request counters the transport fills and /metrics renders.
#pragma once

#include "engine/engine.h"
#include "server/http.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <tuple>
#include <vector>

namespace hearth::server {

// Requests by (route, method, status) and their total duration. `route` is a route-table path or
// "unmatched", so the label set stays bounded whatever clients send. Thread-safe.
class HttpMetrics {
public:
    void record(const std::string& route, const std::string& method, int status, double seconds);
    // The counters in Prometheus text format.
    std::string prometheus() const;
    uint64_t count(const std::string& route, const std::string& method, int status) const;

    // Connections, from the transport: open now, evicted over a cap, refused (nothing could be evicted).
    void set_open_connections(size_t n) { open_connections_.store(n); }
    void connection_evicted() { ++evicted_; }
    void connection_refused() { ++refused_; }

private:
    struct Counter {
        uint64_t n = 0;
        double seconds = 0;
    };
    mutable std::mutex mu_;
    std::map<std::tuple<std::string, std::string, int>, Counter> counters_;
    std::atomic<size_t> open_connections_{0};
    std::atomic<uint64_t> evicted_{0}, refused_{0};
};

// The engine's Stats, loaded models and this process's memory in Prometheus text format.
std::string engine_metrics(const engine::Engine& engine);

// Escapes a Prometheus label value (backslash, double quote, newline).
std::string prometheus_label(const std::string& value);

// /health and /metrics. `engine` and `metrics` must outlive the routes; `extra_metrics` (optional) adds
// text to /metrics (the router's counters).
std::vector<Route> builtin_routes(const engine::Engine& engine, const HttpMetrics& metrics,
                                  std::function<std::string()> extra_metrics = {});

} // namespace hearth::server
