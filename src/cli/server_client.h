// cli/server_client.h: the CLI's side of talking to a running `hearth serve` (`hearth ps`, `hearth stop`,
// `hearth router stats`): where it is (HEARTH_HOST, as OLLAMA_HOST: "host:port", "host", ":port" or a full
// http(s):// URL; default 127.0.0.1:11435), its key (HEARTH_API_KEY), and one JSON request to it.
#pragma once

#include "base/status.h"

#include <string>

namespace hearth::cli {

// The server's base URL (no trailing slash) from a HEARTH_HOST value; empty or null: the default.
// An error names the value when it is not a host, host:port, :port or http(s) URL.
Result<std::string> server_base_url(const char* hearth_host);

struct ServerReply {
    long status = 0;
    std::string body;
};

// Sends `method` `path` (with a JSON `body` when not empty) to `base`, with `Authorization: Bearer key` when
// `key` is not empty; 10 s connect, 60 s in all. An error when the server cannot be reached.
Result<ServerReply> call_server(const std::string& base, const std::string& method, const std::string& path,
                                const std::string& body, const std::string& key);

// The message of an error reply ({"error":{"message":...}} or {"error":"..."}), else "HTTP <status>".
std::string reply_error(const ServerReply& r);

} // namespace hearth::cli
