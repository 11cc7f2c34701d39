// libFuzzer target for the importance-matrix reader (quantize/imatrix.h), which reads a file a user names on the
// command line (`hearth quantize --imatrix FILE`): GGUF or legacy, every input parses or fails with an error, never
// crashes, never reads past what it checked; what parses also turns into weights.
#include "quantize/imatrix.h"

#include <cstddef>
#include <cstdint>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    auto m = hearth::quantize::parse_imatrix(std::span<const uint8_t>(data, size), "fuzz");
    if (m) (void)hearth::quantize::imatrix_weights(*m);
    return 0;
}
