// base/sha256.h: incremental SHA-256 (OpenSSL's EVP interface), for store blobs and downloads.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

struct evp_md_ctx_st;

namespace hearth {

class Sha256 {
public:
    Sha256();
    ~Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;

    void reset(); // start a new hash
    void update(const void* p, size_t n);
    std::string hex(); // lower-case, 64 characters; ends this hash (reset() to reuse)

private:
    struct Free {
        void operator()(evp_md_ctx_st* c) const;
    };
    std::unique_ptr<evp_md_ctx_st, Free> ctx_;
};

} // namespace hearth
