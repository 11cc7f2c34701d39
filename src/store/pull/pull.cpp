// store/pull/pull.cpp: `hearth pull`: reference parsing, Hugging Face resolution, download into the
// store's tmp/, GGUF check, atomic commit into blobs/ and the manifest.
#include "store/pull/pull.h"

#include "gguf/gguf.h"
#include "store/pull/download.h"
#include "store/pull/hf.h"
#include "store/pull/net_guard.h"
#include "store/store_fs.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view kDefaultEndpoint = "https://huggingface.co";

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return out;
}

bool starts_with_ci(std::string_view s, std::string_view prefix) {
    return s.size() >= prefix.size() && lower(s.substr(0, prefix.size())) == prefix;
}

// Hugging Face user/org and repository names: [A-Za-z0-9._-], 1..96, no leading/trailing '.' or
// '-', no "..".
Status check_hf_part(std::string_view part, std::string_view what) {
    auto bad = [&](const std::string& why) {
        return error("invalid Hugging Face " + std::string(what) + " '" + std::string(part) + "': " + why);
    };
    if (part.empty() || part.size() > 96) return bad("must be 1 to 96 characters");
    for (char c : part) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                        c == '_' || c == '-';
        if (!ok) return bad("only letters, digits, '.', '_' and '-' are allowed");
    }
    if (part.front() == '.' || part.front() == '-' || part.back() == '.' || part.back() == '-')
        return bad("cannot start or end with '.' or '-'");
    if (part.find("..") != std::string_view::npos) return bad("cannot contain '..'");
    return Status::ok();
}

Result<PullRef> parse_hf_ref(std::string_view text) {
    PullRef ref;
    ref.kind = PullRef::Kind::HuggingFace;
    const size_t colon = text.find(':');
    if (colon != std::string_view::npos) {
        ref.quant = std::string(text.substr(colon + 1));
        text = text.substr(0, colon);
        if (ref.quant.empty() || ref.quant.size() > 40) return error("invalid quant tag '" + ref.quant + "'");
        for (char c : ref.quant) {
            const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
                            c == '-' || c == '.';
            if (!ok) return error("invalid quant tag '" + ref.quant + "': only letters, digits, '_', '-', '.'");
        }
    }
    const size_t slash = text.find('/');
    if (slash == std::string_view::npos || text.find('/', slash + 1) != std::string_view::npos)
        return error("expected ORG/REPO[:QUANT], hf.co/ORG/REPO[:QUANT] or an https:// URL to a .gguf, got '" +
                     std::string(text) + "'");
    ref.org = std::string(text.substr(0, slash));
    ref.repo = std::string(text.substr(slash + 1));
    HEARTH_TRY(check_hf_part(ref.org, "organisation"));
    HEARTH_TRY(check_hf_part(ref.repo, "repository"));
    return ref;
}

// Percent-encodes each segment of a repository path for a URL, keeping '/'.
std::string escape_path(std::string_view path) {
    static constexpr char hex[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : path) {
        const bool keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
                          c == '_' || c == '.' || c == '~' || c == '/';
        if (keep) {
            out += static_cast<char>(c);
        } else {
            out += '%';
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    return out;
}

std::string env_or(const std::string& value, const char* var, std::string_view fallback) {
    if (!value.empty()) return value;
    const char* e = std::getenv(var);
    return e && *e ? std::string(e) : std::string(fallback);
}

DownloadOptions download_options(const PullOptions& opts) {
    DownloadOptions d;
    d.allow_insecure = opts.allow_insecure;
    d.allow_private = opts.allow_private;
    d.offline = opts.offline;
    d.max_retries = opts.max_retries;
    d.retry_base_s = opts.retry_base_s;
    d.on_progress = opts.on_progress;
    return d;
}

// A store name for a URL's file: local/library/<stem>:latest, the stem folded to the name grammar.
Result<ModelName> name_for_url(const std::string& url) {
    std::string_view path = url;
    if (size_t q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
    std::string_view file = path.substr(path.rfind('/') + 1);
    if (file.size() > 5 && lower(file.substr(file.size() - 5)) == ".gguf") file.remove_suffix(5);
    std::string model;
    for (char c : lower(file)) {
        const bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        model += ok ? c : '-';
    }
    while (!model.empty() && !std::isalnum(static_cast<unsigned char>(model.front())))
        model.erase(0, 1);
    while (model.find("..") != std::string::npos)
        model.replace(model.find(".."), 2, ".");
    if (model.size() > 80) model.resize(80);
    auto name = parse_name(model);
    if (!name) return error("cannot make a model name from " + url + " (" + name.message() + "); use --name");
    return name;
}

struct Fetched {
    std::string digest; // sha256:<hex>
    uint64_t size = 0;
    nlohmann::json gguf_info = nlohmann::json::object(); // architecture, file_type
    StoreLock pin; // held from the blob's check or commit until its manifest is written (store.h)
};

// Reads what the manifest records from the GGUF; an error when it is not a readable GGUF.
Result<nlohmann::json> gguf_info(const std::filesystem::path& path) {
    auto file = gguf::File::open(path.string());
    if (!file) return error("the downloaded file is not a valid GGUF model: " + file.message());
    nlohmann::json info = nlohmann::json::object();
    if (auto arch = file->get_string("general.architecture")) info["architecture"] = *arch;
    if (auto ft = file->get_u32("general.file_type")) {
        if (std::string n = file_type_name(*ft); !n.empty()) info["file_type"] = n;
    }
    return info;
}

// The partial file of a download and its validator sidecar must be in the store's tmp/ and no link
// (check_inside lstat's every component, the last included); download() also opens them O_NOFOLLOW.
Status check_partial_path(const Store& store, const fs::path& partial) {
    const fs::path p = partial.lexically_normal();
    if (p.parent_path() != store.root / "tmp")
        return error("internal: the partial download " + p.string() + " is not in " + (store.root / "tmp").string());
    HEARTH_TRY(detail::check_inside(store, p));
    return detail::check_inside(store, validator_path(p));
}

// Downloads `url` into tmp/ (unpinned), checks it is a GGUF, commits it as a blob (pinned: the pin is
// returned for the manifest). With `expected_sha256` (hex), a blob already in the store is not
// downloaded again.
Result<Fetched> fetch_blob(const Store& store, const std::string& url, const std::string& key,
                           const std::string& expected_sha256, const DownloadOptions& dopts) {
    Fetched f;
    if (!expected_sha256.empty()) {
        f.digest = "sha256:" + expected_sha256;
        if (!valid_digest(f.digest)) return error("the hub gave an invalid sha256 '" + expected_sha256 + "'");
        auto pin = lock_store(store, LockMode::Shared);
        if (!pin) return pin.status();
        if (has_blob(store, f.digest)) {
            f.pin = std::move(*pin);
            f.size = std::filesystem::file_size(blob_path(store, f.digest));
            auto info = gguf_info(blob_path(store, f.digest));
            if (!info) return info.status();
            f.gguf_info = std::move(*info);
            return f;
        }
    }
    const fs::path partial = partial_path(store, key);
    HEARTH_TRY(check_partial_path(store, partial));
    std::optional<std::string> expect;
    if (!expected_sha256.empty()) expect = expected_sha256;
    // On failure download() keeps the bytes for a resume (and leaves a file locked by another pull alone).
    auto got = download(url, partial, expect, dopts);
    if (!got) return got.status();
    // got->lock keeps the partial file locked until it is committed or removed: another pull could
    // otherwise take the name while the file is checked and renamed.
    auto info = gguf_info(partial);
    if (!info) {
        remove_partial(partial);
        return info.status();
    }
    f.digest = "sha256:" + got->sha256;
    f.size = got->size;
    f.gguf_info = std::move(*info);
    auto pin = lock_store(store, LockMode::Shared);
    if (!pin) return pin.status();
    f.pin = std::move(*pin);
    // The sidecar goes while the name is still ours: once renamed, another pull may use the name.
    std::error_code ec;
    fs::remove(validator_path(partial), ec);
    if (Status st = commit_blob(store, partial, f.digest); !st) {
        remove_partial(partial);
        return st;
    }
    return f;
}

Status write_model_manifest(const Store& store, const ModelName& name, const Fetched& f, nlohmann::json config) {
    Manifest m;
    m.layers.push_back(Layer{std::string(kMediaModel), f.digest, f.size});
    config["format"] = "gguf";
    config["sha256"] = f.digest.substr(7);
    for (auto it = f.gguf_info.begin(); it != f.gguf_info.end(); ++it)
        if (!config.contains(it.key())) config[it.key()] = it.value();
    m.config = std::move(config);
    return write_manifest(store, f.pin, name, m);
}

Result<ModelName> pull_hf(const Store& store, const PullRef& ref, const PullOptions& opts,
                          const std::optional<ModelName>& name) {
    std::string endpoint = env_or(opts.hf_endpoint, "HF_ENDPOINT", kDefaultEndpoint);
    while (!endpoint.empty() && endpoint.back() == '/')
        endpoint.pop_back();
    // An endpoint the user configured (HF_ENDPOINT, a local mirror) is trusted like --insecure/--allow-private
    // for its own host; redirects from it to other hosts are checked as usual.
    const bool configured = endpoint != kDefaultEndpoint;
    auto ep = parse_url(endpoint, opts.allow_insecure || configured);
    if (!ep) return error("Hugging Face endpoint: " + ep.message());
    DownloadOptions dopts = download_options(opts);
    if (configured) dopts.trusted_hosts.push_back(ep->host);
    dopts.auth_host = ep->host;
    dopts.bearer_token = env_or(opts.hf_token, "HF_TOKEN", "");
    for (char c : dopts.bearer_token)
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) return error("HF_TOKEN contains control characters");
    const std::string repo_id = ref.org + "/" + ref.repo;

    DownloadOptions api = dopts;
    api.on_progress = nullptr;
    auto listing = fetch_text(endpoint + "/api/models/" + repo_id + "/tree/main", api);
    if (!listing) return error(listing.code(), "cannot list " + repo_id + ": " + listing.message());
    auto files = parse_hf_tree(*listing);
    if (!files) return error(repo_id + ": " + files.message());
    auto chosen = choose_gguf(*files, ref.quant);
    if (!chosen) return error(repo_id + ": " + chosen.message());
    const std::string quant = ref.quant.empty() ? quant_of(chosen->path) : ref.quant;

    ModelName out;
    if (name) {
        out = *name;
    } else {
        auto n = parse_name("hf.co/" + lower(repo_id) + ":" + (quant.empty() ? "latest" : lower(quant)));
        if (!n) return error("cannot name " + repo_id + " in the store (" + n.message() + "); use --name");
        out = *n;
    }
    const std::string url = endpoint + "/" + repo_id + "/resolve/main/" + escape_path(chosen->path);
    dopts.expected_size = chosen->size;
    auto f = fetch_blob(store, url, "hf:" + url + "@" + chosen->sha256, chosen->sha256, dopts);
    if (!f) return f.status();
    nlohmann::json config = {{"source", "hf.co/" + repo_id}, {"url", url}, {"file", chosen->path}};
    if (!quant.empty()) config["quant"] = quant;
    HEARTH_TRY(write_model_manifest(store, out, *f, std::move(config)));
    return out;
}

Result<ModelName> pull_url(const Store& store, const PullRef& ref, const PullOptions& opts,
                           const std::optional<ModelName>& name) {
    ModelName out;
    if (name) {
        out = *name;
    } else {
        auto n = name_for_url(ref.url);
        if (!n) return n.status();
        out = *n;
    }
    auto f = fetch_blob(store, ref.url, "url:" + ref.url, "", download_options(opts));
    if (!f) return f.status();
    std::string_view path = ref.url;
    if (size_t q = path.find_first_of("?#"); q != std::string_view::npos) path = path.substr(0, q);
    const std::string file(path.substr(path.rfind('/') + 1));
    nlohmann::json config = {{"source", ref.url}, {"url", ref.url}, {"file", file}};
    if (std::string q = quant_of(file); !q.empty()) config["quant"] = q;
    HEARTH_TRY(write_model_manifest(store, out, *f, std::move(config)));
    return out;
}

} // namespace

Result<PullRef> parse_pull_ref(std::string_view text, const PullOptions& opts) {
    while (!text.empty() && (text.front() == ' ' || text.front() == '\t'))
        text.remove_prefix(1);
    while (!text.empty() && (text.back() == ' ' || text.back() == '\t'))
        text.remove_suffix(1);
    if (text.empty()) return error("nothing to pull: expected ORG/REPO[:QUANT] or an https:// URL");
    if (starts_with_ci(text, "https://") || starts_with_ci(text, "http://")) {
        auto parts = parse_url(std::string(text), opts.allow_insecure);
        if (!parts) return parts.status();
        // A Hugging Face repository page (https://huggingface.co/ORG/REPO) means the repository.
        if (parts->host == "huggingface.co" || parts->host == "hf.co") {
            std::string_view rest = text.substr(text.find("://") + 3);
            rest = rest.substr(rest.find('/') == std::string_view::npos ? rest.size() : rest.find('/') + 1);
            while (!rest.empty() && rest.back() == '/')
                rest.remove_suffix(1);
            if (std::count(rest.begin(), rest.end(), '/') == 1 && rest.find_first_of("?#") == std::string_view::npos)
                return parse_hf_ref(rest);
        }
        PullRef ref;
        ref.kind = PullRef::Kind::Url;
        ref.url = std::string(text);
        return ref;
    }
    if (text.find("://") != std::string_view::npos)
        return error("unsupported URL scheme in '" + std::string(text) + "' (only https:// can be pulled)");
    if (starts_with_ci(text, "hf.co/"))
        text.remove_prefix(6);
    else if (starts_with_ci(text, "huggingface.co/"))
        text.remove_prefix(15);
    return parse_hf_ref(text);
}

Result<ModelName> pull(const Store& store, std::string_view ref_text, const PullOptions& opts,
                       const std::optional<ModelName>& name) {
    if (offline_mode(download_options(opts)))
        return error("offline mode (HEARTH_OFFLINE is set): cannot pull '" + std::string(ref_text) + "'");
    auto ref = parse_pull_ref(ref_text, opts);
    if (!ref) return ref.status();
    return ref->kind == PullRef::Kind::HuggingFace ? pull_hf(store, *ref, opts, name)
                                                   : pull_url(store, *ref, opts, name);
}

} // namespace hearth::store
