// Tokenizer worst cases (a benchmark, not a test): one 1 MB "word" that no pre-tokenizer split
// helps, 1 MB of random letters, 10 MB of one character. Prints seconds per case.
// Usage: bench_tokenizer [VOCAB_DIR]   (default: ../shared/fixtures/vocab next to the source tree)
#include "gguf/gguf.h"
#include "tokenizer/tokenizer.h"

#include <chrono>
#include <cstdio>
#include <random>
#include <string>

int main(int argc, char** argv) {
    const std::string dir = argc > 1 ? argv[1] : std::string(HEARTH_SOURCE_DIR) + "/../shared/fixtures/vocab";
    std::mt19937 rng(7);
    std::string random_word(1 << 20, 'a');
    for (char& c : random_word)
        c = char('a' + rng() % 26);
    struct Case {
        const char* vocab;
        std::string text;
        const char* what;
    } cases[] = {
        {"gpt-2", std::string(1 << 20, 'a'), "1 MB 'a' (one word)"},
        {"gpt-2", random_word, "1 MB random letters (one word)"},
        {"llama-spm", random_word, "1 MB random letters"},
        {"bert-bge", random_word, "1 MB random letters"},
        {"deepseek-llm", std::string(1 << 20, ' ') + "1", "1 MB spaces then a digit"},
        {"gpt-2", std::string(10 << 20, ' '), "10 MB spaces"},
        {"llama-spm", std::string(10 << 20, 'a'), "10 MB 'a'"},
    };
    for (const auto& c : cases) {
        auto file = hearth::gguf::File::open(dir + "/ggml-vocab-" + c.vocab + ".gguf");
        if (!file) {
            std::fprintf(stderr, "%s\n", file.message().c_str());
            return 1;
        }
        auto tok = hearth::load_tokenizer(*file);
        if (!tok) {
            std::fprintf(stderr, "%s\n", tok.message().c_str());
            return 1;
        }
        const auto t0 = std::chrono::steady_clock::now();
        const auto ids = hearth::tokenize(*tok, c.text, false, false);
        const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        std::printf("%-13s %-32s %9zu tokens %8.3f s\n", c.vocab, c.what, ids.size(), s);
    }
    return 0;
}
