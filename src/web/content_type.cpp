// web/content_type.cpp: Content-Type by file extension (see assets.h).
#include "web/assets.h"

namespace hearth::web {

std::string_view content_type_for(std::string_view name) {
    struct Type {
        std::string_view ext, type;
    };
    static constexpr Type kTypes[] = {
        {".html", "text/html; charset=utf-8"},
        {".js", "text/javascript; charset=utf-8"},
        {".mjs", "text/javascript; charset=utf-8"},
        {".css", "text/css; charset=utf-8"},
        {".json", "application/json"},
        {".svg", "image/svg+xml"},
        {".png", "image/png"},
        {".ico", "image/x-icon"},
        {".woff2", "font/woff2"},
        {".txt", "text/plain; charset=utf-8"},
        {".webmanifest", "application/manifest+json"},
    };
    for (const Type& t : kTypes)
        if (name.size() > t.ext.size() && name.substr(name.size() - t.ext.size()) == t.ext) return t.type;
    return "application/octet-stream";
}

} // namespace hearth::web
