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
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace hearth::store::detail {

// "<what>: <strerror(errno)>" as an error Status.
Status errno_error(const std::string& what, int err);

// `p` must be lexically normal and under store.root; no component below the root may be a symlink.
Status check_inside(const Store& store, const std::filesystem::path& p);

// Creates the directories from the root down to `dir` (each checked not to be a symlink).
Status make_dirs_inside(const Store& store, const std::filesystem::path& dir);

// An open file in tmp/ with a fresh unique name (O_CREAT | O_EXCL | O_NOFOLLOW), held with
// flock(LOCK_SH) from creation until the object dies, so that sweep_tmp (store.h) leaves it alone even
// after it is written and before it is renamed into place. Removes the file on destruction unless keep()
// was called (after a rename: the name is gone, the descriptor still closes).
class TmpFile {
public:
    static Result<TmpFile> create(const Store& store, std::string_view suffix);
    // Hard-links `src` into tmp/ and opens the link read-only (the lock is best effort here: the inode
    // is the user's file; the sweep's age rule covers the link, whose ctime the link refreshed).
    // Fails (creating nothing) when the file cannot be linked, e.g. from another filesystem.
    static Result<TmpFile> link_to(const Store& store, const std::filesystem::path& src);
    TmpFile(TmpFile&& o) noexcept;
    TmpFile& operator=(TmpFile&&) = delete;
    ~TmpFile();
    int fd() const { return fd_; }
    const std::filesystem::path& path() const { return path_; }
    Status write_all(std::string_view bytes);
    // fsync; the descriptor (and its lock) stays open until the object dies.
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

// A file's contents staged in tmp/ on their way to blobs/: hashed, fsync'd, locked (TmpFile). Slow work
// (hashing, copying) is done here, unpinned; placing it is quick and done under a pin.
struct StagedBlob {
    TmpFile file;
    std::string digest; // sha256:<hex>
    uint64_t size = 0;
};
// Hard-links (when `link` and possible) or copies `src` into tmp/ and hashes what was staged.
Result<StagedBlob> stage_blob_file(const Store& store, const std::filesystem::path& src, bool link);
// Renames a staged file to blobs/sha256-... (or drops it when that blob exists already). Hold a pin
// (StoreLock) from here until the manifest naming the blob is written.
Status place_staged(const Store& store, StagedBlob& blob);

// A GGUF file checked and staged, with the manifest that will name it (one model layer; config with
// format, source, architecture, file_type, parameter_count).
struct StagedGguf {
    Manifest manifest;
    StagedBlob blob;
};
Result<StagedGguf> stage_gguf(const Store& store, const std::filesystem::path& file, bool link);

// Calls fn(name, path) for every manifest file under manifests/<host>/<ns>/<model>/<tag>. Entries that
// are symlinks, of the wrong kind, or whose names are not valid model names are reported in warnings.
Status walk_manifests(const Store& store, std::vector<std::string>& warnings,
                      const std::function<void(const ModelName&, const std::filesystem::path&)>& fn);

// Every layer's blob is a regular file in blobs/ of the recorded size; else why not (naming the digest).
Status check_blobs(const Store& store, const Manifest& manifest);

} // namespace hearth::store::detail
