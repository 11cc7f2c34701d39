// model/archs/registry.cpp: the one table of supported architectures (see archs.h).
//
// Adding an architecture: write archs/NAME.cpp with its configure function (and its own forward when the
// shared decoder does not fit), then add its line to kArchs below, declaring the functions it names here.
#include "model/archs/archs.h"

namespace hearth {

// Defined in archs/NAME.cpp (declared by their function types: a definition with other parameters fails to link).
ArchConfigure configure_llama;
ArchConfigure configure_qwen2;
ArchConfigure configure_qwen3;
ArchConfigure configure_gemma3;
ArchForward forward_gemma3;
ArchConfigure configure_phi3;
ArchConfigure configure_bert;
ArchConfigure configure_nomic_bert;
ArchForward forward_bert;
ArchBind bind_bert;

namespace {

// clang-format off
constexpr ArchEntry kArchs[] = {
    // GGUF name   configure             forward          bind (null: the decoder layout)
    {"llama",      configure_llama,      forward_decoder, nullptr},
    {"qwen2",      configure_qwen2,      forward_decoder, nullptr},
    {"qwen3",      configure_qwen3,      forward_decoder, nullptr},
    {"gemma3",     configure_gemma3,     forward_gemma3,  nullptr},
    {"phi3",       configure_phi3,       forward_decoder, nullptr},
    {"bert",       configure_bert,       forward_bert,    bind_bert},
    {"nomic-bert", configure_nomic_bert, forward_bert,    bind_bert},
};
// clang-format on

} // namespace

std::span<const ArchEntry> arch_registry() {
    return kArchs;
}

const ArchEntry* find_arch(std::string_view name) {
    for (const ArchEntry& a : kArchs) {
        if (name == a.name) return &a;
    }
    return nullptr;
}

std::string arch_names() {
    std::string s;
    for (const ArchEntry& a : kArchs)
        s += (s.empty() ? "" : ", ") + std::string(a.name);
    return s;
}

} // namespace hearth
