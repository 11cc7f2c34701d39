// hearth/embedding.h: what an embedding is made of: how a model pools its final hidden states into one
// vector per input, and the L2 normalization callers usually apply after.
//
// The pooling numbers are llama.cpp's `<arch>.pooling_type` values (LLAMA_POOLING_TYPE_*), as GGUF converters
// write them from a sentence-transformers Pooling module.
#pragma once

#include <cmath>
#include <cstdint>
#include <span>

namespace hearth {

enum class Pooling : int32_t {
    None = 0, // per-token vectors (not served: a model saying so gets its architecture's default)
    Mean = 1, // the mean over every token of the input (BERT sentence encoders)
    Cls = 2,  // the first token ([CLS])
    Last = 3, // the last token (decoder embedding models such as Qwen3-Embedding; the default for decoders)
};

inline const char* pooling_name(Pooling p) {
    switch (p) {
    case Pooling::Mean:
        return "mean";
    case Pooling::Cls:
        return "cls";
    case Pooling::Last:
        return "last";
    default:
        return "none";
    }
}

// v /= |v|₂ (sums in double; a zero vector stays zero).
inline void l2_normalize(std::span<float> v) {
    double sum = 0;
    for (float x : v)
        sum += double(x) * double(x);
    if (sum <= 0) return;
    const auto inv = static_cast<float>(1.0 / std::sqrt(sum));
    for (float& x : v)
        x *= inv;
}

} // namespace hearth
