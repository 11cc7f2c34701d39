// web/assets.h: the files of the web chat page (web/ in the repository, plus the Debian-packaged libraries it
// uses: marked, DOMPurify, highlight.js, KaTeX), compiled into the binary at build time by embed_gen.cpp so
// `hearth serve` needs no files and no network at run time. Each file is kept gzip-compressed (woff2 fonts,
// already compressed, as they are); the server sends the gzip bytes to clients that accept them and inflates
// for the rest.
#pragma once

#include <span>
#include <string_view>

namespace hearth::web {

struct Asset {
    std::string_view path;         // the URL path it is served at, e.g. "/js/app.js"; "/" for index.html
    std::string_view content_type; // e.g. "text/javascript; charset=utf-8"
    std::string_view bytes;        // gzip stream when `gzipped`, else the file itself
    bool gzipped = false;
    size_t size = 0;       // the file's own size (uncompressed)
    std::string_view etag; // a strong validator of the file's content, quoted: "\"h-0123456789abcdef\""
    bool vendor = false;   // a third-party library (cached longer; not replaced by `serve --web-dir`)
};

// Every embedded file, sorted by path.
std::span<const Asset> embedded_assets();

// The Content-Type for a file name, by its extension ("application/octet-stream" when unknown).
std::string_view content_type_for(std::string_view filename);

} // namespace hearth::web
