// kernels/cpu/avx2/gemm_x16.cpp: the AVX2 x16 kernels (gemm_x16_impl.h without AVX-VNNI; declared in kernels.h).
#define HEARTH_X16_NS avx2
#define HEARTH_X16_VNNI 0
#include "kernels/cpu/avx2/gemm_x16_impl.h"
