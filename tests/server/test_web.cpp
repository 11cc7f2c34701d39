// tests/server/test_web.cpp: the chat page's routes (server/web.h) and the embedded files (web/assets.h): the
// library files are byte-for-byte Debian's (an independent copy on disk), the page's files are the
// repository's web/ folder, the headers (CSP, caching, ETag/304, gzip negotiation), the page's HTML keeps to
// the CSP (no inline script, handlers or styles) and names only files that exist, and --web-dir mode.
#include "server/web.h"
#include "web/assets.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <iterator>
#include <map>
#include <regex>
#include <set>
#include <string>

#ifndef HEARTH_SOURCE_DIR
#error "HEARTH_SOURCE_DIR must name the repository"
#endif

namespace hearth::server {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

const web::Asset* find_asset(std::string_view path) {
    for (const auto& a : web::embedded_assets())
        if (a.path == path) return &a;
    return nullptr;
}

std::string contents(const web::Asset& a) {
    if (!a.gzipped) return std::string(a.bytes);
    auto plain = gunzip(a.bytes);
    return plain ? *plain : std::string("<damaged>");
}

std::string header(const HttpResponse& r, std::string_view name) {
    for (const auto& [k, v] : r.headers)
        if (k == name) return v;
    return {};
}

std::map<std::string, Route> routes_by_path(const std::vector<Route>& routes) {
    std::map<std::string, Route> m;
    for (const auto& r : routes)
        m[r.path] = r;
    return m;
}

HttpRequest get(const std::string& path, std::map<std::string, std::string> headers = {}) {
    HttpRequest r;
    r.method = "GET";
    r.path = path;
    r.headers = std::move(headers);
    return r;
}

TEST(WebAssets, LibrariesAreDebiansFilesByteForByte) {
    const std::map<std::string, std::string> libs = {
        {"/vendor/marked.min.js", "/usr/share/javascript/marked/marked.umd.min.js"},
        {"/vendor/purify.min.js", "/usr/share/nodejs/dompurify/dist/purify.min.js"},
        {"/vendor/highlight.min.js", "/usr/share/javascript/highlight.js/highlight.min.js"},
        {"/vendor/katex/katex.min.js", "/usr/share/javascript/katex/katex.min.js"},
        {"/vendor/katex/katex.min.css", "/usr/share/javascript/katex/katex.min.css"},
        {"/vendor/katex/fonts/KaTeX_Main-Regular.woff2", "/usr/share/javascript/katex/fonts/KaTeX_Main-Regular.woff2"},
    };
    for (const auto& [url, file] : libs) {
        const web::Asset* a = find_asset(url);
        ASSERT_NE(a, nullptr) << url;
        const std::string disk = read_file(file);
        ASSERT_FALSE(disk.empty()) << file;
        EXPECT_EQ(contents(*a), disk) << url;
        EXPECT_EQ(a->size, disk.size()) << url;
        EXPECT_TRUE(a->vendor) << url;
    }
    EXPECT_FALSE(find_asset("/vendor/katex/fonts/KaTeX_Main-Regular.woff2")->gzipped); // stored as it is
}

TEST(WebAssets, PageFilesAreTheRepositorysWebFolder) {
    const fs::path root = fs::path(HEARTH_SOURCE_DIR) / "web";
    size_t n = 0;
    for (const auto& e : fs::recursive_directory_iterator(root)) {
        if (!e.is_regular_file()) continue;
        std::string url = "/" + fs::relative(e.path(), root).generic_string();
        if (url == "/index.html") url = "/";
        const web::Asset* a = find_asset(url);
        ASSERT_NE(a, nullptr) << url << " is in web/ but not embedded (rebuild?)";
        EXPECT_EQ(contents(*a), read_file(e.path())) << url << " differs from web/ (rebuild?)";
        EXPECT_FALSE(a->vendor);
        ++n;
    }
    EXPECT_GT(n, 0u);
    std::set<std::string> etags;
    for (const auto& a : web::embedded_assets())
        EXPECT_TRUE(etags.insert(std::string(a.etag)).second) << "two files share the ETag of " << a.path;
}

// The page keeps to its own Content-Security-Policy: scripts only by src, no inline handlers or styles, no
// javascript: URLs; and every file it names is served.
TEST(WebAssets, PageHtmlKeepsToTheCspAndNamesOnlyServedFiles) {
    const web::Asset* page = find_asset("/");
    ASSERT_NE(page, nullptr);
    const std::string html = contents(*page);
    EXPECT_EQ(page->content_type, "text/html; charset=utf-8");
    const std::regex script_tag(R"(<script\b([^>]*)>)", std::regex::icase);
    for (auto it = std::sregex_iterator(html.begin(), html.end(), script_tag); it != std::sregex_iterator(); ++it)
        EXPECT_NE((*it)[1].str().find("src="), std::string::npos) << "inline script: " << (*it)[0];
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\son[a-z]+\s*=)", std::regex::icase))) << "inline handler";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(\sstyle\s*=)", std::regex::icase))) << "inline style";
    EXPECT_FALSE(std::regex_search(html, std::regex(R"(<style\b)", std::regex::icase))) << "inline <style>";
    EXPECT_EQ(html.find("javascript:"), std::string::npos);
    const std::regex ref(R"re((?:src|href)\s*=\s*"(/[^"#?]*)")re", std::regex::icase);
    size_t refs = 0;
    for (auto it = std::sregex_iterator(html.begin(), html.end(), ref); it != std::sregex_iterator(); ++it, ++refs)
        EXPECT_NE(find_asset((*it)[1].str()), nullptr) << "the page names " << (*it)[1] << ", which is not served";
    EXPECT_GT(refs, 0u);
    EXPECT_EQ(html.find("http://"), std::string::npos) << "the page loads nothing from elsewhere";
    EXPECT_EQ(html.find("https://"), std::string::npos) << "the page loads nothing from elsewhere";
}

// Issue #17's budget: what the first view loads (every file of the page itself, and the libraries index.html
// names) weighs at most 400 KB as sent compressed; the libraries loaded on demand (highlight.js, KaTeX and its
// fonts) are counted apart.
TEST(WebAssets, FirstViewWeighsAtMost400KBCompressed) {
    const web::Asset* page = find_asset("/");
    ASSERT_NE(page, nullptr);
    const std::string html = contents(*page);
    size_t first = 0, lazy = 0;
    for (const auto& a : web::embedded_assets()) {
        const bool named = html.find("\"" + std::string(a.path) + "\"") != std::string::npos;
        (!a.vendor || named ? first : lazy) += a.bytes.size();
    }
    std::printf("first view %.1f KB compressed; on demand %.1f KB\n", first / 1024.0, lazy / 1024.0);
    EXPECT_LE(first, size_t{400} * 1024);
    EXPECT_GT(lazy, 0u);
}

TEST(WebRoutes, HeadersGzipAndRevalidation) {
    auto routes = web_routes();
    ASSERT_TRUE(routes) << routes.message();
    auto by_path = routes_by_path(*routes);
    for (const auto& [path, r] : by_path) {
        EXPECT_EQ(r.method, "GET");
        EXPECT_EQ(r.access, Access::Public) << path;
    }
    ASSERT_TRUE(by_path.count("/"));
    const Route& page = by_path["/"];

    const HttpResponse plain = page.handler(get("/"));
    EXPECT_EQ(plain.status, 200);
    EXPECT_EQ(header(plain, "Content-Security-Policy"), std::string(kWebCsp));
    EXPECT_EQ(header(plain, "X-Frame-Options"), "DENY");
    EXPECT_EQ(header(plain, "Referrer-Policy"), "no-referrer");
    EXPECT_EQ(header(plain, "Cache-Control"), "no-cache");
    EXPECT_EQ(header(plain, "Content-Encoding"), "");
    EXPECT_EQ(plain.body, contents(*find_asset("/")));

    const HttpResponse gz = page.handler(get("/", {{"accept-encoding", "br;q=1.0, gzip;q=0.8, *;q=0.1"}}));
    EXPECT_EQ(header(gz, "Content-Encoding"), "gzip");
    EXPECT_EQ(header(gz, "Vary"), "Accept-Encoding");
    EXPECT_EQ(gunzip(gz.body).value_or(""), plain.body);
    const HttpResponse refused = page.handler(get("/", {{"accept-encoding", "gzip;q=0"}}));
    EXPECT_EQ(header(refused, "Content-Encoding"), "");
    EXPECT_EQ(refused.body, plain.body);

    const std::string etag = header(plain, "ETag");
    ASSERT_FALSE(etag.empty());
    for (const std::string& inm : {etag, "W/" + etag, "\"other\", " + etag, std::string("*")}) {
        const HttpResponse nm = page.handler(get("/", {{"if-none-match", inm}}));
        EXPECT_EQ(nm.status, 304) << inm;
        EXPECT_TRUE(nm.body.empty());
        EXPECT_EQ(header(nm, "ETag"), etag);
    }
    EXPECT_EQ(page.handler(get("/", {{"if-none-match", "\"other\""}})).status, 200);

    const HttpResponse lib = by_path.at("/vendor/marked.min.js").handler(get("/vendor/marked.min.js"));
    EXPECT_EQ(lib.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(header(lib, "Cache-Control"), "public, max-age=604800");
    const HttpResponse font =
        by_path.at("/vendor/katex/fonts/KaTeX_Main-Regular.woff2").handler(get("/x", {{"accept-encoding", "gzip"}}));
    EXPECT_EQ(font.content_type, "font/woff2");
    EXPECT_EQ(header(font, "Content-Encoding"), ""); // already compressed: sent as it is
}

TEST(WebRoutes, AcceptEncodingAndGunzip) {
    EXPECT_TRUE(accepts_gzip("gzip"));
    EXPECT_TRUE(accepts_gzip("deflate, GZIP"));
    EXPECT_TRUE(accepts_gzip("gzip;q=0.5"));
    EXPECT_TRUE(accepts_gzip("*"));
    EXPECT_TRUE(accepts_gzip("x-gzip"));
    EXPECT_FALSE(accepts_gzip(""));
    EXPECT_FALSE(accepts_gzip("identity"));
    EXPECT_FALSE(accepts_gzip("br, deflate"));
    EXPECT_FALSE(accepts_gzip("gzip;q=0"));
    EXPECT_FALSE(accepts_gzip("gzip; q=0.000"));
    EXPECT_FALSE(accepts_gzip("gzipx"));
    EXPECT_FALSE(accepts_gzip("*;q=0.5, gzip;q=0")); // the explicit coding wins over *
    EXPECT_TRUE(accepts_gzip("gzip;q=0.2, *;q=0"));
    EXPECT_FALSE(accepts_gzip("*;q=0"));

    const web::Asset* a = find_asset("/vendor/purify.min.js");
    ASSERT_NE(a, nullptr);
    ASSERT_TRUE(a->gzipped);
    EXPECT_TRUE(gunzip(a->bytes).has_value());
    EXPECT_FALSE(gunzip(a->bytes.substr(0, a->bytes.size() / 2)).has_value()); // truncated
    EXPECT_FALSE(gunzip(a->bytes.substr(0, a->bytes.size() - 1)).has_value()); // no trailer
    EXPECT_FALSE(gunzip("not gzip at all").has_value());
    EXPECT_FALSE(gunzip("").has_value());
}

TEST(WebRoutes, WebDirServesThePagesFilesFromDiskAndKeepsLibrariesEmbedded) {
    const fs::path dir = fs::temp_directory_path() / ("hearth-webdir-" + std::to_string(::getpid()));
    fs::remove_all(dir);
    EXPECT_FALSE(web_routes(dir.string())); // missing folder
    fs::create_directories(dir / "js");
    EXPECT_FALSE(web_routes(dir.string())); // no index.html
    std::ofstream(dir / "index.html") << "<!doctype html><title>dev</title>";
    std::ofstream(dir / "js" / "a.js") << "export const a = 1;";
    std::ofstream(dir / ".hidden") << "secret";
    std::ofstream(dir / "bad name.js") << "x";
    fs::create_symlink(dir / "nowhere", dir / "dangling.js"); // skipped, not fatal
    fs::create_directories(dir / "vendor");
    std::ofstream(dir / "vendor" / "marked.min.js") << "not the library";
    auto routes = web_routes(dir.string());
    ASSERT_TRUE(routes) << routes.message();
    auto by_path = routes_by_path(*routes);
    EXPECT_FALSE(by_path.count("/.hidden"));
    EXPECT_FALSE(by_path.count("/bad name.js"));
    ASSERT_TRUE(by_path.count("/js/a.js"));
    ASSERT_TRUE(by_path.count("/"));
    EXPECT_EQ(by_path["/"].handler(get("/")).body, "<!doctype html><title>dev</title>");
    std::ofstream(dir / "js" / "a.js") << "export const a = 2;"; // edited: read again at each request
    const HttpResponse js = by_path["/js/a.js"].handler(get("/js/a.js"));
    EXPECT_EQ(js.body, "export const a = 2;");
    EXPECT_EQ(js.content_type, "text/javascript; charset=utf-8");
    EXPECT_EQ(header(js, "Content-Security-Policy"), std::string(kWebCsp));
    EXPECT_EQ(header(js, "Cache-Control"), "no-store");
    // The libraries stay the embedded ones, whatever the folder holds.
    const std::string lib = by_path.at("/vendor/marked.min.js").handler(get("/vendor/marked.min.js")).body;
    EXPECT_EQ(lib, contents(*find_asset("/vendor/marked.min.js")));
    fs::remove(dir / "js" / "a.js"); // gone since the start: 404, no crash
    EXPECT_EQ(by_path["/js/a.js"].handler(get("/js/a.js")).status, 404);
    fs::remove_all(dir);
}

TEST(WebAssets, ContentTypes) {
    EXPECT_EQ(web::content_type_for("a.html"), "text/html; charset=utf-8");
    EXPECT_EQ(web::content_type_for("x/app.js"), "text/javascript; charset=utf-8");
    EXPECT_EQ(web::content_type_for("app.css"), "text/css; charset=utf-8");
    EXPECT_EQ(web::content_type_for("f.woff2"), "font/woff2");
    EXPECT_EQ(web::content_type_for("i.svg"), "image/svg+xml");
    EXPECT_EQ(web::content_type_for("js"), "application/octet-stream");
    EXPECT_EQ(web::content_type_for("noext"), "application/octet-stream");
}

} // namespace
} // namespace hearth::server
