// backend/cpu_backend.h: the CPU backend: one kernel table (kernels/cpu/ops.h, chosen from the CPU's features or
// given, as the op tests give each ISA's), one thread pool, the x16-repacked weights, host memory.
//
// Numerics are the kernel table's: RMSNorm sums squares in double; RoPE advances theta by repeated multiplication in
// float; attention rounds q to f16 before the dot product with the f16 K cache and the softmax weights to f16 before
// the product with the f16 V cache (what ggml's f16 mat-mul does to its f32 operand); matmul quantizes activations
// to the weight type's vec_dot_type once per row. These follow llama.cpp's CPU path where it matters for agreement.
#pragma once

#include "backend/backend.h"
#include "kernels/cpu/ops.h"

#include <memory>

namespace hearth {

// A tied embedding's rows are read from the repacked output matrix only if they fit this (get_rows unpacks one row
// on the stack); a longer one keeps the output matrix in the file layout.
inline constexpr size_t kMaxPackedEmbedRowBytes = 32768;

// n_threads >= 1. repack: prepare_weights repacks what it has x16 kernels for (false: every matrix stays in the
// file's layout and the row kernels read it, HEARTH_REPACK=0).
std::unique_ptr<Backend> make_cpu_backend(const cpu::KernelTable& kt, int n_threads, bool repack = true);

} // namespace hearth
