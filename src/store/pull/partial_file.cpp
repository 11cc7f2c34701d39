// store/pull/partial_file.cpp: the locked, link-proof partial file of a download and its validator
// sidecar (see partial_file.h).
#include "store/pull/partial_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;

constexpr size_t kMaxValidator = 512;

// Closes a plain file descriptor (the sidecar's) on scope exit.
struct Fd {
    int fd = -1;
    ~Fd() {
        if (fd >= 0) ::close(fd);
    }
};

Status errno_status(const std::string& what) {
    return error(what + ": " + std::strerror(errno));
}

Status refuse(const fs::path& p, const std::string& why) {
    return error("refusing to use " + p.string() + ": " + why +
                 " (a download only writes to plain files it created; remove it and pull again)");
}

// `p` is absent or a regular file (lstat: a symbolic link is refused, not followed).
Status check_plain_or_absent(const fs::path& p) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0) {
        if (errno == ENOENT) return Status::ok();
        return errno_status("cannot inspect " + p.string());
    }
    if (S_ISLNK(st.st_mode)) return refuse(p, "it is a symbolic link");
    if (!S_ISREG(st.st_mode)) return refuse(p, "it is not a regular file");
    return Status::ok();
}

// An fd opened with O_NOFOLLOW must be a regular file with one link (no hard link to a file elsewhere).
Status check_opened(int fd, const fs::path& p, struct stat& st) {
    if (::fstat(fd, &st) != 0) return errno_status("cannot stat " + p.string());
    if (!S_ISREG(st.st_mode)) return refuse(p, "it is not a regular file");
    if (st.st_nlink != 1) return refuse(p, "it has other hard links");
    return Status::ok();
}

Status open_error(const fs::path& p) {
    if (errno == ELOOP) return refuse(p, "it is a symbolic link");
    return errno_status("cannot open " + p.string());
}

bool usable_validator(const std::string& v) {
    if (v.empty() || v.size() > kMaxValidator) return false;
    for (char c : v)
        if (c < 0x20 || c > 0x7e) return false; // also keeps CR/LF out of the If-Range header
    return true;
}

Status unlink_if_present(const fs::path& p) {
    if (::unlink(p.c_str()) != 0 && errno != ENOENT) return errno_status("cannot remove " + p.string());
    return Status::ok();
}

} // namespace

// ---- sidecar paths (download.h) ---------------------------------------------------
fs::path validator_path(const fs::path& partial) {
    return fs::path(partial.string() + ".validator");
}

void remove_partial(const fs::path& partial) {
    std::error_code ec;
    fs::remove(partial, ec);
    fs::remove(validator_path(partial), ec);
}

std::string pick_validator(const std::string& etag, const std::string& last_modified) {
    if (usable_validator(etag) && !etag.starts_with("W/")) return etag;
    if (usable_validator(last_modified)) return last_modified;
    return {};
}

// ---- PartialFile --------------------------------------------------------------------------------
Status PartialFile::open(const fs::path& path) {
    path_ = path;
    for (int attempt = 0; attempt < 3; ++attempt) {
        bool retry = false;
        Status st = open_locked_once(retry);
        if (!retry) return st;
    }
    return error("cannot lock " + path.string() + ": it keeps being replaced (is another pull running?)");
}

Status PartialFile::open_locked_once(bool& retry) {
    // lstat first for a clear message; O_NOFOLLOW and fstat close the race with a link planted after it.
    HEARTH_TRY(check_plain_or_absent(path_));
    HEARTH_TRY(check_plain_or_absent(validator_path(path_)));
    // O_NONBLOCK: opening a FIFO or device planted here must not hang (it is refused just after).
    PartialLock lock(::open(path_.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK, 0644));
    if (!lock.held()) return open_error(path_);
    struct stat st {};
    HEARTH_TRY(check_opened(lock.fd(), path_, st));
    if (::flock(lock.fd(), LOCK_EX | LOCK_NB) != 0) {
        if (errno == EWOULDBLOCK)
            return error("another pull of this model is in progress (" + path_.string() +
                         " is locked); wait for it to finish");
        return errno_status("cannot lock " + path_.string());
    }
    // The previous holder may have renamed the file into the store (or removed it) between our open()
    // and flock(): then this lock guards a file that is no longer the partial one. Start again.
    struct stat now {};
    if (::lstat(path_.c_str(), &now) != 0 || now.st_dev != st.st_dev || now.st_ino != st.st_ino) {
        retry = true;
        return Status::ok();
    }
    lock_ = std::move(lock);
    size_ = 0;
    hashed_ = false;
    return load_validator();
}

Status PartialFile::load_validator() {
    validator_.clear();
    const fs::path vp = validator_path(path_);
    if (size_on_disk() == 0) return unlink_if_present(vp); // a validator for no bytes is stale
    const Fd fd{::open(vp.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)};
    if (fd.fd < 0) return errno == ENOENT ? Status::ok() : open_error(vp);
    struct stat st {};
    HEARTH_TRY(check_opened(fd.fd, vp, st));
    if (static_cast<uint64_t>(st.st_size) > kMaxValidator + 1) return Status::ok(); // not ours: unknown
    std::string text(static_cast<size_t>(st.st_size), '\0');
    const ssize_t r = ::pread(fd.fd, text.data(), text.size(), 0);
    if (r < 0) return errno_status("cannot read " + vp.string());
    text.resize(static_cast<size_t>(r));
    if (!text.empty() && text.back() == '\n') text.pop_back();
    if (usable_validator(text)) validator_ = std::move(text);
    return Status::ok();
}

Status PartialFile::set_validator(const std::string& v) {
    const fs::path vp = validator_path(path_);
    if (v.empty()) {
        HEARTH_TRY(unlink_if_present(vp));
        validator_.clear();
        return Status::ok();
    }
    if (v == validator_) return Status::ok();
    if (!usable_validator(v)) return error("internal: unusable validator");
    // Write a fresh file next to it (O_EXCL | O_NOFOLLOW: never through a planted link), then rename it
    // over the sidecar: rename replaces a link itself, never its target. No directory fsync: a sidecar
    // lost in a crash only means the next pull starts over or relies on the sha256.
    const fs::path tmp = vp.string() + ".tmp";
    HEARTH_TRY(unlink_if_present(tmp));
    const Fd fd{::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644)};
    if (fd.fd < 0) return open_error(tmp);
    const std::string line = v + "\n";
    const ssize_t w = ::write(fd.fd, line.data(), line.size());
    if (w != static_cast<ssize_t>(line.size()) || ::fsync(fd.fd) != 0) {
        Status st = errno_status("cannot write " + tmp.string());
        (void)::unlink(tmp.c_str());
        return st;
    }
    if (::rename(tmp.c_str(), vp.c_str()) != 0) {
        Status st = errno_status("cannot rename " + tmp.string());
        (void)::unlink(tmp.c_str());
        return st;
    }
    validator_ = v;
    return Status::ok();
}

uint64_t PartialFile::size_on_disk() const {
    struct stat st {};
    if (::fstat(lock_.fd(), &st) != 0) return 0;
    return static_cast<uint64_t>(st.st_size);
}

Status PartialFile::sync_hash() {
    const uint64_t on_disk = size_on_disk();
    if (on_disk == size_ && hashed_) return Status::ok();
    hash_.reset();
    size_ = 0;
    std::vector<char> buf(1 << 20);
    while (size_ < on_disk) {
        const ssize_t r = ::pread(lock_.fd(), buf.data(), buf.size(), static_cast<off_t>(size_));
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return errno_status("cannot read " + path_.string());
        hash_.update(buf.data(), static_cast<size_t>(r));
        size_ += static_cast<uint64_t>(r);
    }
    hashed_ = true;
    return Status::ok();
}

Status PartialFile::truncate() {
    // The sidecar goes first: a crash in between leaves bytes without a validator (start over), never a
    // validator that describes other bytes.
    HEARTH_TRY(set_validator(""));
    if (::ftruncate(lock_.fd(), 0) != 0) return errno_status("cannot truncate " + path_.string());
    hash_.reset();
    size_ = 0;
    hashed_ = true;
    return Status::ok();
}

bool PartialFile::append(const char* p, size_t n) {
    hash_.update(p, n);
    size_ += n;
    while (n > 0) {
        const ssize_t w = ::write(lock_.fd(), p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            write_error_ = std::strerror(errno);
            hashed_ = false; // the disk and the hash disagree now: re-hash before going on
            return false;
        }
        p += w;
        n -= static_cast<size_t>(w);
    }
    return true;
}

Status PartialFile::fsync() {
    if (::fsync(lock_.fd()) != 0) return errno_status("cannot fsync " + path_.string());
    return Status::ok();
}

void PartialFile::remove() {
    if (lock_.held()) remove_partial(path_);
}

} // namespace hearth::store
