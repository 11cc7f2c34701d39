// store/check.cpp: `hearth doctor`: every manifest checked against its blobs (existence and size, and
// with `hash` the sha256), each under a pin so that a removal running meanwhile cannot make a whole
// model look broken halfway through.
#include "store/store.h"
#include "store/store_fs.h"

#include <algorithm>
#include <sys/stat.h>

namespace fs = std::filesystem;

namespace hearth::store {

using namespace detail;

namespace {

// What is wrong with one layer's blob; "" when nothing is.
std::string layer_problem(const Store& store, const Layer& l, bool hash) {
    const std::string what = "blob " + l.digest + " (" + l.media_type + ")";
    const fs::path p = blob_path(store, l.digest);
    if (Status inside = check_inside(store, p); !inside) return what + ": " + inside.message();
    struct stat st;
    if (::lstat(p.c_str(), &st) != 0) return what + " is missing";
    if (!S_ISREG(st.st_mode)) return what + " is not a regular file";
    if (static_cast<uint64_t>(st.st_size) != l.size)
        return what + " is " + std::to_string(st.st_size) + " bytes, the manifest says " + std::to_string(l.size);
    if (hash) {
        auto h = sha256_file(p);
        if (!h) return what + " cannot be read: " + h.message();
        if (*h != l.digest) return what + " is corrupt: its contents hash to " + *h;
    }
    return "";
}

} // namespace

ModelCheck check_model(const Store& store, const ModelName& name, bool hash) {
    ModelCheck c;
    c.name = name;
    // Best effort: a store whose lock cannot be opened (read-only) is still checked, unpinned.
    auto pin = lock_store(store, LockMode::Shared);
    auto m = read_manifest(store, name);
    if (!m) {
        c.problems.push_back(m.message());
        c.gone = m.code() == Code::NotFound;
        return c;
    }
    for (const Layer& l : m->layers)
        if (std::string p = layer_problem(store, l, hash); !p.empty()) c.problems.push_back(p);
    return c;
}

Result<std::vector<ModelCheck>> check_store(const Store& store, bool hash) {
    std::vector<ModelName> names;
    std::vector<std::string> odd; // entries that are no manifest of a valid name
    HEARTH_TRY(walk_manifests(store, odd, [&](const ModelName& n, const fs::path&) { names.push_back(n); }));
    std::vector<ModelCheck> out;
    for (const auto& n : names) {
        ModelCheck c = check_model(store, n, hash);
        if (!c.gone) out.push_back(std::move(c)); // removed while we looked: not broken, just gone
    }
    for (const auto& w : odd) {
        ModelCheck c;
        c.problems.push_back(w);
        out.push_back(std::move(c));
    }
    return out;
}

} // namespace hearth::store
