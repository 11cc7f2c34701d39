// libFuzzer target for the store's parsers of untrusted text: model names (from users and remote
// servers), manifests (JSON files in the store) and Modelfiles. The first byte picks the parser.
// Every input must end in a value or an error: no crash, no exception, no leak.
#include "store/modelfile.h"
#include "store/store.h"

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    if (size == 0) return 0;
    const std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
    switch (data[0] % 3) {
    case 0:
        if (auto n = hearth::store::parse_name(text)) {
            // A name that parses round-trips through its display form.
            auto again = hearth::store::parse_name(n->display());
            if (!again || !(*again == *n)) __builtin_trap();
        }
        (void)hearth::store::valid_digest(text);
        break;
    case 1:
        (void)hearth::store::parse_manifest(text);
        break;
    default:
        (void)hearth::store::parse_modelfile(text);
        break;
    }
    return 0;
}
