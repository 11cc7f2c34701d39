// model/config_keys.h: typed, range-checked reads of "<arch>." metadata keys, for config.cpp and the
// architecture files' configure functions. Errors name the key.
#pragma once

#include "base/status.h"
#include "gguf/gguf.h"

#include <cmath>
#include <string>

namespace hearth {

struct KeyReader {
    const gguf::File& f;
    std::string prefix;

    Status u32(const std::string& key, int32_t* out, bool required, int64_t min_value = 1) const {
        const std::string k = prefix + key;
        if (!f.find(k)) return required ? error("model: missing required key '" + k + "'") : Status::ok();
        auto v = f.get_u64(k);
        if (!v) return v.status();
        if (*v > 1u << 30 || static_cast<int64_t>(*v) < min_value)
            return error("model: key '" + k + "' = " + std::to_string(*v) + " is out of range");
        *out = static_cast<int32_t>(*v);
        return Status::ok();
    }
    Status f32(const std::string& key, float* out) const {
        const std::string k = prefix + key;
        if (!f.find(k)) return Status::ok();
        auto v = f.get_f32(k);
        if (!v) return v.status();
        if (!std::isfinite(*v)) return error("model: key '" + k + "' is not finite");
        *out = *v;
        return Status::ok();
    }
};

} // namespace hearth
