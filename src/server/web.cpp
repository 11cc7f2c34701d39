// server/web.cpp: the web page's routes (see web.h).
#include "server/web.h"

#include "server/security.h"
#include "web/assets.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <zlib.h>

namespace hearth::server {
namespace {

namespace fs = std::filesystem;

std::string lower(std::string_view s) {
    std::string o(s);
    for (char& c : o)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return o;
}

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

void security_headers(HttpResponse& r) {
    r.headers.emplace_back("Content-Security-Policy", std::string(kWebCsp));
    r.headers.emplace_back("X-Frame-Options", "DENY");
    r.headers.emplace_back("Referrer-Policy", "no-referrer");
    r.headers.emplace_back("Cross-Origin-Opener-Policy", "same-origin");
    r.headers.emplace_back("Cross-Origin-Resource-Policy", "same-origin");
}

// Whether an If-None-Match value names `etag` (a list of entity tags, or "*"; weak ones compare weakly).
bool etag_matches(std::string_view if_none_match, std::string_view etag) {
    size_t i = 0;
    while (i <= if_none_match.size()) {
        size_t j = if_none_match.find(',', i);
        if (j == std::string_view::npos) j = if_none_match.size();
        std::string_view t = trim(if_none_match.substr(i, j - i));
        if (t == "*") return true;
        if (t.substr(0, 2) == "W/") t.remove_prefix(2);
        if (t == etag) return true;
        i = j + 1;
    }
    return false;
}

HttpResponse serve_asset(const web::Asset& a, const HttpRequest& req) {
    HttpResponse r;
    r.content_type = std::string(a.content_type);
    security_headers(r);
    r.headers.emplace_back("ETag", std::string(a.etag));
    r.headers.emplace_back("Cache-Control", a.vendor ? "public, max-age=604800" : "no-cache");
    if (a.gzipped) r.headers.emplace_back("Vary", "Accept-Encoding");
    if (auto it = req.headers.find("if-none-match"); it != req.headers.end() && etag_matches(it->second, a.etag)) {
        r.status = 304;
        return r;
    }
    auto ae = req.headers.find("accept-encoding");
    if (!a.gzipped) {
        r.body = std::string(a.bytes);
    } else if (ae != req.headers.end() && accepts_gzip(ae->second)) {
        r.headers.emplace_back("Content-Encoding", "gzip");
        r.body = std::string(a.bytes);
    } else if (auto plain = gunzip(a.bytes)) {
        r.body = std::move(*plain);
    } else {
        return error_response(500, "the embedded file " + std::string(a.path) + " is damaged", "server_error",
                              "internal_error");
    }
    return r;
}

// A page file read from --web-dir at each request (for working on the page): no caching.
HttpResponse serve_file(const fs::path& file, const std::string& url_path) {
    std::ifstream f(file, std::ios::binary);
    if (!f) return error_response(404, "not found: " + url_path, "invalid_request_error", "not_found");
    HttpResponse r;
    r.body.assign(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
    r.content_type = std::string(web::content_type_for(file.filename().string()));
    security_headers(r);
    r.headers.emplace_back("Cache-Control", "no-store");
    return r;
}

// A URL path made only of safe characters, no empty or dot segments (the files of --web-dir that get routes).
bool safe_url_path(const std::string& p) {
    if (p.empty() || p[0] != '/') return false;
    for (char c : p)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '/' && c != '.' && c != '-' && c != '_') return false;
    return p.find("//") == std::string::npos && p.find("/.") == std::string::npos;
}

} // namespace

bool accepts_gzip(std::string_view v) {
    // An explicit gzip (or x-gzip) coding decides; else a "*" does; else no (RFC 9110 12.5.3).
    std::optional<bool> gzip, any;
    size_t i = 0;
    while (i <= v.size()) {
        size_t j = v.find(',', i);
        if (j == std::string_view::npos) j = v.size();
        std::string_view item = trim(v.substr(i, j - i));
        i = j + 1;
        const size_t semi = item.find(';');
        const std::string name = lower(trim(item.substr(0, semi)));
        if (name != "gzip" && name != "x-gzip" && name != "*") continue;
        double q = 1;
        if (semi != std::string_view::npos) {
            std::string_view param = trim(item.substr(semi + 1));
            if (param.size() > 2 && (param[0] == 'q' || param[0] == 'Q') && param[1] == '=')
                q = std::strtod(std::string(param.substr(2)).c_str(), nullptr);
        }
        (name == "*" ? any : gzip) = q > 0;
    }
    return gzip.value_or(any.value_or(false));
}

std::optional<std::string> gunzip(std::string_view gz) {
    z_stream z{};
    if (inflateInit2(&z, 15 + 16) != Z_OK) return std::nullopt;
    std::string out;
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(gz.data()));
    z.avail_in = static_cast<uInt>(gz.size());
    int rc = Z_OK;
    char buf[1 << 15];
    while (rc == Z_OK) {
        z.next_out = reinterpret_cast<Bytef*>(buf);
        z.avail_out = sizeof buf;
        rc = inflate(&z, Z_NO_FLUSH);
        out.append(buf, sizeof buf - z.avail_out);
        if (rc == Z_BUF_ERROR && z.avail_in == 0) break; // truncated
    }
    const bool whole = rc == Z_STREAM_END && z.avail_in == 0;
    inflateEnd(&z);
    if (!whole) return std::nullopt;
    return out;
}

Result<std::vector<Route>> web_routes(const std::string& web_dir) {
    std::vector<Route> routes;
    for (const web::Asset& a : web::embedded_assets()) {
        if (a.path.empty() || (!web_dir.empty() && !a.vendor)) continue;
        routes.push_back(Route{"GET", std::string(a.path), Access::Public,
                               [&a](const HttpRequest& req) { return serve_asset(a, req); }});
    }
    if (web_dir.empty()) return routes;

    std::error_code ec;
    const fs::path root = fs::weakly_canonical(web_dir, ec);
    if (ec || !fs::is_directory(root, ec) || !fs::exists(root / "index.html", ec))
        return Status::error(Code::NotFound, "--web-dir " + web_dir + ": not a folder with an index.html");
    for (auto it = fs::recursive_directory_iterator(root, ec); !ec && it != fs::recursive_directory_iterator();
         it.increment(ec)) {
        std::error_code file_ec; // a dangling link or an unreadable entry is skipped, not fatal
        if (!it->is_regular_file(file_ec)) continue;
        std::string url = "/" + fs::relative(it->path(), root, ec).generic_string();
        if (ec || !safe_url_path(url) || url.rfind("/vendor/", 0) == 0) continue;
        if (url == "/index.html") url = "/";
        routes.push_back(Route{"GET", url, Access::Public,
                               [file = it->path(), url](const HttpRequest&) { return serve_file(file, url); }});
    }
    if (ec) return Status::error(Code::NotFound, "--web-dir " + web_dir + ": " + ec.message());
    return routes;
}

} // namespace hearth::server
