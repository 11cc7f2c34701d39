// store/lock.cpp: the store lock (flock on $HEARTH_HOME/lock) and the sweep of tmp/. Why the lock
// keeps garbage collection correct, across processes and threads, is explained in store.h
// ("concurrency").
#include "store/store.h"
#include "store/store_fs.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <optional>
#include <string>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace fs = std::filesystem;

namespace hearth::store {

using namespace detail;

Result<StoreLock> lock_store(const Store& store, LockMode mode) {
    const fs::path p = store.root / "lock";
    HEARTH_TRY(check_inside(store, p));
    // A fresh open file description per lock: that is what makes flock exclude threads of one process
    // from each other too. Read-only is enough for flock, and works in a store the user cannot write.
    StoreLock lock;
    lock.fd_.reset(::open(p.c_str(), O_RDONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644));
    if (!lock.fd_.valid()) return errno_error("cannot open the store lock " + p.string(), errno);
    lock.mode_ = mode;
    while (::flock(lock.fd_.get(), mode == LockMode::Exclusive ? LOCK_EX : LOCK_SH) != 0)
        if (errno != EINTR) return errno_error("cannot lock " + p.string(), errno);
    return lock;
}

namespace {

using Clock = std::chrono::system_clock;

// How long ago the file last changed: the later of mtime and ctime. ctime cannot be set back by a user,
// and linking a file refreshes it, so a hard link just staged in tmp/ looks new even when the user's
// file is old.
std::chrono::seconds age_of(const struct stat& st) {
    const auto changed = std::max(st.st_mtim.tv_sec, st.st_ctim.tv_sec);
    const auto now = Clock::to_time_t(Clock::now());
    return std::chrono::seconds(now > changed ? now - changed : 0);
}

// Removes `p` (and `also`: a partial's sidecars) if nobody holds a lock on it: takes LOCK_EX | LOCK_NB,
// then checks that the name still is the locked file (its writer may have renamed it into place and a
// new file taken the name). Returns the bytes removed, or nothing.
std::optional<uint64_t> remove_if_unlocked(const fs::path& p, const std::vector<fs::path>& also) {
    const int fd = ::open(p.c_str(), O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return std::nullopt;
    std::optional<uint64_t> removed;
    struct stat st, now;
    if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && ::flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        ::lstat(p.c_str(), &now) == 0 && now.st_dev == st.st_dev && now.st_ino == st.st_ino &&
        ::unlink(p.c_str()) == 0) {
        removed = static_cast<uint64_t>(st.st_size);
        for (const auto& a : also)
            ::unlink(a.c_str());
    }
    ::close(fd); // after the unlink: the lock guarded the name until it was gone
    return removed;
}

// Partial downloads are "<hash>.partial" (partial_path); pull/download.h keeps a validator beside each,
// "<partial>.validator", replaced through "<partial>.validator.tmp".
constexpr std::string_view kSidecars[] = {".validator", ".validator.tmp"};

bool is_partial(const std::string& file) {
    return file.ends_with(".partial");
}

// The partial download a sidecar belongs to; "" for other files.
std::string partial_of(const std::string& file) {
    for (std::string_view suffix : kSidecars)
        if (file.ends_with(".partial" + std::string(suffix))) return file.substr(0, file.size() - suffix.size());
    return "";
}

std::vector<fs::path> sidecars_of(const fs::path& partial) {
    std::vector<fs::path> out;
    for (std::string_view suffix : kSidecars)
        out.emplace_back(partial.string() + std::string(suffix));
    return out;
}

} // namespace

SweepResult sweep_tmp(const Store& store, const OpenOptions& opts) {
    SweepResult out;
    const fs::path dir = store.root / "tmp";
    if (!check_inside(store, dir)) return out;
    std::vector<fs::path> entries;
    std::error_code ec;
    for (auto it = fs::directory_iterator(dir, ec); !ec && it != fs::directory_iterator(); it.increment(ec))
        entries.push_back(it->path());
    for (const fs::path& p : entries) {
        const std::string file = p.filename().string();
        struct stat st;
        if (::lstat(p.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue; // links and the like: left alone
        const std::string owner = partial_of(file);
        if (!owner.empty()) {
            // A sidecar is only touched under its partial's lock; it goes with the partial, or alone
            // once the partial is gone.
            struct stat ps;
            if (::lstat((dir / owner).c_str(), &ps) == 0 || age_of(st) < opts.tmp_max_age) continue;
            if (::unlink(p.c_str()) == 0) {
                ++out.files;
                out.bytes += static_cast<uint64_t>(st.st_size);
            }
            continue;
        }
        const bool partial = is_partial(file);
        if (age_of(st) < (partial ? opts.partial_max_age : opts.tmp_max_age)) continue;
        // A partial file is locked by its download (exclusively, download.h) and resumed later under the
        // same name; its sidecar goes with it.
        if (auto bytes = remove_if_unlocked(p, partial ? sidecars_of(p) : std::vector<fs::path>())) {
            ++out.files;
            out.bytes += *bytes;
        }
    }
    return out;
}

} // namespace hearth::store
