// model/layers.h: what an architecture's forward computes with: the backend (backend/backend.h), whose ops every
// architecture calls, and the matmul that lets a watcher see each product's input (importance matrices).
#pragma once

#include "backend/backend.h"

#include <climits>
#include <cstdint>

namespace hearth {

// Sees every matmul's input before the product (importance-matrix statistics): fn(user, w, x, n_tokens) with x
// (n_tokens, w.cols) in backend memory (the CPU backend's: host). Called on the pass's thread; x is valid during
// the call.
struct MatmulObserver {
    void (*fn)(void* user, const Matrix& w, const float* x, int64_t n_tokens) = nullptr;
    void* user = nullptr;
};

// What a forward pass computes with: a backend and the layers [layer_begin, layer_end) it runs. A model split across
// backends (partial offload) runs one range per backend: the range that starts at 0 also embeds the tokens, and each
// range leaves its hidden states in its pass scratch's x for the next (model.h, Stage).
struct ComputeCtx {
    Backend* be;                              // never null
    const MatmulObserver* observer = nullptr; // null: no one watches (the normal case)
    int32_t layer_begin = 0;
    int32_t layer_end = INT32_MAX; // clamped to the model's layers
};

// y (n_tokens, W.rows) = x (n_tokens, W.cols) · Wᵀ, after the observer (if any) has seen x.
inline void matmul(const ComputeCtx& c, const Matrix& w, const float* x, int64_t n_tokens, float* y) {
    if (c.observer != nullptr) c.observer->fn(c.observer->user, w, x, n_tokens);
    c.be->matmul(w, x, n_tokens, y);
}

} // namespace hearth
