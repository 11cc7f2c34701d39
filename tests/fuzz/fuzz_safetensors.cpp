// libFuzzer target for the safetensors header parser (convert/safetensors.h), which reads the weight files of a model
// directory a user hands to `hearth convert`: every input parses or fails with an error, never crashes; every
// tensor it accepts lies inside the input and has as many bytes as its dtype and shape say.
#include "convert/safetensors.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto r = hearth::convert::parse_safetensors(std::span<const uint8_t>(data, size));
    if (!r) return 0;
    for (const auto& t : *r) {
        if (t.end > size || t.begin > t.end || t.n_elements * t.dtype_bytes != t.end - t.begin) std::abort();
    }
    return 0;
}
