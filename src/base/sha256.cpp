#include "base/sha256.h"

#include "base/check.h"
#include "base/hex.h"

#include <openssl/evp.h>

namespace hearth {

void Sha256::Free::operator()(evp_md_ctx_st* c) const {
    EVP_MD_CTX_free(c);
}

Sha256::Sha256() : ctx_(EVP_MD_CTX_new()) {
    HEARTH_CHECK(ctx_ != nullptr, "EVP_MD_CTX_new failed");
    reset();
}

Sha256::~Sha256() = default;

void Sha256::reset() {
    HEARTH_CHECK(EVP_DigestInit_ex(ctx_.get(), EVP_sha256(), nullptr) == 1, "SHA-256 unavailable");
}

void Sha256::update(const void* p, size_t n) {
    HEARTH_CHECK(EVP_DigestUpdate(ctx_.get(), p, n) == 1);
}

std::string Sha256::hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HEARTH_CHECK(EVP_DigestFinal_ex(ctx_.get(), md, &len) == 1);
    return to_hex(md, len);
}

} // namespace hearth
