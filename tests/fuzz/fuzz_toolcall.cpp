// libFuzzer target: reading tool calls out of model answers (toolcall.h), whole and streamed in pieces, and a
// thinking model's reasoning split from its answer (reasoning.h): streamed in pieces, the split is the same as whole.
// Input: byte 0 picks the format, byte 1 the piece length for streaming, the rest is the answer.
#include "toolcall/reasoning.h"
#include "toolcall/toolcall.h"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

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

    std::vector<std::string_view> chunks;
    for (size_t i = 0; i < text.size(); i += piece)
        chunks.push_back(text.substr(i, piece));
    const bool opened = (data[0] & 0x80) != 0;
    const ThinkPiece whole = split_thinking(opened, std::span(&text, 1)), pieces = split_thinking(opened, chunks);
    if (whole.reasoning != pieces.reasoning || whole.content != pieces.content) std::abort();
    if (whole.reasoning.size() + whole.content.size() > text.size()) std::abort();
    return 0;
}
