// Real fixture models (scripts/fetch-models): known facts checked against gguf-py 0.19.0.
// A missing model fails the test; it is never skipped.
#include "gguf/gguf.h"

#include <cstdlib>
#include <cstring>
#include <gtest/gtest.h>
#include <string>
#include <sys/stat.h>

namespace hearth::gguf {
namespace {

std::string models_dir() {
    if (const char* env = std::getenv("HEARTH_MODELS"); env && *env) return env;
    const char* home = std::getenv("HOME");
    return std::string(home ? home : "") + "/.cache/hearth/models";
}

struct ModelFacts {
    const char* file;
    const char* arch;
    uint32_t block_count;
    size_t n_tensors;
    size_t n_kv;
    uint64_t n_vocab;
    const char* first_token;
    uint64_t data_offset;
    const char* big_tensor; // name, ne, type and byte size below
    uint64_t big_ne0, big_ne1;
    DType big_type;
    uint64_t big_bytes;
    float output_norm0; // output_norm.weight[0] (f32)
};

const ModelFacts kModels[] = {
    {"SmolLM2-135M-Instruct.Q4_1.gguf", "llama", 30, 272, 33, 49152, "<|endoftext|>", 1785664, "token_embd.weight", 576,
     49152, DType::Q8_0, 30081024, 1.7578125f},
    {"gemma-3-270m-q4_k_m.gguf", "gemma3", 18, 236, 33, 262144, "<pad>", 6525120, "output_norm.weight", 640, 0,
     DType::F32, 2560, 7.125f},
    {"qwen2.5-coder-0.5b-instruct-q4_k_m.gguf", "qwen2", 24, 291, 26, 151936, "!", 5947776, "output.weight", 896,
     151936, DType::Q8_0, 144643072, 7.0625f},
};

class GgufModels : public ::testing::TestWithParam<ModelFacts> {};

TEST_P(GgufModels, KnownFacts) {
    const ModelFacts& m = GetParam();
    std::string path = models_dir() + "/" + m.file;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
        FAIL() << "fixture model missing: " << path << "; run scripts/fetch-models (or set HEARTH_MODELS)";
    }
    auto f = File::open(path);
    ASSERT_TRUE(f) << f.message();
    EXPECT_EQ(f->version(), 3u);
    EXPECT_EQ(f->alignment(), 32u);
    EXPECT_EQ(f->file_size(), static_cast<uint64_t>(st.st_size));
    EXPECT_EQ(f->data_offset(), m.data_offset);
    EXPECT_EQ(f->get_string("general.architecture").value(), m.arch);
    EXPECT_EQ(f->get_u32(std::string(m.arch) + ".block_count").value(), m.block_count);
    EXPECT_EQ(f->tensors().size(), m.n_tensors);
    EXPECT_EQ(f->metadata().size(), m.n_kv);
    auto tokens = f->get_string_array("tokenizer.ggml.tokens");
    ASSERT_TRUE(tokens) << tokens.message();
    EXPECT_EQ(tokens->size(), m.n_vocab);
    EXPECT_EQ(tokens->front(), m.first_token);
    EXPECT_EQ(f->get_array_size("tokenizer.ggml.token_type").value(), m.n_vocab);

    const TensorInfo* big = f->find_tensor(m.big_tensor);
    ASSERT_NE(big, nullptr) << m.big_tensor;
    EXPECT_EQ(big->ne[0], m.big_ne0);
    if (m.big_ne1) {
        EXPECT_EQ(big->ne.at(1), m.big_ne1);
    }
    EXPECT_EQ(big->type, m.big_type);
    EXPECT_EQ(big->n_bytes, m.big_bytes);

    const TensorInfo* norm = f->find_tensor("output_norm.weight");
    ASSERT_NE(norm, nullptr);
    float first = 0;
    std::memcpy(&first, f->tensor_data(*norm).data(), sizeof(first));
    EXPECT_EQ(first, m.output_norm0);

    // Every tensor's bytes lie inside the file, and the last one ends at the end of the file.
    uint64_t end = 0;
    for (const TensorInfo& t : f->tensors())
        end = std::max(end, f->data_offset() + t.offset + t.n_bytes);
    EXPECT_EQ(end, f->file_size());
}

INSTANTIATE_TEST_SUITE_P(Fixtures, GgufModels, ::testing::ValuesIn(kModels),
                         [](const ::testing::TestParamInfo<ModelFacts>& info) {
                             std::string name = info.param.arch;
                             return name;
                         });

} // namespace
} // namespace hearth::gguf
