// kernels/cpu/avx512/gemm_x16_k.cpp: the AVX-512 VNNI x16 kernels of every K-quant type and IQ4_XS
// (gemm_x16_k_impl.h).
#include "kernels/cpu/avx512/gemm_x16_k_impl.h"
