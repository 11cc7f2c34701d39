// cli/server_client.cpp: see server_client.h.
#include "cli/server_client.h"

#include "server/server.h"

#include <cctype>
#include <curl/curl.h>
#include <memory>
#include <nlohmann/json.hpp>

namespace hearth::cli {
namespace {

size_t collect(char* p, size_t size, size_t n, void* out) {
    static_cast<std::string*>(out)->append(p, size * n);
    return size * n;
}

bool valid_port(const std::string& p) {
    if (p.empty() || p.size() > 5) return false;
    for (char c : p)
        if (!std::isdigit(static_cast<unsigned char>(c))) return false;
    const int n = std::stoi(p);
    return n > 0 && n <= 65535;
}

bool valid_host(const std::string& h) {
    if (h.empty()) return false;
    if (h.front() == '[') return h.back() == ']' && h.size() > 2;
    for (char c : h)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-' && c != '_') return false;
    return true;
}

} // namespace

Result<std::string> server_base_url(const char* hearth_host) {
    std::string v = hearth_host ? hearth_host : "";
    const std::string def_port = std::to_string(server::kDefaultPort);
    if (v.empty()) return "http://127.0.0.1:" + def_port;
    std::string scheme = "http";
    if (v.rfind("http://", 0) == 0) {
        v = v.substr(7);
    } else if (v.rfind("https://", 0) == 0) {
        scheme = "https";
        v = v.substr(8);
    }
    while (!v.empty() && v.back() == '/')
        v.pop_back();
    std::string host = v, port = scheme == "https" ? "443" : def_port;
    const size_t colon = v.rfind(':');
    if (colon != std::string::npos && v.find(']', colon) == std::string::npos) {
        host = v.substr(0, colon);
        port = v.substr(colon + 1);
    }
    if (host.empty()) host = "127.0.0.1";
    if (host == "0.0.0.0") host = "127.0.0.1"; // as Ollama: a bind-all address means this machine
    if (!valid_host(host) || !valid_port(port))
        return error("HEARTH_HOST='" + std::string(hearth_host) +
                     "' is not host, host:port, :port or an http(s):// URL (default 127.0.0.1:" + def_port + ")");
    return scheme + "://" + host + ":" + port;
}

Result<ServerReply> call_server(const std::string& base, const std::string& method, const std::string& path,
                                const std::string& body, const std::string& key) {
    std::unique_ptr<CURL, decltype(&curl_easy_cleanup)> c(curl_easy_init(), curl_easy_cleanup);
    if (!c) return error("cannot start an HTTP client");
    ServerReply reply;
    const std::string target = base + path;
    curl_easy_setopt(c.get(), CURLOPT_URL, target.c_str());
    curl_easy_setopt(c.get(), CURLOPT_CUSTOMREQUEST, method.c_str());
    curl_easy_setopt(c.get(), CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(c.get(), CURLOPT_WRITEDATA, &reply.body);
    curl_easy_setopt(c.get(), CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(c.get(), CURLOPT_TIMEOUT, 60L);
    curl_easy_setopt(c.get(), CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c.get(), CURLOPT_PROTOCOLS_STR, "http,https");
    struct curl_slist* headers = nullptr;
    if (!key.empty()) headers = curl_slist_append(headers, ("Authorization: Bearer " + key).c_str());
    if (!body.empty()) {
        headers = curl_slist_append(headers, "Content-Type: application/json");
        curl_easy_setopt(c.get(), CURLOPT_POSTFIELDS, body.c_str());
        curl_easy_setopt(c.get(), CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
    }
    curl_easy_setopt(c.get(), CURLOPT_HTTPHEADER, headers);
    const CURLcode rc = curl_easy_perform(c.get());
    curl_slist_free_all(headers);
    if (rc != CURLE_OK)
        return error(target + ": " + curl_easy_strerror(rc) + " (is `hearth serve` running? set HEARTH_HOST)");
    curl_easy_getinfo(c.get(), CURLINFO_RESPONSE_CODE, &reply.status);
    return reply;
}

std::string reply_error(const ServerReply& r) {
    auto j = nlohmann::json::parse(r.body, nullptr, false);
    if (j.is_object() && j.contains("error")) {
        const auto& e = j["error"];
        if (e.is_string()) return e.get<std::string>();
        if (e.is_object() && e.contains("message") && e["message"].is_string()) return e["message"].get<std::string>();
    }
    return "HTTP " + std::to_string(r.status);
}

} // namespace hearth::cli
