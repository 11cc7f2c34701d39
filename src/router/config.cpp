// router/config.cpp: router.toml -> Config (see config.h), and back for `hearth router show`.
#include "router/config.h"

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <toml++/toml.h>

namespace hearth::router {
namespace {

using Getenv = std::function<const char*(const char*)>;

Status bad(const std::string& where, const std::string& what) {
    return error(Code::BadField, "router config: " + where + ": " + what);
}

// Every key of `t` must be in `known`: a typo must not silently fall back to a default.
Status check_keys(const toml::table& t, const std::string& where, std::initializer_list<std::string_view> known) {
    for (const auto& [k, v] : t) {
        bool ok = false;
        for (auto n : known)
            ok = ok || k.str() == n;
        if (!ok) return bad(where + "." + std::string(k.str()), "unknown key");
    }
    return Status::ok();
}

Status get_string(const toml::table& t, const std::string& where, std::string_view key, std::string& out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::ok();
    if (!n->is_string()) return bad(where + "." + std::string(key), "must be a string");
    out = *n->value<std::string>();
    return Status::ok();
}

Status get_number(const toml::table& t, const std::string& where, std::string_view key, double lo, double hi,
                  double& out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::ok();
    std::optional<double> v =
        n->is_integer() ? std::optional<double>(static_cast<double>(*n->value<int64_t>())) : n->value<double>();
    if (!v || !n->is_number()) return bad(where + "." + std::string(key), "must be a number");
    if (!(*v >= lo && *v <= hi))
        return bad(where + "." + std::string(key),
                   "must be in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got " + std::to_string(*v));
    out = *v;
    return Status::ok();
}

Status get_bool(const toml::table& t, const std::string& where, std::string_view key, bool& out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::ok();
    if (!n->is_boolean()) return bad(where + "." + std::string(key), "must be true or false");
    out = *n->value<bool>();
    return Status::ok();
}

Status get_strings(const toml::table& t, const std::string& where, std::string_view key,
                   std::vector<std::string>& out) {
    const toml::node* n = t.get(key);
    if (!n) return Status::ok();
    const toml::array* a = n->as_array();
    if (!a) return bad(where + "." + std::string(key), "must be a list of strings");
    out.clear();
    for (const auto& e : *a) {
        if (!e.is_string()) return bad(where + "." + std::string(key), "must be a list of strings");
        out.push_back(*e.value<std::string>());
    }
    return Status::ok();
}

Result<privacy::Action> parse_action(const std::string& where, const std::string& s) {
    if (auto a = privacy::parse_action(s)) return *a;
    return bad(where, "must be keep-local, pseudonymize or allow; got '" + s + "'");
}

std::string trim_secret(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ' || s.back() == '\t'))
        s.pop_back();
    size_t i = 0;
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t'))
        ++i;
    return s.substr(i);
}

Status parse_upstream(const toml::table& t, const std::string& where, const Getenv& getenv, UpstreamConfig& u) {
    if (t.contains("api_key"))
        return bad(where + ".api_key", "keys are not stored in the config: use api_key_env or api_key_file");
    HEARTH_TRY(check_keys(t, where,
                          {"name", "base_url", "model", "api_key_env", "api_key_file", "allow_insecure",
                           "price_input_per_mtok", "price_output_per_mtok", "daily_budget", "connect_timeout_s",
                           "first_byte_timeout_s", "idle_timeout_s", "total_timeout_s", "max_response_bytes"}));
    upstream::Endpoint& e = u.endpoint;
    HEARTH_TRY(get_string(t, where, "name", e.name));
    HEARTH_TRY(get_string(t, where, "base_url", e.base_url));
    HEARTH_TRY(get_string(t, where, "model", e.model));
    if (e.base_url.empty()) return bad(where + ".base_url", "is required");
    if (e.model.empty()) return bad(where + ".model", "is required");
    if (e.name.empty()) e.name = e.model;
    HEARTH_TRY(get_bool(t, where, "allow_insecure", e.allow_insecure));
    HEARTH_TRY(get_number(t, where, "price_input_per_mtok", 0, 1e6, u.price_input_per_mtok));
    HEARTH_TRY(get_number(t, where, "price_output_per_mtok", 0, 1e6, u.price_output_per_mtok));
    HEARTH_TRY(get_number(t, where, "daily_budget", 0, 1e9, u.daily_budget));
    HEARTH_TRY(get_number(t, where, "connect_timeout_s", 0.05, 600, e.connect_timeout_s));
    HEARTH_TRY(get_number(t, where, "first_byte_timeout_s", 0.05, 3600, e.first_byte_timeout_s));
    HEARTH_TRY(get_number(t, where, "idle_timeout_s", 0.05, 3600, e.idle_timeout_s));
    HEARTH_TRY(get_number(t, where, "total_timeout_s", 0.05, 86400, e.total_timeout_s));
    double max_bytes = static_cast<double>(e.max_response_bytes);
    HEARTH_TRY(get_number(t, where, "max_response_bytes", 1024, 1 << 30, max_bytes));
    e.max_response_bytes = static_cast<uint64_t>(max_bytes);

    std::string env, file;
    HEARTH_TRY(get_string(t, where, "api_key_env", env));
    HEARTH_TRY(get_string(t, where, "api_key_file", file));
    if (!env.empty() && !file.empty()) return bad(where, "give api_key_env or api_key_file, not both");
    if (!env.empty()) {
        const char* v = getenv(env.c_str());
        if (!v || !*v) return bad(where + ".api_key_env", "the environment variable " + env + " is not set");
        e.api_key = trim_secret(v);
        u.api_key_source = "env:" + env;
    } else if (!file.empty()) {
        std::ifstream in(file, std::ios::binary);
        if (!in) return bad(where + ".api_key_file", "cannot read " + file);
        std::ostringstream ss;
        ss << in.rdbuf();
        e.api_key = trim_secret(ss.str());
        if (e.api_key.empty()) return bad(where + ".api_key_file", file + " is empty");
        u.api_key_source = "file:" + file;
    }
    for (char c : e.api_key)
        if (static_cast<unsigned char>(c) < 0x21 || c == 0x7f)
            return bad(where, "the API key contains spaces or control characters");
    if (Status s = upstream::check_endpoint(e); !s) return bad(where, s.message());
    return Status::ok();
}

} // namespace

std::string default_config_path(const std::string& hearth_home) {
    return hearth_home + "/router.toml";
}

Result<Config> parse_config(const std::string& toml_text, const std::string& source, const std::string& hearth_home,
                            const Getenv& getenv) {
    Config c;
    c.source = source;
    c.audit_log = hearth_home + "/router/audit.jsonl";
    c.decision = default_decision_model();
    c.policy.fallback = privacy::Action::KeepLocal;
    toml::table root;
#if TOML_EXCEPTIONS
    try {
        root = toml::parse(toml_text, source);
    } catch (const toml::parse_error& e) {
        return error(Code::BadField, "router config " + source + ": " + std::string(e.description()) + " (line " +
                                         std::to_string(e.source().begin.line) + ")");
    }
#else
    toml::parse_result pr = toml::parse(toml_text, source);
    if (!pr)
        return error(Code::BadField, "router config " + source + ": " + std::string(pr.error().description()) +
                                         " (line " + std::to_string(pr.error().source().begin.line) + ")");
    root = std::move(pr).table();
#endif
    HEARTH_TRY(check_keys(root, "", {"router", "upstream", "privacy", "decision"}));
    std::optional<int32_t> router_window; // [router] window: the cascade's window (= a [decision] table's if both)

    if (const toml::node* rn = root.get("router")) {
        const toml::table* r = rn->as_table();
        if (!r) return bad("router", "must be a table");
        HEARTH_TRY(check_keys(*r, "router",
                              {"local_model", "aliases", "default_route", "window", "audit_log", "capture_dir"}));
        HEARTH_TRY(get_string(*r, "router", "local_model", c.local_model));
        HEARTH_TRY(get_strings(*r, "router", "aliases", c.aliases));
        HEARTH_TRY(get_string(*r, "router", "default_route", c.default_route));
        if (c.default_route != "auto" && c.default_route != "local" && c.default_route != "cloud")
            return bad("router.default_route", "must be auto, local or cloud");
        HEARTH_TRY(get_string(*r, "router", "audit_log", c.audit_log));
        HEARTH_TRY(get_string(*r, "router", "capture_dir", c.capture_dir));
        if (const toml::node* wn = r->get("window")) {
            const std::optional<int64_t> w = wn->value_exact<int64_t>();
            if (!w || *w < 1 || *w > 4096) return bad("router.window", "must be an integer in [1, 4096]");
            router_window = static_cast<int32_t>(*w);
        }
        for (const auto& a : c.aliases)
            if (a.empty()) return bad("router.aliases", "names must not be empty");
    }

    if (const toml::node* un = root.get("upstream")) {
        const toml::array* arr = un->as_array();
        if (!arr) return bad("upstream", "must be an array of tables ([[upstream]])");
        for (size_t i = 0; i < arr->size(); ++i) {
            const toml::table* t = (*arr)[i].as_table();
            const std::string where = "upstream[" + std::to_string(i) + "]";
            if (!t) return bad(where, "must be a table");
            UpstreamConfig u;
            HEARTH_TRY(parse_upstream(*t, where, getenv, u));
            for (const auto& o : c.upstreams)
                if (o.endpoint.name == u.endpoint.name) return bad(where + ".name", "'" + u.endpoint.name + "' twice");
            c.upstreams.push_back(std::move(u));
        }
    }

    if (const toml::node* pn = root.get("privacy")) {
        const toml::table* p = pn->as_table();
        if (!p) return bad("privacy", "must be a table");
        for (const auto& [k, v] : *p) {
            const std::string key(k.str());
            const std::string where = "privacy." + key;
            if (key == "terms") {
                HEARTH_TRY(get_strings(*p, "privacy", "terms", c.scanner.terms));
            } else if (key == "regexes") {
                HEARTH_TRY(get_strings(*p, "privacy", "regexes", c.scanner.regexes));
            } else if (key == "default") {
                if (!v.is_string()) return bad(where, "must be a string");
                auto a = parse_action(where, *v.value<std::string>());
                if (!a) return a.status();
                c.policy.fallback = *a;
            } else {
                auto ent = privacy::parse_entity(key);
                if (!ent)
                    return bad(where, "unknown key (entity types: email, phone, payment_card, iban, national_id, "
                                      "ip_address, mac_address, secret, url_credentials, custom; or default, "
                                      "terms, regexes)");
                if (!v.is_string()) return bad(where, "must be a string");
                auto a = parse_action(where, *v.value<std::string>());
                if (!a) return a.status();
                c.policy.actions[*ent] = *a;
            }
        }
    }

    if (const toml::node* dn = root.get("decision")) {
        const toml::table* d = dn->as_table();
        if (!d) return bad("decision", "must be a table");
        auto m = decision_from_toml(*d);
        if (!m) return error(Code::BadField, "router config: decision: " + m.message());
        c.decision = std::move(*m);
    }
    if (router_window) {
        // A calibrated [decision] table was fitted for its own window: a different one here would misuse it.
        if (root.get("decision") && *router_window != c.decision.window)
            return bad("router.window", std::to_string(*router_window) + " differs from decision.window " +
                                            std::to_string(c.decision.window) +
                                            " (the window the decision model was calibrated for): remove one, or "
                                            "run `hearth router calibrate --window " +
                                            std::to_string(*router_window) + "`");
        c.decision.window = *router_window;
    }
    // Fail closed: a bad user regex is a config error, not a scanner that silently matches less.
    if (auto sc = privacy::Scanner::create(c.scanner); !sc)
        return error(Code::BadField, "router config: privacy: " + sc.message());
    return c;
}

Result<Config> load_config(const std::string& path, bool must_exist, const std::string& hearth_home) {
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        struct stat st {};
        if (!must_exist && ::stat(path.c_str(), &st) != 0)
            return parse_config("", "", hearth_home, [](const char* n) { return std::getenv(n); });
        return error(Code::NotFound, "router config " + path + ": cannot read it");
    }
    std::ostringstream ss;
    ss << in.rdbuf();
    return parse_config(ss.str(), path, hearth_home, [](const char* n) { return std::getenv(n); });
}

namespace {
std::string q(const std::string& s) {
    std::ostringstream o;
    o << toml::value<std::string>(s);
    return o.str();
}
std::string num(double v) {
    std::ostringstream o;
    o << toml::value<double>(v);
    return o.str();
}
} // namespace

std::string dump(const Config& c) {
    std::ostringstream o;
    o << "# effective router configuration"
      << (c.source.empty() ? " (built-in defaults: no file)" : " from " + c.source) << "\n[router]\n";
    o << "local_model = " << q(c.local_model) << "\n";
    o << "aliases = [";
    for (size_t i = 0; i < c.aliases.size(); ++i)
        o << (i ? ", " : "") << q(c.aliases[i]);
    o << "]\n";
    o << "default_route = " << q(c.default_route) << "\n";
    o << "audit_log = " << q(c.audit_log) << "\n";
    o << "capture_dir = " << q(c.capture_dir) << "\n";
    for (const auto& u : c.upstreams) {
        const auto& e = u.endpoint;
        o << "\n[[upstream]]\nname = " << q(e.name) << "\nbase_url = " << q(e.base_url) << "\nmodel = " << q(e.model)
          << "\n";
        if (e.api_key.empty())
            o << "# api_key: none\n";
        else
            o << "# api_key: <set from " << u.api_key_source << ", " << e.api_key.size() << " characters>\n";
        o << "allow_insecure = " << (e.allow_insecure ? "true" : "false") << "\n";
        o << "price_input_per_mtok = " << num(u.price_input_per_mtok) << "\n";
        o << "price_output_per_mtok = " << num(u.price_output_per_mtok) << "\n";
        o << "daily_budget = " << num(u.daily_budget) << "\n";
        o << "connect_timeout_s = " << num(e.connect_timeout_s) << "\n";
        o << "first_byte_timeout_s = " << num(e.first_byte_timeout_s) << "\n";
        o << "idle_timeout_s = " << num(e.idle_timeout_s) << "\n";
        o << "total_timeout_s = " << num(e.total_timeout_s) << "\n";
        o << "max_response_bytes = " << e.max_response_bytes << "\n";
    }
    o << "\n[privacy]\ndefault = " << q(privacy::action_name(c.policy.fallback)) << "\n";
    for (const auto& [ent, a] : c.policy.actions)
        o << privacy::entity_name(ent) << " = " << q(privacy::action_name(a)) << "\n";
    o << "terms = [";
    for (size_t i = 0; i < c.scanner.terms.size(); ++i)
        o << (i ? ", " : "") << q(c.scanner.terms[i]);
    o << "]\nregexes = [";
    for (size_t i = 0; i < c.scanner.regexes.size(); ++i)
        o << (i ? ", " : "") << q(c.scanner.regexes[i]);
    o << "]\n\n";
    toml::table d;
    decision_to_toml(c.decision, d);
    o << d << "\n";
    return o.str();
}

} // namespace hearth::router
