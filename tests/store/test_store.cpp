// The store: blobs (hashing, dedup, hard links, commit), manifests (atomic, validated), resolve,
// list, remove with garbage collection, copy, import, and symlinks planted to escape the store.
#include "store/store.h"
#include "store_fixture.h"

#include <chrono>
#include <fstream>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;
using namespace hearth::store;
using hearth::test::read_file;
using hearth::test::tiny_model;
using hearth::test::write_file;

namespace {

class StoreTest : public hearth::test::StoreFixture {
protected:
    size_t count_blobs() {
        size_t n = 0;
        for (const auto& e : fs::directory_iterator(store_.root / "blobs"))
            n += e.path().filename().string().starts_with("sha256-");
        return n;
    }
    size_t count_files(const fs::path& dir) {
        size_t n = 0;
        for (const auto& e : fs::recursive_directory_iterator(dir))
            n += e.is_regular_file();
        return n;
    }
    // A copy of a tiny model on the store's filesystem (so hard links work).
    fs::path local_copy(const std::string& file) {
        const fs::path p = dir_ / "src" / file;
        fs::create_directories(p.parent_path());
        fs::copy_file(tiny_model(file), p, fs::copy_options::overwrite_existing);
        return p;
    }
};

TEST_F(StoreTest, OpenCreatesTheLayout) {
    EXPECT_TRUE(fs::is_directory(store_.root / "blobs"));
    EXPECT_TRUE(fs::is_directory(store_.root / "manifests"));
    EXPECT_TRUE(fs::is_directory(store_.root / "tmp"));
    EXPECT_TRUE(store_.root.is_absolute());
    EXPECT_EQ(store_.root, fs::canonical(store_.root));
}

TEST_F(StoreTest, OpenRefusesSymlinkedSubdirectories) {
    const fs::path outside = dir_ / "outside";
    fs::create_directories(outside);
    const fs::path root = dir_ / "evil";
    fs::create_directories(root);
    fs::create_directory_symlink(outside, root / "blobs");
    auto s = open_store(root);
    ASSERT_FALSE(s);
    EXPECT_NE(s.message().find("symbolic link"), std::string::npos) << s.message();
}

TEST_F(StoreTest, DefaultHomeHonoursHearthHome) {
    const char* old = std::getenv("HEARTH_HOME");
    const std::string saved = old ? old : "";
    setenv("HEARTH_HOME", (dir_ / "home").c_str(), 1);
    EXPECT_EQ(default_home(), dir_ / "home");
    if (old)
        setenv("HEARTH_HOME", saved.c_str(), 1);
    else
        unsetenv("HEARTH_HOME");
}

TEST_F(StoreTest, BlobBytesAreContentAddressed) {
    auto d = add_blob_bytes(store_, "hello");
    ASSERT_TRUE(d) << d.message();
    EXPECT_EQ(*d, "sha256:2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
    EXPECT_TRUE(has_blob(store_, *d));
    EXPECT_EQ(read_file(blob_path(store_, *d)), "hello");
    auto again = add_blob_bytes(store_, "hello");
    ASSERT_TRUE(again);
    EXPECT_EQ(*again, *d);
    EXPECT_EQ(count_blobs(), 1u);
    EXPECT_EQ(count_files(store_.root / "tmp"), 0u);
    EXPECT_EQ(sha256_digest(""), "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(StoreTest, BlobFileLinksOrCopies) {
    const fs::path src = local_copy("tiny-qwen2.gguf");
    auto linked = add_blob_file(store_, src, true);
    ASSERT_TRUE(linked) << linked.message();
    struct stat a, b;
    ASSERT_EQ(::stat(src.c_str(), &a), 0);
    ASSERT_EQ(::stat(blob_path(store_, *linked).c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino); // hard link on the same filesystem
    EXPECT_EQ(*linked, *sha256_file(src));

    const fs::path src2 = local_copy("tiny-llama3.gguf");
    auto copied = add_blob_file(store_, src2, false);
    ASSERT_TRUE(copied) << copied.message();
    ASSERT_EQ(::stat(src2.c_str(), &a), 0);
    ASSERT_EQ(::stat(blob_path(store_, *copied).c_str(), &b), 0);
    EXPECT_NE(a.st_ino, b.st_ino);
    EXPECT_EQ(read_file(src2), read_file(blob_path(store_, *copied)));
    EXPECT_EQ(count_files(store_.root / "tmp"), 0u);

    // Adding it again copies nothing and keeps the first blob.
    auto again = add_blob_file(store_, src2, true);
    ASSERT_TRUE(again);
    ASSERT_EQ(::stat(blob_path(store_, *copied).c_str(), &a), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(count_blobs(), 2u);

    auto missing = add_blob_file(store_, dir_ / "nope.gguf");
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("nope.gguf"), std::string::npos);
    EXPECT_FALSE(add_blob_file(store_, dir_)); // a directory
}

TEST_F(StoreTest, BlobFileThroughASymlinkStoresTheTarget) {
    const fs::path src = local_copy("tiny-qwen2.gguf");
    fs::create_symlink(src, dir_ / "link.gguf");
    auto d = add_blob_file(store_, dir_ / "link.gguf", true);
    ASSERT_TRUE(d) << d.message();
    EXPECT_FALSE(fs::is_symlink(blob_path(store_, *d)));
    EXPECT_TRUE(fs::is_regular_file(blob_path(store_, *d)));
}

TEST_F(StoreTest, CommitBlobVerifiesTheChecksum) {
    const fs::path part = partial_path(store_, "https://example.com/model.gguf");
    EXPECT_EQ(part.parent_path(), store_.root / "tmp");
    EXPECT_EQ(part.extension(), ".partial");
    EXPECT_EQ(part, partial_path(store_, "https://example.com/model.gguf"));
    EXPECT_NE(part, partial_path(store_, "https://example.com/other.gguf"));

    write_file(part, "weights");
    const std::string good = sha256_digest("weights");
    const std::string bad = sha256_digest("other");
    auto st = commit_blob(store_, part, bad);
    ASSERT_FALSE(st);
    EXPECT_NE(st.message().find(good), std::string::npos) << st.message();
    EXPECT_NE(st.message().find(bad), std::string::npos) << st.message();
    EXPECT_FALSE(fs::exists(part));
    EXPECT_FALSE(has_blob(store_, bad));
    EXPECT_FALSE(has_blob(store_, good));

    write_file(part, "weights");
    ASSERT_TRUE(commit_blob(store_, part, good));
    EXPECT_TRUE(has_blob(store_, good));
    EXPECT_FALSE(fs::exists(part));

    EXPECT_FALSE(commit_blob(store_, part, "sha256:zz"));
    write_file(dir_ / "elsewhere", "weights");
    auto outside = commit_blob(store_, dir_ / "elsewhere", good);
    ASSERT_FALSE(outside);
    EXPECT_TRUE(fs::exists(dir_ / "elsewhere"));
}

TEST_F(StoreTest, ImportDedupsAndRemoveCollectsGarbage) {
    const fs::path src = local_copy("tiny-qwen2.gguf");
    auto a = import_gguf(store_, src, name("a"));
    ASSERT_TRUE(a) << a.message();
    auto b = import_gguf(store_, src, name("b:v1"), false);
    ASSERT_TRUE(b) << b.message();
    EXPECT_EQ(a->layers[0].digest, b->layers[0].digest);
    EXPECT_EQ(count_blobs(), 1u);
    EXPECT_EQ(a->config["format"], "gguf");
    EXPECT_EQ(a->config["architecture"], "qwen2");
    EXPECT_EQ(a->layers[0].size, fs::file_size(src));

    auto list = list_models(store_);
    ASSERT_TRUE(list) << list.message();
    ASSERT_EQ(list->size(), 2u);
    EXPECT_EQ((*list)[0].name.display(), "a:latest");
    EXPECT_EQ((*list)[1].name.display(), "b:v1");
    EXPECT_EQ((*list)[0].model_digest, a->layers[0].digest);
    EXPECT_EQ((*list)[0].size, fs::file_size(src));

    ASSERT_TRUE(remove_model(store_, name("a")));
    EXPECT_EQ(count_blobs(), 1u);
    auto rb = resolve(store_, name("b:v1"));
    ASSERT_TRUE(rb) << rb.message();
    EXPECT_EQ(rb->model_path, blob_path(store_, a->layers[0].digest));
    ASSERT_TRUE(remove_model(store_, name("b:v1")));
    EXPECT_EQ(count_blobs(), 0u);
    EXPECT_TRUE(fs::is_empty(store_.root / "manifests")); // empty directories removed too
    EXPECT_TRUE(fs::exists(src));                         // the user's file is untouched

    auto again = remove_model(store_, name("a"));
    ASSERT_FALSE(again);
    EXPECT_NE(again.message().find("not found"), std::string::npos);
}

TEST_F(StoreTest, HardLinkedWeightsRewrittenInPlaceAreCaught) {
    const fs::path src = local_copy("tiny-qwen2.gguf");
    auto a = import_gguf(store_, src, name("linked"));
    ASSERT_TRUE(a) << a.message();
    ASSERT_TRUE(resolve(store_, name("linked")));
    ASSERT_GT(fs::hard_link_count(src), 1u) << "the import did not hard-link (test needs the same filesystem)";
    // The user rewrites their file in place (same size, other bytes, newer mtime): the linked blob changes.
    std::string bytes = read_file(src);
    bytes[bytes.size() - 1] ^= 0x55;
    {
        std::fstream f(src, std::ios::in | std::ios::out | std::ios::binary);
        f.seekp(0);
        f.write(bytes.data(), std::streamsize(bytes.size()));
    }
    const auto later = fs::last_write_time(store_.root / "manifests" / "local" / "library" / "linked" / "latest") +
                       std::chrono::seconds(5);
    fs::last_write_time(src, later);
    auto r = resolve(store_, name("linked"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("changed after the import"), std::string::npos) << r.message();
}

TEST_F(StoreTest, GarbageCollectionSparesRecentOrphansButNotReleasedBlobs) {
    auto orphan = add_blob_bytes(store_, "a pull in progress");
    ASSERT_TRUE(orphan);
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen3.gguf"), name("m")));
    ASSERT_TRUE(remove_model(store_, name("m")));
    EXPECT_TRUE(has_blob(store_, *orphan)); // too recent to be garbage
    EXPECT_EQ(count_blobs(), 1u);
}

TEST_F(StoreTest, ImportRefusesNonGguf) {
    write_file(dir_ / "fake.gguf", "this is not a gguf file at all");
    auto r = import_gguf(store_, dir_ / "fake.gguf", name("fake"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("not a readable GGUF"), std::string::npos) << r.message();
    EXPECT_EQ(count_blobs(), 0u);
    EXPECT_FALSE(fs::exists(store_.root / "manifests/local"));
}

TEST_F(StoreTest, CopyModel) {
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-gemma3.gguf"), name("g")));
    ASSERT_TRUE(copy_model(store_, name("g"), name("team/g2:fast")));
    auto a = read_manifest(store_, name("g"));
    auto b = read_manifest(store_, name("team/g2:fast"));
    ASSERT_TRUE(a && b);
    EXPECT_EQ(manifest_to_json(*a), manifest_to_json(*b));
    EXPECT_TRUE(fs::is_regular_file(store_.root / "manifests/local/team/g2/fast"));
    ASSERT_TRUE(remove_model(store_, name("g")));
    EXPECT_TRUE(resolve(store_, name("team/g2:fast")));
    auto missing = copy_model(store_, name("nope"), name("x"));
    ASSERT_FALSE(missing);
    EXPECT_NE(missing.message().find("'nope:latest' not found"), std::string::npos) << missing.message();
}

TEST_F(StoreTest, ManifestRoundTripAndResolveSmallLayers) {
    auto model = add_blob_file(store_, tiny_model("tiny-qwen2.gguf"));
    ASSERT_TRUE(model);
    const std::string tmpl = "{{ .Prompt }}";
    const std::string params = R"({"stop":["<|im_end|>"],"temperature":0.2})";
    const std::string msgs = R"([{"role":"user","content":"hi"}])";
    Manifest m;
    m.config = {{"file_type", "Q8_0"}};
    m.layers.push_back({std::string(kMediaModel), *model, fs::file_size(tiny_model("tiny-qwen2.gguf"))});
    for (auto [type, text] : {std::pair{kMediaTemplate, tmpl},
                              {kMediaParams, params},
                              {kMediaMessages, msgs},
                              {kMediaSystem, std::string("be brief")},
                              {kMediaLicense, std::string("MIT")}}) {
        auto d = add_blob_bytes(store_, text);
        ASSERT_TRUE(d);
        m.layers.push_back({std::string(type), *d, text.size()});
    }
    ASSERT_TRUE(write_manifest(store_, name("full"), m));
    EXPECT_EQ(count_files(store_.root / "tmp"), 0u);
    auto r = resolve(store_, name("full"));
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->template_text, tmpl);
    EXPECT_EQ(r->system, "be brief");
    EXPECT_EQ(r->license, "MIT");
    EXPECT_EQ(r->params["temperature"], 0.2);
    EXPECT_EQ(r->params["stop"][0], "<|im_end|>");
    EXPECT_EQ(r->messages[0]["content"], "hi");
    EXPECT_EQ(r->model_digest, *model);
    auto list = list_models(store_);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].quant, "Q8_0");

    // write_manifest refuses what is not in the store, and invalid structures.
    Manifest bad = m;
    bad.layers[1].digest = sha256_digest("not stored");
    EXPECT_FALSE(write_manifest(store_, name("bad"), bad));
    bad = m;
    bad.layers[1].size += 1;
    EXPECT_FALSE(write_manifest(store_, name("bad"), bad));
    bad = m;
    bad.layers.push_back(m.layers[1]);
    EXPECT_FALSE(write_manifest(store_, name("bad"), bad));
    bad = m;
    bad.layers.erase(bad.layers.begin());
    EXPECT_FALSE(write_manifest(store_, name("bad"), bad));
    EXPECT_FALSE(fs::exists(store_.root / "manifests/local/library/bad"));
}

TEST_F(StoreTest, ResolveReportsDamage) {
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen2.gguf"), name("m"), false));
    auto sys = add_blob_bytes(store_, "system prompt");
    ASSERT_TRUE(sys);
    auto m = read_manifest(store_, name("m"));
    ASSERT_TRUE(m);
    m->layers.push_back({std::string(kMediaSystem), *sys, 13});
    ASSERT_TRUE(write_manifest(store_, name("m"), *m));
    ASSERT_TRUE(resolve(store_, name("m")));

    // Corrupt the small layer (same size, other bytes).
    fs::permissions(blob_path(store_, *sys), fs::perms::owner_write, fs::perm_options::add);
    write_file(blob_path(store_, *sys), "SYSTEM PROMPT");
    auto r = resolve(store_, name("m"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("corrupt"), std::string::npos) << r.message();

    // Truncate, then delete, the model blob.
    const fs::path model = blob_path(store_, m->layers[0].digest);
    fs::resize_file(model, 100);
    r = resolve(store_, name("m"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("bytes, the manifest says"), std::string::npos) << r.message();
    fs::remove(model);
    r = resolve(store_, name("m"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("missing"), std::string::npos) << r.message();
}

TEST_F(StoreTest, MalformedManifestsAreClearErrors) {
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen2.gguf"), name("good")));
    const std::string digest = read_manifest(store_, name("good"))->layers[0].digest;
    const std::string layer =
        R"({"mediaType":"application/vnd.ollama.image.model","digest":")" + digest + R"(","size":1})";
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "not valid JSON"},
        {"{", "not valid JSON"},
        {"[]", "not a JSON object"},
        {"null", "not a JSON object"},
        {R"({"schemaVersion":1,"layers":[)" + layer + "]}", "schemaVersion"},
        {R"({"schemaVersion":"2","layers":[)" + layer + "]}", "schemaVersion"},
        {R"({"schemaVersion":2})", "layers"},
        {R"({"schemaVersion":2,"layers":{}})", "layers"},
        {R"({"schemaVersion":2,"layers":[]})", "no layers"},
        {R"({"schemaVersion":2,"layers":[1]})", "not an object"},
        {R"({"schemaVersion":2,"mediaType":"text/plain","layers":[)" + layer + "]}", "mediaType"},
        {R"({"schemaVersion":2,"config":[],"layers":[)" + layer + "]}", "config"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":"sha256:../../etc","size":1}]})",
         "invalid digest"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" + digest +
             R"(","size":-1}]})",
         "size"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" + digest +
             R"(","size":1.5}]})",
         "size"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.model","digest":")" + digest +
             R"(","size":"1"}]})",
         "size"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/x-evil","digest":")" + digest + R"(","size":1}]})",
         "unsupported media type"},
        {R"({"schemaVersion":2,"layers":[)" + layer + "," + layer + "]}", "more than one"},
        {R"({"schemaVersion":2,"layers":[{"mediaType":"application/vnd.ollama.image.system","digest":")" + digest +
             R"(","size":1}]})",
         "no model layer"},
        {std::string(2 << 20, ' '), "limit"},
        {std::string("{\"schemaVersion\":2,\0}", 21), "not valid JSON"},
    };
    const fs::path p = store_.root / "manifests/local/library/broken/latest";
    for (const auto& [text, needle] : cases) {
        write_file(p, text);
        auto m = read_manifest(store_, name("broken"));
        ASSERT_FALSE(m) << text.substr(0, 200);
        EXPECT_NE(m.message().find("'broken:latest'"), std::string::npos) << m.message();
        EXPECT_NE(m.message().find(needle), std::string::npos) << text.substr(0, 200) << " -> " << m.message();
        EXPECT_FALSE(resolve(store_, name("broken")));
        std::vector<std::string> warnings;
        auto list = list_models(store_, warnings);
        ASSERT_TRUE(list);
        ASSERT_EQ(list->size(), 1u); // the good one only
        EXPECT_EQ(warnings.size(), 1u);
    }
    // A broken manifest can still be removed; the good model's blob survives.
    ASSERT_TRUE(remove_model(store_, name("broken")));
    EXPECT_TRUE(resolve(store_, name("good")));
}

TEST_F(StoreTest, PlantedSymlinksAreRefused) {
    const fs::path outside = dir_ / "outside";
    fs::create_directories(outside);
    ASSERT_TRUE(import_gguf(store_, tiny_model("tiny-qwen2.gguf"), name("good")));
    const std::string manifest_text = read_file(store_.root / "manifests/local/library/good/latest");

    // 1. manifests/<host> is a symlink to a directory outside.
    fs::create_directory_symlink(outside, store_.root / "manifests/evil.host");
    auto w = write_manifest(store_, name("evil.host/ns/m"), *read_manifest(store_, name("good")));
    ASSERT_FALSE(w);
    EXPECT_NE(w.message().find("symbolic link"), std::string::npos) << w.message();
    EXPECT_TRUE(fs::is_empty(outside));
    write_file(outside / "ns/m/latest", manifest_text);
    auto r = read_manifest(store_, name("evil.host/ns/m"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("symbolic link"), std::string::npos) << r.message();
    EXPECT_FALSE(remove_model(store_, name("evil.host/ns/m")));
    EXPECT_TRUE(fs::exists(outside / "ns/m/latest"));

    // 2. the manifest file itself is a symlink.
    fs::create_directories(store_.root / "manifests/local/library/linked");
    fs::create_symlink(outside / "ns/m/latest", store_.root / "manifests/local/library/linked/latest");
    r = read_manifest(store_, name("linked"));
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("symbolic link"), std::string::npos) << r.message();

    // 3. list skips both and warns.
    std::vector<std::string> warnings;
    auto list = list_models(store_, warnings);
    ASSERT_TRUE(list);
    ASSERT_EQ(list->size(), 1u);
    EXPECT_EQ((*list)[0].name.display(), "good:latest");
    EXPECT_EQ(warnings.size(), 2u);

    // 4. a blob replaced by a symlink to a file outside.
    write_file(outside / "secret", "secret");
    const std::string d = sha256_digest("secret");
    fs::create_symlink(outside / "secret", blob_path(store_, d));
    EXPECT_FALSE(has_blob(store_, d));
    EXPECT_FALSE(add_blob_bytes(store_, "secret"));
    EXPECT_EQ(read_file(outside / "secret"), "secret");
    Manifest m = *read_manifest(store_, name("good"));
    m.layers.push_back({std::string(kMediaSystem), d, 6});
    EXPECT_FALSE(write_manifest(store_, name("sneaky"), m));

    // 5. the model blob of a valid manifest swapped for a symlink.
    const fs::path model = blob_path(store_, m.layers[0].digest);
    fs::remove(model);
    fs::create_symlink(tiny_model("tiny-qwen2.gguf"), model);
    auto res = resolve(store_, name("good"));
    ASSERT_FALSE(res);
    EXPECT_NE(res.message().find("symbolic link"), std::string::npos) << res.message();

    // 6. tmp/ replaced by a symlink: writes refuse.
    fs::remove(store_.root / "tmp");
    fs::create_directory_symlink(outside, store_.root / "tmp");
    EXPECT_FALSE(add_blob_bytes(store_, "new bytes"));
    EXPECT_FALSE(fs::exists(outside / "ns/../new"));
    size_t n = 0;
    for (const auto& e : fs::directory_iterator(outside))
        n += e.is_regular_file();
    EXPECT_EQ(n, 1u); // just "secret"
}

TEST_F(StoreTest, HandBuiltNamesAreRevalidated) {
    ModelName n;
    n.model = "../../etc";
    auto p = manifest_path(store_, n);
    ASSERT_FALSE(p);
    n.model = "ok";
    n.ns = "a/b";
    EXPECT_FALSE(manifest_path(store_, n));
    n.ns = "library";
    n.tag = "UPPER";
    EXPECT_FALSE(manifest_path(store_, n));
    n.tag = "latest";
    EXPECT_TRUE(manifest_path(store_, n));
    Manifest m;
    EXPECT_FALSE(write_manifest(store_, ModelName{"local", "library", "..", "latest"}, m));
}

TEST_F(StoreTest, FileTypeNames) {
    EXPECT_EQ(file_type_name(3), "Q4_1");
    EXPECT_EQ(file_type_name(15), "Q4_K_M");
    EXPECT_EQ(file_type_name(9999), "");
}

} // namespace
