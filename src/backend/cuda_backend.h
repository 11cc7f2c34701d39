// backend/cuda_backend.h: the CUDA backend (NVIDIA GPUs): weights uploaded once in their file layouts (read by
// kernels/cuda's kernels through group_decode.h), activations and KV caches in device memory, the ops as the
// kernels in kernels/cuda, on one stream. Built with -DHEARTH_CUDA=ON (the `cuda` preset); without it
// make_cuda_backend says so.
//
// Host arrays the ops take (positions, the token's caches, embedding rows) are copied to a device argument area per
// op; get_rows reads a table the backend holds (a tied output matrix) on the device, any other (host) table on the
// host and uploads the rows.
#pragma once

#include "backend/backend.h"
#include "base/status.h"

#include <memory>

namespace hearth {

// Whether this build has the CUDA backend.
bool cuda_built();
// The CUDA devices present (0 without a driver, a device, or the CUDA build).
int cuda_device_count();
// The backend on device `device` (0-based). Errors: no CUDA build, no driver or device, a device out of range.
Result<std::unique_ptr<Backend>> make_cuda_backend(int device);

} // namespace hearth
