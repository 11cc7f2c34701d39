// Hostile inputs: every corruption of a small valid file must give an error naming the field,
// never a crash, an abort or a huge allocation (run under ASan in CI).
#include "gguf/gguf.h"
#include "gguf_test_util.h"

#include <cstdint>
#include <functional>
#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace hearth::gguf {
namespace {

using testing::parse_copy;
using testing::RawGguf;
using testing::small_valid_file;

TEST(GgufHostile, SmallValidFileParses) {
    RawGguf raw = small_valid_file();
    std::vector<uint8_t> storage;
    auto f = parse_copy(raw.bytes, &storage);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->metadata().size(), 5u);
    ASSERT_EQ(f->tensors().size(), 2u);
    EXPECT_EQ(f->tensors()[1].n_bytes, 34u);
    EXPECT_EQ(f->data_offset() + 66, f->file_size());
    auto nested = f->find("nested");
    ASSERT_NE(nested, nullptr);
    ASSERT_EQ(nested->arr.size(), 1u);
    EXPECT_EQ(nested->arr[0].arr[1].i, -2);
}

TEST(GgufHostile, TruncationAtEveryOffsetFails) {
    RawGguf raw = small_valid_file();
    for (size_t len = 0; len < raw.bytes.size(); ++len) {
        std::vector<uint8_t> cut(raw.bytes.begin(), raw.bytes.begin() + static_cast<ptrdiff_t>(len));
        std::vector<uint8_t> storage;
        auto f = parse_copy(cut, &storage);
        ASSERT_FALSE(f) << "truncated to " << len << " of " << raw.bytes.size() << " bytes parsed";
        EXPECT_EQ(f.message().rfind("gguf: ", 0), 0u) << f.message();
    }
}

struct Corruption {
    const char* name;
    std::function<void(RawGguf&)> apply;
    std::vector<std::string> expect; // substrings of the error message
};

template <typename T> std::function<void(RawGguf&)> set(const char* field, T v) {
    return [=](RawGguf& r) { r.patch<T>(field, v); };
}

const uint64_t k2p60 = 1ull << 60;

std::vector<Corruption> corruptions() {
    return {
        {"bad magic", set<uint32_t>("magic", 0x464c457f), {"bad magic", "not a GGUF file"}},
        {"big-endian magic", set<uint32_t>("magic", 0x47475546), {"bad magic", "big-endian"}},
        {"version 1", set<uint32_t>("version", 1), {"version 1 is not supported"}},
        {"version 0", set<uint32_t>("version", 0), {"unsupported version 0"}},
        {"version 4", set<uint32_t>("version", 4), {"unsupported version 4"}},
        {"big-endian version", set<uint32_t>("version", 0x03000000), {"big-endian"}},
        {"huge n_tensors", set<uint64_t>("n_tensors", k2p60), {"n_tensors 1152921504606846976", "exceeds"}},
        {"huge n_kv", set<uint64_t>("n_kv", k2p60), {"n_kv 1152921504606846976", "exceeds"}},
        {"max n_kv", set<uint64_t>("n_kv", UINT64_MAX), {"n_kv", "exceeds"}},
        {"n_kv too large by one", set<uint64_t>("n_kv", 6), {"gguf: "}},
        {"n_tensors too large by one", set<uint64_t>("n_tensors", 3), {"gguf: tensor[2]"}},
        {"huge key length", set<uint64_t>("kv0.key.len", 1ull << 62), {"kv[0]", "key length", "exceeds remaining"}},
        {"empty key", set<uint64_t>("kv0.key.len", 0), {"kv[0]", "key is empty"}},
        {"invalid value type",
         set<uint32_t>("kv0.type", 13),
         {"kv[0] 'general.architecture'", "invalid value type 13"}},
        {"huge string length",
         set<uint64_t>("kv0.val.len", 1ull << 62),
         {"kv[0] 'general.architecture'", "string length 4611686018427387904 exceeds remaining file bytes"}},
        {"alignment of type f32",
         set<uint32_t>("kv1.type", static_cast<uint32_t>(ValueType::F32)),
         {"kv[1] 'general.alignment'", "has type f32, expected u32"}},
        {"alignment zero", set<uint32_t>("kv1.val", 0), {"general.alignment", "not a power of two"}},
        {"alignment 48", set<uint32_t>("kv1.val", 48), {"general.alignment", "48 is not a power of two"}},
        {"alignment 64 misaligns t1",
         set<uint32_t>("kv1.val", 64),
         {"tensor[1] 't1'", "offset 32 is not a multiple of the alignment 64"}},
        {"invalid array element type",
         set<uint32_t>("kv2.elem_type", 99),
         {"kv[2] 'tokens'", "invalid array element type 99"}},
        {"huge array count",
         set<uint64_t>("kv2.count", k2p60),
         {"kv[2] 'tokens'", "array count 1152921504606846976 exceeds remaining file bytes"}},
        {"huge string in array",
         set<uint64_t>("kv2.item1.len", 1ull << 40),
         {"kv[2] 'tokens'", "element 1", "string length"}},
        {"huge nested array count",
         set<uint64_t>("kv3.inner.count", 1ull << 61),
         {"kv[3] 'nested'", "element 0", "array count 2305843009213693952 exceeds"}},
        {"invalid nested element type",
         set<uint32_t>("kv3.inner.elem_type", 77),
         {"kv[3] 'nested'", "invalid array element type 77"}},
        {"bool 2", set<uint8_t>("kv4.val", 2), {"kv[4] 'flag'", "bool value 2", "not 0 or 1"}},
        {"duplicate key",
         [](RawGguf& r) { r.patch_bytes("kv3.key", "tokens"); },
         {"kv[3] 'tokens'", "duplicate key (first defined by kv[2])"}},
        {"huge tensor name", set<uint64_t>("t0.name.len", 1ull << 50), {"tensor[0]", "name length"}},
        {"empty tensor name", set<uint64_t>("t0.name.len", 0), {"tensor[0]", "name is empty"}},
        {"duplicate tensor name",
         [](RawGguf& r) { r.patch_bytes("t1.name", "t0"); },
         {"tensor[1] 't0'", "duplicate tensor name"}},
        {"n_dims 0", set<uint32_t>("t0.n_dims", 0), {"tensor[0] 't0'", "n_dims 0 is outside 1..4"}},
        {"n_dims 5", set<uint32_t>("t0.n_dims", 5), {"tensor[0] 't0'", "n_dims 5 is outside 1..4"}},
        {"ne beyond int64",
         set<uint64_t>("t0.ne1", 1ull << 63),
         {"tensor[0] 't0'", "ne[1] = 9223372036854775808 exceeds INT64_MAX"}},
        {"ne product overflow",
         [](RawGguf& r) {
             r.patch<uint64_t>("t0.ne0", 1ull << 40);
             r.patch<uint64_t>("t0.ne1", 1ull << 40);
         },
         {"tensor[0] 't0'", "element count of shape [1099511627776, 1099511627776] overflows int64"}},
        {"byte size overflow",
         [](RawGguf& r) {
             r.patch<uint32_t>("t0.type", static_cast<uint32_t>(DType::F64));
             r.patch<uint64_t>("t0.ne0", 1ull << 61);
             r.patch<uint64_t>("t0.ne1", 1);
         },
         {"tensor[0] 't0'", "byte size", "overflows u64"}},
        {"ne past end of file", set<uint64_t>("t0.ne1", 1ull << 40), {"tensor[0] 't0'", "extends past end of file"}},
        {"ne0 not a block multiple",
         set<uint64_t>("t1.ne0", 33),
         {"tensor[1] 't1'", "ne[0] = 33 is not a multiple of the block size 32 of type q8_0"}},
        {"unknown tensor type", set<uint32_t>("t0.type", 4), {"tensor[0] 't0'", "unknown tensor type id 4"}},
        {"huge tensor type",
         set<uint32_t>("t0.type", 0xffffffff),
         {"tensor[0] 't0'", "unknown tensor type id 4294967295"}},
        {"misaligned offset",
         set<uint64_t>("t0.offset", 16),
         {"tensor[0] 't0'", "offset 16 is not a multiple of the alignment 32"}},
        {"overlapping tensors", set<uint64_t>("t0.offset", 32), {"overlaps", "'t0'", "'t1'"}},
        {"offset past end", set<uint64_t>("t1.offset", 1ull << 62), {"tensor[1] 't1'", "extends past end of file"}},
        {"offset overflowing",
         set<uint64_t>("t1.offset", 0xffffffffffffffe0ull),
         {"tensor[1] 't1'", "extends past end of file"}},
    };
}

TEST(GgufHostile, EachCorruptionGivesAnErrorNamingTheField) {
    for (const Corruption& c : corruptions()) {
        SCOPED_TRACE(c.name);
        RawGguf raw = small_valid_file();
        c.apply(raw);
        std::vector<uint8_t> storage;
        auto f = parse_copy(raw.bytes, &storage);
        ASSERT_FALSE(f) << "corrupted file parsed";
        for (const std::string& want : c.expect)
            EXPECT_NE(f.message().find(want), std::string::npos) << f.message();
    }
}

TEST(GgufHostile, TooSmallFiles) {
    std::vector<uint8_t> storage;
    auto empty = parse_copy({}, &storage);
    ASSERT_FALSE(empty);
    EXPECT_NE(empty.message().find("file is 0 bytes, too small"), std::string::npos) << empty.message();
    auto three = parse_copy({'G', 'G', 'U'}, &storage);
    ASSERT_FALSE(three);
    EXPECT_NE(three.message().find("too small"), std::string::npos) << three.message();
}

// A kv whose value is `depth` arrays nested inside each other, the innermost holding one u8.
std::vector<uint8_t> nested_arrays(int depth) {
    RawGguf f;
    f.put<uint32_t>("", kMagic);
    f.put<uint32_t>("", 3);
    f.put<uint64_t>("", 0);
    f.put<uint64_t>("", 1);
    f.put_str("", "deep");
    f.put<uint32_t>("", static_cast<uint32_t>(ValueType::ARRAY));
    for (int d = 1; d < depth; ++d) {
        f.put<uint32_t>("", static_cast<uint32_t>(ValueType::ARRAY));
        f.put<uint64_t>("", 1);
    }
    f.put<uint32_t>("", static_cast<uint32_t>(ValueType::U8));
    f.put<uint64_t>("", 1);
    f.put<uint8_t>("", 7);
    return f.bytes;
}

TEST(GgufHostile, ArrayNestingDepthIsLimited) {
    std::vector<uint8_t> storage;
    auto ok = parse_copy(nested_arrays(8), &storage);
    ASSERT_TRUE(ok) << ok.message();
    const Value* v = ok->find("deep");
    for (int d = 1; d < 8; ++d)
        v = &v->arr.at(0);
    EXPECT_EQ(v->arr.at(0).u, 7u);

    auto deep = parse_copy(nested_arrays(9), &storage);
    ASSERT_FALSE(deep);
    EXPECT_NE(deep.message().find("kv[0] 'deep'"), std::string::npos) << deep.message();
    EXPECT_NE(deep.message().find("nested more than 8 deep"), std::string::npos) << deep.message();

    // Far deeper than the stack would allow if the depth were unchecked.
    auto very_deep = parse_copy(nested_arrays(100000), &storage);
    ASSERT_FALSE(very_deep);
}

TEST(GgufHostile, MetadataMemoryLimit) {
    // A u8 array of 4000 elements needs 4000 * sizeof(Value) bytes of memory: over a 64 KiB limit.
    RawGguf f;
    f.put<uint32_t>("", kMagic);
    f.put<uint32_t>("", 3);
    f.put<uint64_t>("", 0);
    f.put<uint64_t>("", 1);
    f.put_str("", "bytes");
    f.put<uint32_t>("", static_cast<uint32_t>(ValueType::ARRAY));
    f.put<uint32_t>("", static_cast<uint32_t>(ValueType::U8));
    f.put<uint64_t>("", 4000);
    for (int i = 0; i < 4000; ++i)
        f.put<uint8_t>("", 0);
    ParseLimits limits;
    limits.max_metadata_bytes = 64 << 10;
    auto small = File::from_memory(f.bytes, limits);
    ASSERT_FALSE(small);
    EXPECT_NE(small.message().find("kv[0] 'bytes'"), std::string::npos) << small.message();
    EXPECT_NE(small.message().find("max_metadata_bytes"), std::string::npos) << small.message();
    auto ok = File::from_memory(f.bytes);
    ASSERT_TRUE(ok) << ok.message();
    EXPECT_EQ(ok->get_array_size("bytes").value(), 4000u);
}

TEST(GgufHostile, NoTensorsWithoutTrailingPadding) {
    // Metadata-only files (vocabularies) may end right after the last kv.
    RawGguf f;
    f.put<uint32_t>("", kMagic);
    f.put<uint32_t>("", 2);
    f.put<uint64_t>("", 0);
    f.put<uint64_t>("", 1);
    f.put_str("", "k");
    f.put<uint32_t>("", static_cast<uint32_t>(ValueType::U8));
    f.put<uint8_t>("", 1);
    std::vector<uint8_t> storage;
    auto file = parse_copy(f.bytes, &storage);
    ASSERT_TRUE(file) << file.message();
    EXPECT_EQ(file->version(), 2u);
    EXPECT_LE(file->data_offset(), file->file_size());
}

} // namespace
} // namespace hearth::gguf
