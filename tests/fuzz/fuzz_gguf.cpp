// libFuzzer target for the GGUF reader: parse arbitrary bytes, then use everything a successful parse
// promises (typed accessors on every key, every tensor's data span) so ASan/UBSan see any lie.
#include "gguf/gguf.h"

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace {

volatile uint64_t g_sink; // keeps the reads below from being optimized away

void touch_value(const hearth::gguf::Value& v) {
    g_sink = g_sink + v.u + static_cast<uint64_t>(v.i) + v.str.size() + v.arr.size();
    for (const hearth::gguf::Value& item : v.arr)
        touch_value(item);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    hearth::gguf::ParseLimits limits;
    limits.max_metadata_bytes = 256ull << 20; // stay well inside libFuzzer's -rss_limit_mb
    auto file = hearth::gguf::File::from_memory(std::span<const uint8_t>(data, size), limits);
    if (!file) {
        if (file.message().empty()) __builtin_trap(); // every error must say something
        return 0;
    }
    const hearth::gguf::File& f = *file;
    if (f.data_offset() > f.file_size()) __builtin_trap();
    for (const hearth::gguf::KeyValue& kv : f.metadata()) {
        touch_value(kv.value);
        if (f.find(kv.key) != &kv.value) __builtin_trap(); // keys are unique
        // Each accessor either succeeds or fails with a message; none may crash.
        g_sink = g_sink + f.get_string(kv.key).is_ok() + f.get_u64(kv.key).is_ok() + f.get_u32(kv.key).is_ok() +
                 f.get_i64(kv.key).is_ok() + f.get_f64(kv.key).is_ok() + f.get_f32(kv.key).is_ok() +
                 f.get_bool(kv.key).is_ok() + f.get_string_array(kv.key).is_ok() + f.get_int_array(kv.key).is_ok() +
                 f.get_f32_array(kv.key).is_ok() + f.get_array_size(kv.key).is_ok();
    }
    for (const hearth::gguf::TensorInfo& t : f.tensors()) {
        if (f.find_tensor(t.name) != &t) __builtin_trap(); // names are unique
        if (t.offset % f.alignment() != 0) __builtin_trap();
        std::span<const uint8_t> bytes = f.tensor_data(t);
        if (bytes.size() != t.n_bytes) __builtin_trap();
        if (!bytes.empty()) g_sink = g_sink + bytes.front() + bytes.back();
    }
    return 0;
}
