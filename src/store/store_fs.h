// store/store_fs.h: filesystem primitives the store is built on (internal to src/store).
//
// Every path the store opens is checked with check_inside() first: lexically under the root, and no
// existing component between the root and the path is a symbolic link (lstat on each). Files are
// written through tmp/ (O_EXCL, fsync) and renamed into place, then the directory is fsync'd, so a
// crash leaves either the old file or the new one, never a torn one.
#pragma once

#include "base/status.h"
#include "store/store.h"

#include <filesystem>
#include <string>
#include <string_view>

namespace hearth::store::detail {

// "<what>: <strerror(errno)>" as an error Status.
Status errno_error(const std::string& what, int err);

// `p` must be lexically normal and under store.root; no component below the root may be a symlink.
Status check_inside(const Store& store, const std::filesystem::path& p);

// Creates the directories from the root down to `dir` (each checked not to be a symlink).
Status make_dirs_inside(const Store& store, const std::filesystem::path& dir);

// An open file in tmp/ with a fresh unique name (O_CREAT | O_EXCL | O_NOFOLLOW). Closes on destruction
// and removes the file unless keep() was called.
class TmpFile {
public:
    static Result<TmpFile> create(const Store& store, std::string_view suffix);
    TmpFile(TmpFile&& o) noexcept;
    TmpFile& operator=(TmpFile&&) = delete;
    ~TmpFile();
    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    Status write_all(std::string_view bytes);
    // fsync + close; the file stays until renamed or the object dies.
    Status finish();
    void keep() { keep_ = true; }

private:
    TmpFile(int fd, std::filesystem::path p) : fd_(fd), path_(std::move(p)) {}
    int fd_ = -1;
    std::filesystem::path path_;
    bool keep_ = false;
};

// A fresh unique path in tmp/ (not created).
std::filesystem::path unique_tmp_path(const Store& store, std::string_view suffix);

Status fsync_dir(const std::filesystem::path& dir);

// Renames `from` (in tmp/) to `to`, then fsyncs the target directory.
Status rename_into_place(const std::filesystem::path& from, const std::filesystem::path& to);

// Reads a whole regular file of at most `max_bytes` (refusing symlinks at the final component).
Result<std::string> read_small_file(const std::filesystem::path& p, uint64_t max_bytes);

// Writes `bytes` to `dest` atomically (tmp file, fsync, rename, fsync dir).
Status write_atomic(const Store& store, const std::filesystem::path& dest, std::string_view bytes);

} // namespace hearth::store::detail
