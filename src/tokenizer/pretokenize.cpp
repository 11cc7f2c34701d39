#include "tokenizer/pretokenize.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <utility>

namespace hearth::tok {
namespace {

// The shared pieces of the patterns, as in the HF tokenizer.json files.
constexpr const char* kGpt2 = "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)";
constexpr const char* kContractions = "(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])";
std::string llama3_like(const char* digits) {
    return std::string(kContractions) + "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|" + digits +
           "| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+";
}

bool is_one_of(std::string_view s, std::initializer_list<std::string_view> names) {
    for (auto n : names) {
        if (s == n) return true;
    }
    return false;
}

struct CodeDeleter {
    void operator()(pcre2_code* c) const { pcre2_code_free(c); }
};

} // namespace

Result<std::vector<std::string>> PreTokenizer::patterns_for(std::string_view pre) {
    using V = std::vector<std::string>;
    if (pre.empty() || pre == "default") {
        return V{"[\\p{P}\\$\\+<=>\\^~\\|]+", kGpt2, "\\p{N}+", "[0-9][0-9][0-9]"};
    }
    if (is_one_of(pre, {"llama3", "llama-v3", "llama-bpe", "falcon3", "falcon-h1", "pixtral", "midm-2.0", "lfm2",
                        "dbrx", "smaug-bpe", "chatglm-bpe", "glm4"})) {
        return V{llama3_like("\\p{N}{1,3}")};
    }
    if (is_one_of(pre, {"qwen2", "deepseek-r1-qwen", "stablelm2", "hunyuan", "megrez", "grok-2"})) {
        return V{llama3_like("\\p{N}")};
    }
    if (pre == "deepseek-llm") {
        // llama.cpp's "\s+$" rewritten as "(?<!\s)\s+$": the leftmost match of both is the whole trailing
        // whitespace run, but the rewrite tries one start per run instead of every position (linear, not
        // quadratic, on long whitespace runs).
        return V{"[\r\n]",
                 "\\s?[A-Za-z\\x{B5}\\x{C0}-\\x{D6}\\x{D8}-\\x{F6}\\x{F8}-\\x{1BA}\\x{1BC}-\\x{1BF}\\x{1C4}-\\x{293}"
                 "\\x{295}-\\x{2AF}\\x{370}-\\x{373}\\x{376}\\x{377}\\x{37B}-\\x{37D}\\x{37F}\\x{386}\\x{388}-\\x{38A}"
                 "\\x{38C}\\x{38E}-\\x{3A1}\\x{3A3}-\\x{3F5}\\x{3F7}-\\x{481}\\x{48A}-\\x{52F}\\x{531}-\\x{556}\\x{"
                 "10A0}-\\x{10C5}\\x{13A0}-\\x{13F5}\\x{13F8}-\\x{13FD}\\x{1C90}-\\x{1CBA}\\x{1CBD}-\\x{1CBF}\\x{1D00}-"
                 "\\x{1D2B}\\x{1D6B}-\\x{1D77}\\x{1D79}-\\x{1D9A}\\x{1E00}-"
                 "\\x{1F15}\\x{1F18}-\\x{1F1D}\\x{1F20}-\\x{1F45}\\x{1F48}-\\x{1F4D}\\x{1F50}-\\x{1F57}\\x{1F59}\\x{"
                 "1F5B}\\x{1F5D}\\x{1F5F}-"
                 "\\x{1F7D}\\x{1F80}-\\x{1FB4}\\x{1FB6}-\\x{1FBC}\\x{1FBE}\\x{1FC2}-\\x{1FC4}\\x{1FC6}-\\x{1FCC}\\x{"
                 "1FD0}-\\x{1FD3}\\x{1FD6}-\\x{1FDB}\\x{1FE0}-\\x{1FEC}\\x{1FF2}-\\x{1FF4}\\x{1FF6}-\\x{1FFC}\\x{2102}"
                 "\\x{2107}\\x{210A}-\\x{2113}\\x{2115}\\x{2119}-\\x{211D}\\x{2124}\\x{2126}\\x{2128}\\x{212A}-\\x{"
                 "212D}\\x{212F}-\\x{2134}\\x{2139}\\x{213C}-\\x{213F}\\x{2145}-\\x{2149}\\x{214E}\\x{2183}\\x{2184}"
                 "\\x{2C00}-\\x{2C7B}\\x{2C7E}-\\x{2CE4}\\x{2CEB}-\\x{2CEE}\\x{2CF2}\\x{2CF3}\\x{A640}-\\x{A66D}\\x{"
                 "A680}-\\x{A69B}\\x{A722}-\\x{A76F}\\x{A771}-\\x{A787}\\x{A78B}-\\x{A78E}\\x{AB70}-\\x{ABBF}\\x{FB00}-"
                 "\\x{FB06}\\x{FB13}-\\x{FB17}\\x{FF21}-"
                 "\\x{FF3A}\\x{FF41}-\\x{FF5A}\\x{10400}-"
                 "\\x{1044F}\\x{104B0}-\\x{104D3}\\x{104D8}-\\x{104FB}\\x{10C80}-\\x{10CB2}\\x{10CC0}-\\x{10CF2}\\x{"
                 "118A0}-\\x{118DF}\\x{1E900}-\\x{1E943}]+",
                 "\\s?[!-/:-~\\x{FF01}-\\x{FF0F}\\x{FF1A}-\\x{FF5E}\\x{2018}-\\x{201F}\\x{3000}-\\x{3002}]+",
                 "(?<!\\s)\\s+$",
                 "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
                 "\\p{N}+"};
    }
    if (pre == "deepseek-coder") {
        return V{"[\r\n]", "\\s?\\p{L}+", "\\s?\\p{P}+", "[\\x{4E00}-\\x{9FA5}\\x{800}-\\x{4E00}\\x{AC00}-\\x{D7FF}]+",
                 "\\p{N}"};
    }
    if (pre == "deepseek-v3") {
        return V{"\\p{N}{1,3}", "[\\x{4E00}-\\x{9FA5}\\x{3040}-\\x{309F}\\x{30A0}-\\x{30FF}]+",
                 "[!\"#$%&'()*+,\\-./:;<=>?@\\[\\\\\\]^_`{|}~][A-Za-z]+|[^\r\n\\p{L}\\p{P}\\p{S}]?[\\p{L}\\p{M}]+| "
                 "?[\\p{P}\\p{S}]+[\r\n]*|\\s*[\r\n]+|\\s+(?!\\S)|\\s+"};
    }
    if (pre == "falcon") {
        return V{"[\\p{P}\\$\\+<=>\\^~\\|`]+", kGpt2, "[0-9][0-9][0-9]"};
    }
    if (is_one_of(pre, {"starcoder", "refact", "command-r", "smollm", "codeshell", "exaone", "minerva-7b"})) {
        return V{"\\p{N}", kGpt2};
    }
    if (is_one_of(pre, {"gpt-2", "phi-2", "jina-es", "jina-de", "gigachat", "jina-v2-es", "jina-v2-de", "jina-v1-en",
                        "jina-v2-code", "roberta-bpe", "mpt", "olmo", "jais", "exaone4", "trillion", "gpt-neox",
                        "granite-docling", "a.x-4.0", "mellum"})) {
        return V{kGpt2};
    }
    if (is_one_of(pre, {"poro-chat", "bloom", "gpt3-finnish"})) {
        return V{" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+"};
    }
    if (pre == "viking") {
        return V{" ?[^(\\s|.,!?\\x{2026}\\x{3002}\\x{FF0C}\\x{3001}\\x{964}\\x{6D4}\\x{60C})]+", "\\p{N}"};
    }
    if (pre == "tekken") {
        return V{
            "[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+|[^\\r\\n\\p{L}"
            "\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*|\\p{N}| "
            "?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    }
    if (is_one_of(pre, {"gpt-4o", "llama4"})) {
        const std::string c = std::string(kContractions) + "?";
        return V{"[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]*[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]+" + c +
                 "|[^\\r\\n\\p{L}\\p{N}]?[\\p{Lu}\\p{Lt}\\p{Lm}\\p{Lo}\\p{M}]+[\\p{Ll}\\p{Lm}\\p{Lo}\\p{M}]*" + c +
                 "|\\p{N}{1,3}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n/]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    }
    if (pre == "chameleon") {
        return V{"<sentinel:[0-9]+>",      "(IMGIMG)((A|B|C|D|E|F|G|H|I){1,4})Z",
                 "([\\t\\n]|    |  )",     "\\p{N}",
                 "[\\p{P}!-/:-@\\[-`{-~]", kGpt2};
    }
    if (pre == "bailingmoe" || pre == "llada-moe") {
        return V{"'(?:[sSdDmMtT]|[lL][lL]|[vV][eE]|[rR][eE])|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| "
                 "?[^\\s\\p{L}\\p{N}]+[\\r\\n]"
                 "*|\\s*[\\r\\n]|\\s+(?!\\S)|\\s+"};
    }
    if (pre == "seed-coder") {
        return V{std::string(kContractions) +
                 "|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}{1}| ?[^\\s\\p{L}\\p{N}\\r\\n]+|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"};
    }
    return Status::error("tokenizer: unknown pre-tokenizer '" + std::string(pre) +
                         "' (tokenizer.ggml.pre); it needs its regex list added to tokenizer/pretokenize.cpp");
}

struct PreTokenizer::Impl {
    std::vector<std::unique_ptr<pcre2_code, CodeDeleter>> codes;
};

PreTokenizer::PreTokenizer() : impl_(std::make_unique<Impl>()) {}
PreTokenizer::PreTokenizer(PreTokenizer&&) noexcept = default;
PreTokenizer& PreTokenizer::operator=(PreTokenizer&&) noexcept = default;
PreTokenizer::~PreTokenizer() = default;

bool PreTokenizer::empty() const {
    return !impl_ || impl_->codes.empty();
}

Result<PreTokenizer> PreTokenizer::compile(const std::vector<std::string>& patterns) {
    PreTokenizer pt;
    for (const auto& p : patterns) {
        int err = 0;
        PCRE2_SIZE err_off = 0;
        // DOLLAR_ENDONLY: `$` means the end of the piece, as in ECMAScript/HF regexes, never "before a final \n".
        pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(p.data()), p.size(),
                                         PCRE2_UTF | PCRE2_UCP | PCRE2_DOLLAR_ENDONLY, &err, &err_off, nullptr);
        if (!code) {
            PCRE2_UCHAR msg[256];
            pcre2_get_error_message(err, msg, sizeof(msg));
            return Status::error("tokenizer: pre-tokenizer regex '" + p + "' at offset " + std::to_string(err_off) +
                                 ": " + reinterpret_cast<const char*>(msg));
        }
        pcre2_jit_compile(code, PCRE2_JIT_COMPLETE); // optional speed-up; the interpreter is the fallback
        pt.impl_->codes.emplace_back(code);
    }
    return pt;
}

namespace {

// Appends to `out` the pieces of text[piece] split by one regex: matches and the gaps between them.
void split_piece(const pcre2_code* code, pcre2_match_data* md, pcre2_match_context* mctx, std::string_view text,
                 Piece piece, std::vector<Piece>& out) {
    const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data() + piece.offset);
    const size_t len = piece.length;
    size_t pos = 0;  // where the next search starts
    size_t done = 0; // end of the last emitted piece
    while (pos < len) {
        const int rc = pcre2_match(code, subject, len, pos, PCRE2_NO_UTF_CHECK, md, mctx);
        if (rc < 0) break; // no match (or a resource limit): the rest stays one piece
        const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(md);
        const size_t m_begin = ov[0], m_end = ov[1];
        if (m_end == m_begin) { // empty match: step over one code point and search again
            pos = m_begin + 1;
            while (pos < len && (static_cast<uint8_t>(subject[pos]) & 0xC0) == 0x80)
                ++pos;
            continue;
        }
        if (m_begin > done) out.push_back({piece.offset + done, m_begin - done});
        out.push_back({piece.offset + m_begin, m_end - m_begin});
        done = pos = m_end;
    }
    if (done < len) out.push_back({piece.offset + done, len - done});
}

} // namespace

std::vector<Piece> PreTokenizer::split(std::string_view text) const {
    std::vector<Piece> pieces;
    if (text.empty()) return pieces;
    pieces.push_back({0, text.size()});
    if (empty()) return pieces;

    pcre2_match_context* mctx = pcre2_match_context_create(nullptr);
    pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
    if (mctx && jit_stack) pcre2_jit_stack_assign(mctx, nullptr, jit_stack);
    std::vector<Piece> next;
    for (const auto& code : impl_->codes) {
        pcre2_match_data* md = pcre2_match_data_create_from_pattern(code.get(), nullptr);
        next.clear();
        next.reserve(pieces.size() * 2);
        for (const Piece& p : pieces)
            split_piece(code.get(), md, mctx, text, p, next);
        pcre2_match_data_free(md);
        std::swap(pieces, next);
    }
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_context_free(mctx);
    return pieces;
}

} // namespace hearth::tok
