// kernels/ref/quant.h: scalar reference (de)quantization of rows, the oracle for every optimized kernel.
//
// Dequantization follows ggml's dequantize_row_* and quantization ggml's quantize_row_*_ref (what
// llama-quantize does without an importance matrix): same algorithms (make_qx_quants, make_qkx2_quants, ...),
// same float operation order, so outputs match llama.cpp bit for bit (tests/kernels/test_quant_golden.cpp
// checks that against tools/make-quant-golden.py's goldens). Block layouts: tensor/quant_blocks.h.
//
// Preconditions (broken ones abort with HEARTH_CHECK; callers validate user data first, e.g. with
// dtype_row_bytes): the type is supported (ref_can_*), n >= 0 and n is a multiple of the type's block size,
// src/dst hold n elements (dtype_row_bytes(t, n) bytes on the quantized side) and do not overlap.
// Quantizer inputs must be finite (as in ggml, inf/NaN give unspecified quants). Byte order: little-endian hosts.
#pragma once

#include "tensor/dtype.h"

#include <cstdint>

namespace hearth::ref {

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K .. Q8_K, IQ4_NL, IQ4_XS.
bool ref_can_dequantize(DType t);
// src: (n) elements of type t, dst: (n) floats.
void ref_dequantize_row(DType t, const void* src, float* dst, int64_t n);

// F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q8_1, Q2_K .. Q8_K, IQ4_NL, IQ4_XS (as ggml's quantize_iq4_nl /
// _xs, which llama-quantize runs; not its quantize_row_iq4_nl_ref, which searches fewer scales).
bool ref_can_quantize(DType t);
// src: (n) floats, dst: (n) elements of type t. Rows are independent, so a tensor can be passed as one
// long row or row by row with the same result.
void ref_quantize_row(DType t, const float* src, void* dst, int64_t n);

// Whether t's quantizer weighs elements by an importance matrix (Q4_0, Q4_1, Q5_0, Q5_1, Q2_K .. Q6_K, IQ4_NL,
// IQ4_XS; ggml's Q8_0 and the float types take none).
bool ref_uses_imatrix(DType t);
// One row of n elements with importance weights imatrix[n] (per column: the mean square of the activations that
// meet it), as ggml's quantize_<type> with quant_weights (llama-quantize --imatrix); bit for bit the same. A null
// imatrix, or a type that takes none, is ref_quantize_row. Unlike ref_quantize_row, rows must be passed one at a
// time: the legacy types weigh by the whole row's mean square.
void ref_quantize_row_imatrix(DType t, const float* src, void* dst, int64_t n, const float* imatrix);

} // namespace hearth::ref
