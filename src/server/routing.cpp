// server/routing.cpp: the router's counters as JSON and Prometheus text (see routing.h).
#include "server/routing.h"

#include <cstdio>

namespace hearth::server {

nlohmann::json router_stats_json(const router::RouterStats& s) {
    const uint64_t total = s.requests_local + s.requests_cloud;
    const uint64_t escalations = s.escalations_pre + s.escalations_cascade + s.escalations_pinned;
    return {
        {"requests", {{"local", s.requests_local}, {"cloud", s.requests_cloud}}},
        {"escalation_rate", total ? static_cast<double>(escalations) / static_cast<double>(total) : 0.0},
        {"escalations",
         {{"pre_generation", s.escalations_pre}, {"cascade", s.escalations_cascade}, {"pinned", s.escalations_pinned}}},
        {"fallbacks", s.fallbacks},
        {"privacy",
         {{"kept_local", s.kept_local_privacy},
          {"pseudonymized", s.pseudonymized},
          {"egress_blocked", s.egress_blocked}}},
        {"tokens",
         {{"local", {{"prompt", s.local_prompt_tokens}, {"completion", s.local_completion_tokens}}},
          {"cloud", {{"prompt", s.cloud_prompt_tokens}, {"completion", s.cloud_completion_tokens}}}}},
        {"cloud_spend_usd", s.cloud_spend_usd},
        {"cloud_spend_today_usd", s.cloud_spend_today_usd},
        {"spend_avoided_usd", s.spend_avoided_usd},
        {"always_cloud_usd", s.always_cloud_usd},
        {"decisions", s.decisions},
        {"decision_ms_mean", s.decisions ? 1e3 * s.decision_seconds / static_cast<double>(s.decisions) : 0.0},
    };
}

std::string router_metrics(const router::RouterStats& s) {
    std::string o;
    auto line = [&](const char* name, const char* labels, double v) {
        char buf[64];
        std::snprintf(buf, sizeof buf, " %.17g\n", v);
        o += name;
        o += labels;
        o += buf;
    };
    o += "# HELP hearth_router_requests_total Routed requests answered, by where.\n"
         "# TYPE hearth_router_requests_total counter\n";
    line("hearth_router_requests_total", "{route=\"local\"}", static_cast<double>(s.requests_local));
    line("hearth_router_requests_total", "{route=\"cloud\"}", static_cast<double>(s.requests_cloud));
    o += "# HELP hearth_router_escalations_total Requests escalated, by which decision.\n"
         "# TYPE hearth_router_escalations_total counter\n";
    line("hearth_router_escalations_total", "{stage=\"pre_generation\"}", static_cast<double>(s.escalations_pre));
    line("hearth_router_escalations_total", "{stage=\"cascade\"}", static_cast<double>(s.escalations_cascade));
    line("hearth_router_escalations_total", "{stage=\"pinned\"}", static_cast<double>(s.escalations_pinned));
    o += "# HELP hearth_router_fallbacks_total Escalations answered locally because the upstream failed.\n"
         "# TYPE hearth_router_fallbacks_total counter\n";
    line("hearth_router_fallbacks_total", "", static_cast<double>(s.fallbacks));
    o += "# HELP hearth_router_privacy_total Privacy guard outcomes.\n# TYPE hearth_router_privacy_total counter\n";
    line("hearth_router_privacy_total", "{outcome=\"kept_local\"}", static_cast<double>(s.kept_local_privacy));
    line("hearth_router_privacy_total", "{outcome=\"pseudonymized\"}", static_cast<double>(s.pseudonymized));
    line("hearth_router_privacy_total", "{outcome=\"egress_blocked\"}", static_cast<double>(s.egress_blocked));
    o += "# HELP hearth_router_tokens_total Tokens by route and kind.\n# TYPE hearth_router_tokens_total counter\n";
    line("hearth_router_tokens_total", "{route=\"local\",kind=\"prompt\"}", static_cast<double>(s.local_prompt_tokens));
    line("hearth_router_tokens_total", "{route=\"local\",kind=\"completion\"}",
         static_cast<double>(s.local_completion_tokens));
    line("hearth_router_tokens_total", "{route=\"cloud\",kind=\"prompt\"}", static_cast<double>(s.cloud_prompt_tokens));
    line("hearth_router_tokens_total", "{route=\"cloud\",kind=\"completion\"}",
         static_cast<double>(s.cloud_completion_tokens));
    o += "# HELP hearth_router_cloud_spend_usd_total Spent on upstreams (USD, from their usage and the configured "
         "prices).\n# TYPE hearth_router_cloud_spend_usd_total counter\n";
    line("hearth_router_cloud_spend_usd_total", "", s.cloud_spend_usd);
    o += "# HELP hearth_router_spend_avoided_usd_total What the locally answered requests would have cost in the "
         "cloud.\n# TYPE hearth_router_spend_avoided_usd_total counter\n";
    line("hearth_router_spend_avoided_usd_total", "", s.spend_avoided_usd);
    o += "# HELP hearth_router_decision_seconds_total Time spent scoring routing decisions.\n"
         "# TYPE hearth_router_decision_seconds_total counter\n";
    line("hearth_router_decision_seconds_total", "", s.decision_seconds);
    line("hearth_router_decisions_total", "", static_cast<double>(s.decisions));
    return o;
}

std::vector<Route> router_routes(const router::Router& r) {
    std::vector<Route> routes;
    routes.push_back(Route{"GET", "/api/router/stats", Access::Inference, [&r](const HttpRequest&) {
                               HttpResponse resp;
                               resp.body = router_stats_json(r.router_stats()).dump();
                               return resp;
                           }});
    return routes;
}

} // namespace hearth::server
