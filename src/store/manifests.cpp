// store/manifests.cpp: manifests (JSON, validated on write and read), resolve, list, remove with
// blob garbage collection, copy and GGUF import.
#include "base/check.h"
#include "gguf/gguf.h"
#include "store/store.h"
#include "store/store_fs.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <map>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using nlohmann::json;

namespace hearth::store {

using namespace detail;

namespace {

constexpr std::string_view kManifestMediaType = "application/vnd.docker.distribution.manifest.v2+json";
constexpr uint64_t kMaxManifestBytes = 1u << 20;
constexpr size_t kMaxLayers = 64;
// Unreferenced blobs that entered the store this recently may have been added through the unpinned API
// (add_blob_file, add_blob_bytes) by a caller that writes its manifest next: garbage collection leaves
// them alone (unless the removed model used them). Pinned writers (store.h) do not rely on this.
constexpr auto kOrphanGrace = std::chrono::minutes(10);

bool known_media_type(std::string_view t) {
    return t == kMediaModel || t == kMediaTemplate || t == kMediaSystem || t == kMediaParams || t == kMediaMessages ||
           t == kMediaLicense;
}

std::string quoted(const ModelName& n) {
    return "'" + n.display() + "'";
}

// Digests referenced by a manifest file, read leniently (for garbage collection only).
Result<std::set<std::string>> referenced_digests(const fs::path& p) {
    auto text = read_small_file(p, kMaxManifestBytes);
    if (!text) return text.status();
    std::set<std::string> out;
    try {
        const json j = json::parse(*text);
        if (!j.is_object() || !j.contains("layers") || !j["layers"].is_array())
            return error(p.string() + " has no layer list");
        for (const auto& l : j["layers"])
            if (l.is_object() && l.contains("digest") && l["digest"].is_string())
                out.insert(l["digest"].get<std::string>());
    } catch (const json::exception& e) {
        return error(p.string() + " is not JSON: " + e.what());
    }
    return out;
}

Result<std::string> read_layer_text(const Store& store, const Layer& l, const ModelName& name) {
    if (l.size > kMaxSmallLayer)
        return error("model " + quoted(name) + ": the " + l.media_type + " layer is " + std::to_string(l.size) +
                     " bytes, more than the limit of " + std::to_string(kMaxSmallLayer));
    const fs::path p = blob_path(store, l.digest);
    HEARTH_TRY(check_inside(store, p));
    auto text = read_small_file(p, kMaxSmallLayer);
    if (!text)
        return error("model " + quoted(name) + ": layer " + l.digest + " is unreadable (" + text.message() +
                     "); remove the model and pull or create it again");
    if (text->size() != l.size || sha256_digest(*text) != l.digest)
        return error("model " + quoted(name) + ": layer " + l.digest +
                     " is corrupt (its contents do not match its digest); remove the model and create it again");
    return text;
}

} // namespace

Status detail::walk_manifests(const Store& store, std::vector<std::string>& warnings,
                              const std::function<void(const ModelName&, const fs::path&)>& fn) {
    const fs::path top = store.root / "manifests";
    HEARTH_TRY(check_inside(store, top));
    std::error_code ec;
    auto children = [&](const fs::path& dir, bool want_dirs) {
        std::vector<fs::path> out;
        for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
            const auto st = it->symlink_status(ec);
            if (ec) break;
            const bool ok = want_dirs ? fs::is_directory(st) : fs::is_regular_file(st);
            if (!ok) {
                warnings.push_back("skipped " + it->path().string() +
                                   (fs::is_symlink(st) ? ": a symbolic link" : ": not a manifest"));
                continue;
            }
            out.push_back(it->path());
        }
        if (ec) warnings.push_back("cannot read " + dir.string() + ": " + ec.message());
        ec.clear();
        std::sort(out.begin(), out.end());
        return out;
    };
    for (const auto& host : children(top, true))
        for (const auto& ns : children(host, true))
            for (const auto& model : children(ns, true))
                for (const auto& tag : children(model, false)) {
                    const std::string text = host.filename().string() + "/" + ns.filename().string() + "/" +
                                             model.filename().string() + ":" + tag.filename().string();
                    auto name = parse_name(text);
                    if (!name || name->host != host.filename() || name->ns != ns.filename() ||
                        name->model != model.filename() || name->tag != tag.filename()) {
                        warnings.push_back("skipped " + tag.string() + ": not a valid model name");
                        continue;
                    }
                    fn(*name, tag);
                }
    return Status::ok();
}

std::string file_type_name(uint64_t ftype) {
    return std::string(gguf::file_type_name(ftype));
}

Status validate_manifest(const Manifest& m) {
    if (m.layers.empty()) return error("it has no layers");
    if (m.layers.size() > kMaxLayers) return error("it has " + std::to_string(m.layers.size()) + " layers");
    std::set<std::string> seen;
    for (size_t i = 0; i < m.layers.size(); ++i) {
        const Layer& l = m.layers[i];
        const std::string at = "layer " + std::to_string(i);
        if (!known_media_type(l.media_type))
            return error(at + " has the unsupported media type '" + l.media_type + "'");
        if (!valid_digest(l.digest)) return error(at + " has the invalid digest '" + l.digest + "'");
        if (!seen.insert(l.media_type).second) return error("more than one layer of type " + l.media_type);
        if (l.media_type != kMediaModel && l.size > kMaxSmallLayer)
            return error(at + " (" + l.media_type + ") is larger than " + std::to_string(kMaxSmallLayer) + " bytes");
    }
    if (!seen.count(std::string(kMediaModel))) return error("it has no model layer (" + std::string(kMediaModel) + ")");
    if (!m.config.is_object()) return error("its config is not a JSON object");
    return Status::ok();
}

std::string manifest_to_json(const Manifest& m) {
    json layers = json::array();
    for (const auto& l : m.layers)
        layers.push_back({{"mediaType", l.media_type}, {"digest", l.digest}, {"size", l.size}});
    const json j = {{"schemaVersion", 2},
                    {"mediaType", kManifestMediaType},
                    {"config", m.config.is_object() ? m.config : json::object()},
                    {"layers", layers}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

Result<Manifest> parse_manifest(std::string_view text) {
    json j;
    try {
        j = json::parse(text);
    } catch (const json::exception& e) {
        return error(std::string("it is not valid JSON (") + e.what() + ")");
    }
    if (!j.is_object()) return error("it is not a JSON object");
    if (!j.contains("schemaVersion") || !j["schemaVersion"].is_number_unsigned() || j["schemaVersion"] != 2)
        return error("schemaVersion is missing or not 2");
    if (j.contains("mediaType") && (!j["mediaType"].is_string() || j["mediaType"] != kManifestMediaType))
        return error("mediaType is not " + std::string(kManifestMediaType));
    Manifest m;
    m.config = json::object();
    if (j.contains("config")) {
        if (!j["config"].is_object()) return error("config is not an object");
        m.config = j["config"];
    }
    if (!j.contains("layers") || !j["layers"].is_array()) return error("layers is missing or not an array");
    for (size_t i = 0; i < j["layers"].size(); ++i) {
        const json& l = j["layers"][i];
        const std::string at = "layer " + std::to_string(i);
        if (!l.is_object()) return error(at + " is not an object");
        if (!l.contains("mediaType") || !l["mediaType"].is_string()) return error(at + ": mediaType is missing");
        if (!l.contains("digest") || !l["digest"].is_string()) return error(at + ": digest is missing");
        if (!l.contains("size") || !l["size"].is_number_unsigned())
            return error(at + ": size is missing or not a non-negative integer");
        m.layers.push_back(
            {l["mediaType"].get<std::string>(), l["digest"].get<std::string>(), l["size"].get<uint64_t>()});
        if (m.layers.size() > kMaxLayers) return error("more than " + std::to_string(kMaxLayers) + " layers");
    }
    HEARTH_TRY(validate_manifest(m));
    return m;
}

Result<fs::path> manifest_path(const Store& store, const ModelName& name) {
    // Re-validate: a ModelName can be built by hand, and this is the only way names reach paths.
    auto check = parse_name(name.host + "/" + name.ns + "/" + name.model + ":" + name.tag);
    if (!check || !(*check == name)) return error("invalid model name " + quoted(name));
    const fs::path p = store.root / "manifests" / name.host / name.ns / name.model / name.tag;
    HEARTH_TRY(check_inside(store, p));
    return p;
}

Status detail::check_blobs(const Store& store, const Manifest& m) {
    for (const auto& l : m.layers) {
        if (!valid_digest(l.digest))
            return error("layer " + l.media_type + " has the invalid digest '" + l.digest + "'");
        const fs::path b = blob_path(store, l.digest);
        HEARTH_TRY(check_inside(store, b));
        struct stat st;
        if (::lstat(b.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
            return error("blob " + l.digest + " (" + l.media_type + ") is not in the store");
        if (static_cast<uint64_t>(st.st_size) != l.size)
            return error("blob " + l.digest + " (" + l.media_type + ") is " + std::to_string(st.st_size) +
                         " bytes, the manifest says " + std::to_string(l.size));
    }
    return Status::ok();
}

Status write_manifest(const Store& store, const StoreLock& pin, const ModelName& name, const Manifest& m) {
    HEARTH_CHECK(pin.held(), "write_manifest: the store lock must be held");
    if (Status st = validate_manifest(m); !st)
        return error("cannot write the manifest of " + quoted(name) + ": " + st.message());
    // Checked under the pin: no garbage collection can remove these blobs until the manifest is written.
    if (Status st = check_blobs(store, m); !st)
        return error("cannot write the manifest of " + quoted(name) + ": " + st.message());
    auto p = manifest_path(store, name);
    if (!p) return p.status();
    HEARTH_TRY(make_dirs_inside(store, p->parent_path()));
    return write_atomic(store, *p, manifest_to_json(m));
}

Status write_manifest(const Store& store, const ModelName& name, const Manifest& m) {
    auto pin = lock_store(store, LockMode::Shared);
    if (!pin) return pin.status();
    return write_manifest(store, *pin, name, m);
}

Result<Manifest> read_manifest(const Store& store, const ModelName& name) {
    auto p = manifest_path(store, name);
    if (!p) return p.status();
    struct stat st;
    if (::lstat(p->c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return error(Code::NotFound, "model " + quoted(name) + " not found");
        return errno_error("cannot read the manifest of " + quoted(name), errno);
    }
    if (!S_ISREG(st.st_mode))
        return error("the manifest of " + quoted(name) + " (" + p->string() + ") is not a regular file");
    auto text = read_small_file(*p, kMaxManifestBytes);
    if (!text) return error("cannot read the manifest of " + quoted(name) + ": " + text.message());
    auto m = parse_manifest(*text);
    if (!m) return error("the manifest of " + quoted(name) + " (" + p->string() + ") is malformed: " + m.message());
    return m;
}

Result<ResolvedModel> resolve(const Store& store, const ModelName& name) {
    auto m = read_manifest(store, name);
    if (!m) return m.status();
    ResolvedModel r;
    r.name = name;
    r.manifest = *m;
    for (const Layer& l : m->layers) {
        if (l.media_type == kMediaModel) {
            r.model_digest = l.digest;
            r.model_path = blob_path(store, l.digest);
            HEARTH_TRY(check_inside(store, r.model_path));
            struct stat st;
            if (::lstat(r.model_path.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
                return error("model " + quoted(name) + ": its weights (blob " + l.digest +
                             ") are missing from the store; remove the model and pull or import it again");
            if (static_cast<uint64_t>(st.st_size) != l.size)
                return error("model " + quoted(name) + ": its weights (blob " + l.digest + ") are " +
                             std::to_string(st.st_size) + " bytes, the manifest says " + std::to_string(l.size) +
                             "; remove the model and pull or import it again");
            // A blob hard-linked to a user's file (hearth import) changes if that file is rewritten in
            // place. Blobs are immutable, so a linked blob modified after its manifest was written is
            // hashed again before it is trusted.
            struct stat ms;
            auto mp = manifest_path(store, name);
            if (st.st_nlink > 1 && mp && ::stat(mp->c_str(), &ms) == 0 && st.st_mtime > ms.st_mtime) {
                auto h = sha256_file(r.model_path);
                if (!h) return h.status();
                if (*h != l.digest)
                    return error("model " + quoted(name) +
                                 ": its weights changed after the import (the blob is a "
                                 "hard link to a file that was modified); import the file again");
            }
            continue;
        }
        auto text = read_layer_text(store, l, name);
        if (!text) return text.status();
        if (l.media_type == kMediaTemplate) r.template_text = *text;
        if (l.media_type == kMediaSystem) r.system = *text;
        if (l.media_type == kMediaLicense) r.license = *text;
        if (l.media_type == kMediaParams || l.media_type == kMediaMessages) {
            json j;
            try {
                j = json::parse(*text);
            } catch (const json::exception& e) {
                return error("model " + quoted(name) + ": the " + l.media_type + " layer is not JSON (" + e.what() +
                             ")");
            }
            if (l.media_type == kMediaParams) {
                if (!j.is_object())
                    return error("model " + quoted(name) + ": the parameters layer is not a JSON object");
                r.params = j;
            } else {
                if (!j.is_array()) return error("model " + quoted(name) + ": the messages layer is not a JSON array");
                for (const auto& msg : j)
                    if (!msg.is_object() || !msg.contains("role") || !msg["role"].is_string() ||
                        !msg.contains("content") || !msg["content"].is_string())
                        return error("model " + quoted(name) + ": a message lacks a string role or content");
                r.messages = j;
            }
        }
    }
    return r;
}

Result<std::vector<ModelEntry>> list_models(const Store& store, std::vector<std::string>& warnings) {
    std::vector<ModelEntry> out;
    HEARTH_TRY(walk_manifests(store, warnings, [&](const ModelName& name, const fs::path& p) {
        auto m = read_manifest(store, name);
        if (!m) {
            warnings.push_back(m.message());
            return;
        }
        ModelEntry e;
        e.name = name;
        for (const auto& l : m->layers) {
            e.size += l.size;
            if (l.media_type == kMediaModel) e.model_digest = l.digest;
        }
        if (m->config.contains("file_type") && m->config["file_type"].is_string())
            e.quant = m->config["file_type"].get<std::string>();
        if (Status whole = check_blobs(store, *m); !whole) e.problem = whole.message();
        std::error_code ec;
        e.modified = fs::last_write_time(p, ec);
        out.push_back(std::move(e));
    }));
    std::sort(out.begin(), out.end(),
              [](const ModelEntry& a, const ModelEntry& b) { return a.name.display() < b.name.display(); });
    return out;
}

Result<std::vector<ModelEntry>> list_models(const Store& store) {
    std::vector<std::string> warnings;
    return list_models(store, warnings);
}

Status remove_model(const Store& store, const ModelName& name) {
    auto p = manifest_path(store, name);
    if (!p) return p.status();
    // Exclusive: no writer is between checking its blobs and writing its manifest (store.h).
    auto lock = lock_store(store, LockMode::Exclusive);
    if (!lock) return lock.status();
    struct stat st;
    if (::lstat(p->c_str(), &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR) return error(Code::NotFound, "model " + quoted(name) + " not found");
        return errno_error("cannot remove " + quoted(name), errno);
    }
    if (!S_ISREG(st.st_mode))
        return error("the manifest of " + quoted(name) + " is not a regular file; not removing it");
    // A malformed manifest is still removed; its digests (if readable) are garbage-collection candidates.
    std::set<std::string> released;
    if (auto d = referenced_digests(*p)) released = *d;
    if (::unlink(p->c_str()) != 0) return errno_error("cannot remove the manifest of " + quoted(name), errno);
    HEARTH_TRY(fsync_dir(p->parent_path()));
    // Drop the now-empty model/ns/host directories (rmdir fails harmlessly on a non-empty one).
    for (fs::path d = p->parent_path(); d != store.root / "manifests"; d = d.parent_path())
        if (::rmdir(d.c_str()) != 0) break;

    // Garbage collection: a blob stays while any manifest references it. If some manifest cannot be
    // read, nothing is collected (it might reference anything).
    std::set<std::string> referenced;
    bool complete = true;
    std::vector<std::string> warnings;
    HEARTH_TRY(walk_manifests(store, warnings, [&](const ModelName&, const fs::path& mp) {
        auto d = referenced_digests(mp);
        if (!d) {
            complete = false;
            return;
        }
        referenced.insert(d->begin(), d->end());
    }));
    if (!complete) return Status::ok();
    const fs::path blobs = store.root / "blobs";
    const auto now = std::chrono::system_clock::now();
    std::error_code ec;
    for (auto it = fs::directory_iterator(blobs, ec); !ec && it != fs::directory_iterator(); it.increment(ec)) {
        const std::string file = it->path().filename().string();
        if (file.rfind("sha256-", 0) != 0) continue;
        const std::string digest = "sha256:" + file.substr(7);
        if (!valid_digest(digest) || referenced.count(digest)) continue;
        struct stat bs;
        if (::lstat(it->path().c_str(), &bs) != 0 || !S_ISREG(bs.st_mode)) continue;
        const auto changed = std::chrono::system_clock::from_time_t(bs.st_ctim.tv_sec);
        if (!released.count(digest) && now - changed < kOrphanGrace) continue;
        ::unlink(it->path().c_str());
    }
    return Status::ok();
}

Status copy_model(const Store& store, const ModelName& from, const ModelName& to) {
    // Pinned from the read on: `from` may be removed meanwhile, its blobs may not.
    auto pin = lock_store(store, LockMode::Shared);
    if (!pin) return pin.status();
    auto m = read_manifest(store, from);
    if (!m) return m.status();
    if (Status whole = check_blobs(store, *m); !whole)
        return error("cannot copy " + quoted(from) + ": " + whole.message() +
                     " (the model is broken: remove it and pull or create it again)");
    return write_manifest(store, *pin, to, *m);
}

Result<StagedGguf> detail::stage_gguf(const Store& store, const fs::path& file, bool link) {
    auto g = gguf::File::open(file.string());
    if (!g) return error("cannot import " + file.string() + ": not a readable GGUF file (" + g.message() + ")");
    json config = {{"format", "gguf"}};
    std::error_code ec;
    const fs::path abs = fs::absolute(file, ec);
    config["source"] = (ec ? file : abs).string();
    if (auto arch = g->get_string("general.architecture")) config["architecture"] = *arch;
    if (auto ft = g->get_u64("general.file_type"); ft && !file_type_name(*ft).empty())
        config["file_type"] = file_type_name(*ft);
    uint64_t n_params = 0;
    for (const auto& t : g->tensors())
        n_params += t.n_elements;
    config["parameter_count"] = n_params;

    auto blob = stage_blob_file(store, file, link);
    if (!blob) return error("cannot import " + file.string() + ": " + blob.message());
    Manifest m;
    m.config = config;
    m.layers.push_back({std::string(kMediaModel), blob->digest, blob->size});
    return StagedGguf{std::move(m), std::move(*blob)};
}

Result<Manifest> import_gguf(const Store& store, const fs::path& file, const ModelName& name, bool link) {
    auto staged = stage_gguf(store, file, link); // the slow part (hashing, copying), unpinned
    if (!staged) return staged.status();
    auto pin = lock_store(store, LockMode::Shared);
    if (!pin) return pin.status();
    if (Status st = place_staged(store, staged->blob); !st)
        return error("cannot import " + file.string() + ": " + st.message());
    HEARTH_TRY(write_manifest(store, *pin, name, staged->manifest));
    return staged->manifest;
}

} // namespace hearth::store
