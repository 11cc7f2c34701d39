// store/pull/partial_file.h: the partial file of a resumable download and its validator sidecar
// (internal to download.cpp).
//
// Files: <partial> holds the bytes received so far; <partial>.validator (validator_path()) holds, on
// one line, the ETag (else the Last-Modified date) of the response those bytes came from, so that a
// resume can send If-Range. The sidecar is absent when the response had no usable validator.
//
// Safety: both paths are opened with O_NOFOLLOW and must be regular files with a single link, so a
// symbolic link, hard link, FIFO or device planted at either path is refused and a download never
// writes through it to a file elsewhere. The partial file is locked with flock(LOCK_EX | LOCK_NB) from
// open() until the PartialFile (or the PartialLock it hands over) is gone; after locking, the path is
// checked to still name the locked file, so a file renamed away by the previous holder is not reused.
// The sidecar is only touched while the lock is held, and is replaced atomically (a fresh .tmp file,
// fsync, rename over the old one).
#pragma once

#include "base/sha256.h"
#include "base/status.h"
#include "store/pull/download.h"

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

namespace hearth::store {

class PartialFile {
public:
    // Opens (creating) and locks `path`, and reads its validator. Fails with "another pull of this model
    // is in progress" when another process (or another open file in this one) holds the lock.
    Status open(const std::filesystem::path& path);

    // Makes the hash cover exactly the bytes on disk (re-reading them when they differ).
    Status sync_hash();
    // Empties the file and forgets its validator (the sidecar is removed).
    Status truncate();
    bool append(const char* p, size_t n);
    Status fsync();
    // Removes the file and its sidecar (the lock stays held until this object is gone).
    void remove();

    // The validator of the response the bytes came from; empty when unknown.
    const std::string& validator() const { return validator_; }
    // Records `v` in the sidecar (replacing it atomically); an empty `v` removes the sidecar.
    Status set_validator(const std::string& v);

    uint64_t size() const { return size_; }
    uint64_t size_on_disk() const;
    std::string finish_hash() { return hash_.hex(); }
    const std::string& write_error() const { return write_error_; }
    // Hands over the open, locked file: the lock now lasts as long as the returned object.
    PartialLock release_lock() { return std::move(lock_); }

private:
    Status open_locked_once(bool& retry);
    Status load_validator();

    std::filesystem::path path_;
    PartialLock lock_; // owns the file descriptor
    Sha256 hash_;
    uint64_t size_ = 0;
    bool hashed_ = false;
    std::string write_error_;
    std::string validator_;
};

// The validator to record from a response's ETag and Last-Modified headers: a strong ETag, else the
// Last-Modified date (a weak ETag cannot be used with If-Range); empty when neither is usable (missing,
// too long, or with control characters).
std::string pick_validator(const std::string& etag, const std::string& last_modified);

} // namespace hearth::store
