// server/routing.h: the router's counters over HTTP: Prometheus text for /metrics and
// GET /api/router/stats (JSON, what `hearth router stats` prints).
#pragma once

#include "router/router.h"
#include "server/http.h"

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hearth::server {

nlohmann::json router_stats_json(const router::RouterStats& s);
std::string router_metrics(const router::RouterStats& s);
// GET /api/router/stats. `r` must outlive the routes.
std::vector<Route> router_routes(const router::Router& r);

} // namespace hearth::server
