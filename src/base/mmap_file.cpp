#include "base/mmap_file.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hearth {

Result<MmapFile> MmapFile::open(const std::string& path) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return error("cannot open '" + path + "': " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd, &st) != 0) {
        std::string msg = std::strerror(errno);
        ::close(fd);
        return error("cannot stat '" + path + "': " + msg);
    }
    if (!S_ISREG(st.st_mode)) {
        ::close(fd);
        return error("'" + path + "' is not a regular file");
    }
    MmapFile f;
    f.size_ = static_cast<uint64_t>(st.st_size);
    if (f.size_ > 0) {
        void* p = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            std::string msg = std::strerror(errno);
            ::close(fd);
            return error("cannot map '" + path + "': " + msg);
        }
        f.data_ = static_cast<const uint8_t*>(p);
    }
    ::close(fd); // the mapping keeps its own reference
    return f;
}

MmapFile::MmapFile(MmapFile&& o) noexcept : data_(o.data_), size_(o.size_) {
    o.data_ = nullptr;
    o.size_ = 0;
}

MmapFile& MmapFile::operator=(MmapFile&& o) noexcept {
    if (this != &o) {
        if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
        data_ = o.data_;
        size_ = o.size_;
        o.data_ = nullptr;
        o.size_ = 0;
    }
    return *this;
}

void MmapFile::release(std::span<const uint8_t> range) const {
    if (range.empty() || range.data() < data_ || range.data() + range.size() > data_ + size_) return;
    const auto page = uintptr_t(sysconf(_SC_PAGESIZE));
    const uintptr_t begin = (uintptr_t(range.data()) + page - 1) / page * page;
    const uintptr_t end = (uintptr_t(range.data()) + range.size()) / page * page;
    if (end > begin) ::madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
}

MmapFile::~MmapFile() {
    if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

} // namespace hearth
