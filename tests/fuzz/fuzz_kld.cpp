// libFuzzer target for the KLD base file reader (quality/perplexity.h), which reads a file a user names on the
// command line (`hearth perplexity --kl-divergence-base FILE --kl-divergence`): every input opens and reads row by
// row or fails with an error, never crashes, never reads past what it checked.
#include "quality/perplexity.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <unistd.h>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    static const std::string path = "/tmp/hearth_fuzz_kld_" + std::to_string(::getpid());
    FILE* f = std::fopen(path.c_str(), "wb");
    if (!f) return 0;
    std::fwrite(data, 1, size, f);
    std::fclose(f);
    auto r = hearth::quality::KldBaseReader::open(path);
    if (r) {
        hearth::quality::BaseRow row;
        // Rows until the first error (at the latest, the end of the file).
        for (int i = 0; i < 1 << 20 && (*r)->next(&row).is_ok(); ++i) {
        }
    }
    std::remove(path.c_str());
    return 0;
}
