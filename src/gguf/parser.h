// gguf/parser.h: internal to hearth_gguf. Turns bytes into a File, checking every field (see gguf.h).
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"

#include <cstdint>
#include <span>

namespace hearth::gguf {

class Parser {
public:
    // `bytes` must outlive the returned File (it borrows them for tensor data).
    static Result<File> parse(std::span<const uint8_t> bytes, const ParseLimits& limits);
};

} // namespace hearth::gguf
