// The CUDA backend's entry points in a build without CUDA (HEARTH_CUDA=OFF).
#include "backend/cuda_backend.h"

namespace hearth {

bool cuda_built() {
    return false;
}

int cuda_device_count() {
    return 0;
}

Result<std::unique_ptr<Backend>> make_cuda_backend(int /*device*/) {
    return error("this hearth was built without CUDA: build it with the `cuda` preset (cmake --preset cuda), which "
                 "needs the CUDA toolkit");
}

} // namespace hearth
