// store/store.cpp: the store's root, its filesystem primitives (store_fs.h), SHA-256 and blobs.
#include "store/store.h"

#include "base/check.h"
#include "base/hex.h"
#include "base/sha256.h"
#include "store/store_fs.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <pwd.h>
#include <random>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace fs = std::filesystem;

namespace hearth::store {
namespace detail {

Status errno_error(const std::string& what, int err) {
    return error(what + ": " + std::strerror(err));
}

Status check_inside(const Store& store, const fs::path& p) {
    if (p != p.lexically_normal()) return error("refusing path " + p.string() + ": it is not in normal form");
    const fs::path rel = p.lexically_relative(store.root);
    if (rel.empty() || rel.is_absolute() || *rel.begin() == ".." || *rel.begin() == ".")
        return error("refusing path " + p.string() + ": it is outside the model store " + store.root.string());
    fs::path cur = store.root;
    for (const auto& part : rel) {
        cur /= part;
        struct stat st;
        if (::lstat(cur.c_str(), &st) != 0) {
            if (errno == ENOENT || errno == ENOTDIR) return Status::ok(); // the rest does not exist yet
            return errno_error("cannot inspect " + cur.string(), errno);
        }
        if (S_ISLNK(st.st_mode))
            return error("refusing to use " + cur.string() +
                         ": it is a symbolic link, and the model store must not contain any");
    }
    return Status::ok();
}

Status make_dirs_inside(const Store& store, const fs::path& dir) {
    HEARTH_TRY(check_inside(store, dir));
    fs::path cur = store.root;
    for (const auto& part : dir.lexically_relative(store.root)) {
        cur /= part;
        if (::mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST)
            return errno_error("cannot create directory " + cur.string(), errno);
        struct stat st;
        if (::lstat(cur.c_str(), &st) != 0) return errno_error("cannot inspect " + cur.string(), errno);
        if (S_ISLNK(st.st_mode)) return error("refusing to use " + cur.string() + ": it is a symbolic link");
        if (!S_ISDIR(st.st_mode)) return error(cur.string() + " is not a directory");
    }
    return Status::ok();
}

fs::path unique_tmp_path(const Store& store, std::string_view suffix) {
    std::random_device rd;
    const uint64_t r = (static_cast<uint64_t>(rd()) << 32) ^ rd();
    const auto pid = static_cast<unsigned long long>(::getpid());
    char buf[64];
    std::snprintf(buf, sizeof buf, "%llu-%016llx", pid, static_cast<unsigned long long>(r));
    return store.root / "tmp" / (std::string(buf) + std::string(suffix));
}

Result<TmpFile> TmpFile::create(const Store& store, std::string_view suffix) {
    for (int attempt = 0; attempt < 16; ++attempt) {
        fs::path p = unique_tmp_path(store, suffix);
        HEARTH_TRY(check_inside(store, p));
        const int fd = ::open(p.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0) {
            if (errno != EEXIST) return errno_error("cannot create a file in " + (store.root / "tmp").string(), errno);
            continue;
        }
        // Best effort: a fresh file is too young for the sweep to take, so this cannot conflict, and on a
        // filesystem without flock the sweep's age rule alone protects the file.
        (void)::flock(fd, LOCK_SH | LOCK_NB);
        return TmpFile(fd, std::move(p));
    }
    return error("cannot create a unique file in " + (store.root / "tmp").string());
}

Result<TmpFile> TmpFile::link_to(const Store& store, const fs::path& src) {
    const fs::path p = unique_tmp_path(store, ".link");
    HEARTH_TRY(check_inside(store, p));
    // AT_SYMLINK_FOLLOW so a symlink given as `src` links its target, never the symlink itself.
    if (::linkat(AT_FDCWD, src.c_str(), AT_FDCWD, p.c_str(), AT_SYMLINK_FOLLOW) != 0)
        return errno_error("cannot link " + src.string() + " into " + (store.root / "tmp").string(), errno);
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        const int err = errno;
        ::unlink(p.c_str());
        return errno_error("cannot read " + p.string(), err);
    }
    // Shared, so two imports of one file (one inode) do not exclude each other; refused only when some
    // other program holds an exclusive lock on the user's file, and then the age rule still applies.
    (void)::flock(fd, LOCK_SH | LOCK_NB);
    return TmpFile(fd, p);
}

TmpFile::TmpFile(TmpFile&& o) noexcept : fd_(o.fd_), path_(std::move(o.path_)), keep_(o.keep_) {
    o.fd_ = -1;
    o.keep_ = true;
}

TmpFile::~TmpFile() {
    // Unlink before closing: the lock guards the name until it is gone.
    if (!keep_ && !path_.empty()) ::unlink(path_.c_str());
    if (fd_ >= 0) ::close(fd_);
}

Status TmpFile::write_all(std::string_view bytes) {
    size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd_, bytes.data() + done, bytes.size() - done);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("cannot write " + path_.string(), errno);
        }
        done += static_cast<size_t>(n);
    }
    return Status::ok();
}

Status TmpFile::finish() {
    if (::fsync(fd_) != 0) return errno_error("cannot sync " + path_.string(), errno);
    return Status::ok();
}

Status fsync_dir(const fs::path& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot open directory " + dir.string(), errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0 && err != EINVAL) return errno_error("cannot sync directory " + dir.string(), err);
    return Status::ok();
}

Status rename_into_place(const fs::path& from, const fs::path& to) {
    if (::rename(from.c_str(), to.c_str()) != 0) {
        const int err = errno;
        ::unlink(from.c_str());
        return errno_error("cannot move " + from.string() + " to " + to.string(), err);
    }
    return fsync_dir(to.parent_path());
}

Result<std::string> read_small_file(const fs::path& p, uint64_t max_bytes) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return errno_error("cannot read " + p.string(), errno);
    std::unique_ptr<int, void (*)(int*)> guard(new int(fd), [](int* f) {
        ::close(*f);
        delete f;
    });
    struct stat st;
    if (::fstat(fd, &st) != 0) return errno_error("cannot inspect " + p.string(), errno);
    if (!S_ISREG(st.st_mode)) return error(p.string() + " is not a regular file");
    if (static_cast<uint64_t>(st.st_size) > max_bytes)
        return error(p.string() + " is " + std::to_string(st.st_size) + " bytes, more than the limit of " +
                     std::to_string(max_bytes));
    std::string out;
    char buf[65536];
    while (true) {
        const ssize_t n = ::read(fd, buf, sizeof buf);
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("cannot read " + p.string(), errno);
        }
        if (n == 0) break;
        out.append(buf, static_cast<size_t>(n));
        if (out.size() > max_bytes) return error(p.string() + " grew past the limit of " + std::to_string(max_bytes));
    }
    return out;
}

Status write_atomic(const Store& store, const fs::path& dest, std::string_view bytes) {
    HEARTH_TRY(check_inside(store, dest));
    auto tmp = TmpFile::create(store, ".write");
    if (!tmp) return tmp.status();
    HEARTH_TRY(tmp->write_all(bytes));
    HEARTH_TRY(tmp->finish());
    HEARTH_TRY(check_inside(store, dest)); // again: nothing may have been planted meanwhile
    HEARTH_TRY(rename_into_place(tmp->path(), dest));
    tmp->keep();
    return Status::ok();
}

} // namespace detail

using namespace detail;

namespace {

class Fd {
public:
    explicit Fd(int fd) : fd_(fd) {}
    Fd(const Fd&) = delete;
    Fd& operator=(const Fd&) = delete;
    ~Fd() {
        if (fd_ >= 0) ::close(fd_);
    }
    int get() const { return fd_; }

private:
    int fd_;
};

// Reads `fd` to the end, feeding the hash and (if out) a tmp file.
Status hash_stream(int fd, const fs::path& what, Sha256& h, TmpFile* out) {
    std::vector<char> buf(1 << 20);
    while (true) {
        const ssize_t n = ::read(fd, buf.data(), buf.size());
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno_error("cannot read " + what.string(), errno);
        }
        if (n == 0) return Status::ok();
        h.update(buf.data(), static_cast<size_t>(n));
        if (out) HEARTH_TRY(out->write_all(std::string_view(buf.data(), static_cast<size_t>(n))));
    }
}

// Moves a verified file from tmp/ to blobs/sha256-..., unless that blob already exists (then the
// tmp file is dropped: blobs are immutable and content-addressed).
Status place_blob(const Store& store, const fs::path& tmp, std::string_view digest) {
    const fs::path dest = blob_path(store, digest);
    Status inside = check_inside(store, dest);
    if (!inside) {
        ::unlink(tmp.c_str());
        return inside;
    }
    struct stat st;
    if (::lstat(dest.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
        ::unlink(tmp.c_str());
        return Status::ok();
    }
    return rename_into_place(tmp, dest);
}

} // namespace

std::string sha256_digest(std::string_view bytes) {
    Sha256 h;
    h.update(bytes.data(), bytes.size());
    return "sha256:" + h.hex();
}

Result<std::string> sha256_file(const fs::path& path) {
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (fd.get() < 0) return errno_error("cannot read " + path.string(), errno);
    Sha256 h;
    HEARTH_TRY(hash_stream(fd.get(), path, h, nullptr));
    return "sha256:" + h.hex();
}

fs::path default_home() {
    if (const char* env = std::getenv("HEARTH_HOME"); env && *env) return fs::path(env);
    std::string home;
    if (const char* env = std::getenv("HOME"); env && *env) {
        home = env;
    } else {
        struct passwd pw;
        struct passwd* res = nullptr;
        std::vector<char> buf(16384);
        if (::getpwuid_r(::getuid(), &pw, buf.data(), buf.size(), &res) == 0 && res && res->pw_dir) home = res->pw_dir;
    }
    if (home.empty()) home = ".";
    std::error_code ec;
    if (fs::is_directory(fs::path(home) / ".hearth", ec)) return fs::path(home) / ".hearth";
    return fs::path(home) / ".local" / "share" / "hearth";
}

Result<Store> open_store(const fs::path& root_in, const OpenOptions& opts) {
    fs::path root = root_in.empty() ? default_home() : root_in;
    std::error_code ec;
    root = fs::absolute(root, ec);
    if (ec) return error("cannot locate the model store " + root_in.string() + ": " + ec.message());
    fs::create_directories(root, ec);
    if (ec) return error("cannot create the model store at " + root.string() + ": " + ec.message());
    Store store;
    store.root = fs::canonical(root, ec);
    if (ec) return error("cannot open the model store at " + root.string() + ": " + ec.message());
    if (!fs::is_directory(store.root)) return error("the model store " + store.root.string() + " is not a directory");
    for (const char* sub : {"blobs", "manifests", "tmp"}) {
        Status st = make_dirs_inside(store, store.root / sub);
        if (!st) return error("cannot open the model store at " + store.root.string() + ": " + st.message());
    }
    (void)sweep_tmp(store, opts);
    return store;
}

fs::path blob_path(const Store& store, std::string_view digest) {
    HEARTH_CHECK(valid_digest(digest), "blob_path: invalid digest");
    return store.root / "blobs" / ("sha256-" + std::string(digest.substr(7)));
}

bool has_blob(const Store& store, std::string_view digest) {
    if (!valid_digest(digest)) return false;
    const fs::path p = blob_path(store, digest);
    if (!check_inside(store, p)) return false;
    struct stat st;
    return ::lstat(p.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

Result<StagedBlob> detail::stage_blob_file(const Store& store, const fs::path& src, bool link) {
    struct stat st;
    if (::stat(src.c_str(), &st) != 0) return errno_error("cannot read " + src.string(), errno);
    if (!S_ISREG(st.st_mode)) return error(src.string() + " is not a regular file");
    Sha256 h;
    if (link) {
        // Link first, then hash the link: the bytes hashed are the bytes stored.
        if (auto tmp = TmpFile::link_to(store, src)) {
            HEARTH_TRY(hash_stream(tmp->fd(), tmp->path(), h, nullptr));
            struct stat ls;
            if (::fstat(tmp->fd(), &ls) != 0) return errno_error("cannot inspect " + tmp->path().string(), errno);
            return StagedBlob{std::move(*tmp), "sha256:" + h.hex(), static_cast<uint64_t>(ls.st_size)};
        }
        // EXDEV (another filesystem), EPERM (protected_hardlinks), EMLINK, ENOTSUP...: copy instead.
    }
    Fd in(::open(src.c_str(), O_RDONLY | O_CLOEXEC));
    if (in.get() < 0) return errno_error("cannot read " + src.string(), errno);
    auto tmp = TmpFile::create(store, ".copy");
    if (!tmp) return tmp.status();
    HEARTH_TRY(hash_stream(in.get(), src, h, &*tmp));
    HEARTH_TRY(tmp->finish());
    struct stat cs;
    if (::fstat(tmp->fd(), &cs) != 0) return errno_error("cannot inspect " + tmp->path().string(), errno);
    return StagedBlob{std::move(*tmp), "sha256:" + h.hex(), static_cast<uint64_t>(cs.st_size)};
}

Status detail::place_staged(const Store& store, StagedBlob& blob) {
    blob.file.keep(); // place_blob renames or removes it either way
    return place_blob(store, blob.file.path(), blob.digest);
}

Result<std::string> add_blob_file(const Store& store, const fs::path& src, bool link) {
    auto staged = stage_blob_file(store, src, link);
    if (!staged) return staged.status();
    HEARTH_TRY(place_staged(store, *staged));
    return staged->digest;
}

Result<std::string> add_blob_bytes(const Store& store, std::string_view bytes) {
    const std::string digest = sha256_digest(bytes);
    if (has_blob(store, digest)) return digest;
    auto tmp = TmpFile::create(store, ".bytes");
    if (!tmp) return tmp.status();
    HEARTH_TRY(tmp->write_all(bytes));
    HEARTH_TRY(tmp->finish());
    HEARTH_TRY(place_blob(store, tmp->path(), digest));
    tmp->keep();
    return digest;
}

fs::path partial_path(const Store& store, std::string_view key) {
    return store.root / "tmp" / (sha256_digest(key).substr(7) + ".partial");
}

Status commit_blob(const Store& store, const fs::path& tmp_file, std::string_view digest) {
    if (!valid_digest(digest))
        return error("cannot store a download under the invalid digest '" + std::string(digest) + "'");
    const fs::path tmp = tmp_file.lexically_normal();
    if (tmp.parent_path() != store.root / "tmp")
        return error("cannot commit " + tmp.string() + ": only files in " + (store.root / "tmp").string() +
                     " can become blobs");
    HEARTH_TRY(check_inside(store, tmp));
    Fd fd(::open(tmp.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
    if (fd.get() < 0) return errno_error("cannot read " + tmp.string(), errno);
    struct stat st;
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode)) return error(tmp.string() + " is not a regular file");
    Sha256 h;
    HEARTH_TRY(hash_stream(fd.get(), tmp, h, nullptr));
    const std::string actual = "sha256:" + h.hex();
    if (actual != digest) {
        ::unlink(tmp.c_str());
        return error("checksum mismatch: expected " + std::string(digest) + ", got " + actual +
                     " (the downloaded file was deleted)");
    }
    if (::fsync(fd.get()) != 0) return errno_error("cannot sync " + tmp.string(), errno);
    return place_blob(store, tmp, digest);
}

} // namespace hearth::store
