// libFuzzer target: reading tool calls out of model answers (toolcall.h), whole and streamed in pieces.
// Input: byte 0 picks the format, byte 1 the piece length for streaming, the rest is the answer.
#include "toolcall/toolcall.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    using namespace hearth::toolcall;
    if (size < 2) return 0;
    const auto format = static_cast<Format>(data[0] % 10);
    const size_t piece = 1 + data[1] % 16;
    const std::string_view text(reinterpret_cast<const char*>(data + 2), size - 2);
    const std::string tools[] = {"get_weather", "add"};
    (void)parse(format, text, tools);
    (void)parse(format, text);
    Stream s(format, {"get_weather", "add"});
    for (size_t i = 0; i < text.size(); i += piece)
        (void)s.feed(text.substr(i, piece));
    (void)s.finish();
    return 0;
}
