// router/config.h: the router's configuration, read from TOML ($HEARTH_HOME/router.toml or --router-config).
//
//   [router]
//   local_model = "qwen2.5-coder:1.5b"  # what "auto" runs on this machine (a store name or a .gguf path)
//   aliases = ["auto"]                  # model names that mean "let the router decide"
//   default_route = "auto"              # auto | local | cloud: for requests that do not pin a route
//   window = 64                         # cascade: tokens held back while the local answer is judged
//   audit_log = "/path/audit.jsonl"     # default $HEARTH_HOME/router/audit.jsonl
//   capture_dir = ""                    # distillation capture (off unless set, or --capture)
//
//   [[upstream]]                        # one or more; the first that is healthy and within budget is used
//   name = "openai"
//   base_url = "https://api.openai.com/v1"
//   model = "gpt-4o-mini"
//   api_key_env = "OPENAI_API_KEY"      # or api_key_file = "/path" (never the key itself in this file)
//   allow_insecure = false              # true permits http:// and private/loopback addresses (own cluster)
//   price_input_per_mtok = 0.15         # USD per million tokens, for spend and budget
//   price_output_per_mtok = 0.60
//   daily_budget = 5.0                  # USD per UTC day; 0 = no limit; over it requests stay local
//   connect_timeout_s = 5, first_byte_timeout_s = 30, idle_timeout_s = 20, total_timeout_s = 120
//   max_response_bytes = 16777216
//
//   [privacy]
//   default = "keep-local"              # action for entity types not listed: keep-local | pseudonymize | allow
//   email = "pseudonymize"              # per entity type (privacy::entity_name)
//   terms = ["Project Falcon"]          # user-defined sensitive terms (entity "custom")
//   regexes = ['ACME-\d{6}']            # user-defined PCRE2 patterns (entity "custom")
//
//   [decision]                          # written by `hearth router calibrate` (router/signals.h)
//
// Secrets: an upstream's key is read once, from the environment variable or file the config names, and
// lives only in Upstream::endpoint.api_key; dump() masks it, errors never contain it. An unknown key or a
// value of the wrong type is an error naming it (a typo must not silently change the policy).
#pragma once

#include "base/status.h"
#include "privacy/privacy.h"
#include "router/signals.h"
#include "upstream/upstream.h"

#include <string>
#include <vector>

namespace hearth::router {

struct UpstreamConfig {
    upstream::Endpoint endpoint; // name, base_url, model, api_key (resolved), timeouts, limits
    std::string api_key_source;  // "env:NAME", "file:PATH" or "" (no key), for dump()
    double price_input_per_mtok = 0, price_output_per_mtok = 0;
    double daily_budget = 0; // USD; 0 = no limit
};

struct Config {
    std::string local_model;                     // empty: the server's default model
    std::vector<std::string> aliases = {"auto"}; // names that mean the router
    std::string default_route = "auto";
    std::vector<UpstreamConfig> upstreams;
    privacy::Policy policy;          // per-entity actions
    privacy::ScannerOptions scanner; // user terms and regexes
    DecisionModel decision;          // thresholds and weights (defaults without calibration)
    std::string audit_log;           // path
    std::string capture_dir;         // empty: no capture
    std::string source;              // the file it was read from ("" = built-in defaults)
};

// The default path: $HEARTH_HOME/router.toml.
std::string default_config_path(const std::string& hearth_home);

// Parses TOML text. `getenv` resolves api_key_env (tests pass their own); api_key_file is read from disk.
Result<Config> parse_config(const std::string& toml_text, const std::string& source, const std::string& hearth_home,
                            const std::function<const char*(const char*)>& getenv);
// Reads `path`; a missing file at the default path is fine (no upstream: always local), a missing file the
// user named is an error.
Result<Config> load_config(const std::string& path, bool must_exist, const std::string& hearth_home);

// The effective configuration as TOML, secrets masked ("api_key = <set from env:OPENAI_API_KEY>").
std::string dump(const Config& c);

} // namespace hearth::router
