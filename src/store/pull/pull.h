// store/pull/pull.h: fetch models into the store, from Hugging Face or any HTTPS URL to a .gguf.
//
// Downloads go to a partial file in the store's tmp/ (resumed with HTTP Range and If-Range after an
// interruption; locked against a concurrent pull of the same file; never a link: see download.h),
// are verified against the expected sha256 (from the hub's LFS metadata when it gives one; always
// computed and recorded), fsync'd and renamed atomically into blobs/. A killed or failed download never
// leaves a file under a blob's final name; a checksum mismatch stores nothing. The download itself runs
// without the store lock; committing the blob and writing the manifest hold a pin (store.h), so a
// `hearth rm` meanwhile cannot collect the blob. Partial files are kept in tmp/ for a resume (the store's
// tmp sweep leaves them alone while locked, and for OpenOptions::partial_max_age when idle).
//
// Network safety: only https:// unless allow_insecure; redirects are followed only to https:// URLs
// whose host does not resolve to a loopback, link-local, private or unspecified address (SSRF), unless
// allow_private. HEARTH_OFFLINE=1 (or PullOptions::offline) refuses every network access.
#pragma once

#include "base/status.h"
#include "store/store.h"

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace hearth::store {

struct Progress {
    uint64_t done = 0;  // bytes on disk so far (including a resumed part)
    uint64_t total = 0; // 0 when unknown
    double rate = 0;    // bytes/s over the recent past
    bool resumed = false;
};

struct PullOptions {
    std::string hf_endpoint;     // default: $HF_ENDPOINT, else https://huggingface.co
    std::string hf_token;        // default: $HF_TOKEN (sent only to the hub endpoint's host)
    bool allow_insecure = false; // allow http:// (tests, local mirrors)
    bool allow_private = false;  // allow loopback/private/link-local addresses (tests, local mirrors)
    bool offline = false;        // also set by HEARTH_OFFLINE=1
    int max_retries = 5;         // per download, with exponential back-off
    double retry_base_s = 1.0;   // first back-off delay
    std::function<void(const Progress&)> on_progress; // called at most ~10 times a second
};

// What a reference names, before any network access.
//   hf.co/ORG/REPO[:QUANT], huggingface.co/ORG/REPO[:QUANT], ORG/REPO[:QUANT]  -> Hugging Face
//   https://host/path/file.gguf (http:// only with allow_insecure)            -> URL
struct PullRef {
    enum class Kind { HuggingFace, Url } kind = Kind::HuggingFace;
    std::string org, repo, quant; // HuggingFace; quant empty = pick Q4_K_M (else the best match)
    std::string url;              // Url
};
Result<PullRef> parse_pull_ref(std::string_view text, const PullOptions& opts = {});

// Pulls `ref` and writes a manifest for it; returns the store name it was given:
// hf.co/<org>/<repo>:<quant> (lower case) for the hub, local/library/<file stem>:latest for a URL
// unless `name` is given.
Result<ModelName> pull(const Store& store, std::string_view ref, const PullOptions& opts,
                       const std::optional<ModelName>& name = std::nullopt);

} // namespace hearth::store
