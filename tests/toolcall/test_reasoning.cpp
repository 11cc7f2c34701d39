// toolcall/reasoning: the thinking split from the answer, whole and streamed in every chunking; templates
// classified by what they show.
#include "toolcall/reasoning.h"

#include <gtest/gtest.h>

namespace hearth::toolcall {
namespace {

ThinkPiece run(bool opened, const std::vector<std::string>& chunks) {
    const std::vector<std::string_view> views(chunks.begin(), chunks.end());
    return split_thinking(opened, views);
}

// Every split of `text` into two chunks, and one byte at a time, gives the same result as the whole.
void expect_split(bool opened, const std::string& text, const std::string& reasoning, const std::string& content) {
    const ThinkPiece whole = run(opened, {text});
    EXPECT_EQ(whole.reasoning, reasoning) << text;
    EXPECT_EQ(whole.content, content) << text;
    for (size_t k = 0; k <= text.size(); ++k) {
        const ThinkPiece two = run(opened, {text.substr(0, k), text.substr(k)});
        EXPECT_EQ(two.reasoning, reasoning) << text << " split at " << k;
        EXPECT_EQ(two.content, content) << text << " split at " << k;
    }
    std::vector<std::string> bytes;
    for (char c : text)
        bytes.emplace_back(1, c);
    const ThinkPiece each = run(opened, bytes);
    EXPECT_EQ(each.reasoning, reasoning) << text;
    EXPECT_EQ(each.content, content) << text;
}

TEST(ThinkSplitter, ModelOpensTheBlock) {
    expect_split(false, "<think>\nLet me add 2 and 2.\n</think>\n\nThe answer is 4.", "Let me add 2 and 2.\n",
                 "The answer is 4.");
    expect_split(false, "\n<think>x < y</think>ok", "x < y", "ok"); // a "<" inside is not a tag
    expect_split(false, "<think></think>\n\nNo thinking.", "", "No thinking.");
}

TEST(ThinkSplitter, PromptOpenedTheBlock) {
    expect_split(true, "Hmm, 2+2 is 4.\n</think>\n\n**4**", "Hmm, 2+2 is 4.\n", "**4**");
}

TEST(ThinkSplitter, NoBlockIsAllAnswer) {
    expect_split(false, "The answer is 4.", "", "The answer is 4.");
    expect_split(false, "  <thin air>", "", "  <thin air>");
    expect_split(false, "<", "", "<"); // held while it may become <think>, then released
}

TEST(ThinkSplitter, AnUnclosedBlockIsReasoning) {
    expect_split(false, "<think>still thinking when cut</thi", "still thinking when cut</thi", "");
    expect_split(true, "cut", "cut", "");
}

TEST(ThinkSplitter, TextAfterTheAnswerStartsIsNeverReasoning) {
    expect_split(false, "<think>a</think>b<think>c</think>", "a", "b<think>c</think>");
}

TEST(Thinking, DetectedFromTheTemplate) {
    EXPECT_EQ(detect_thinking("{{ '<|im_start|>assistant\\n' }}"), Thinking::None);
    EXPECT_EQ(detect_thinking("{%- if enable_thinking is false %}{{ '<think>\\n\\n</think>' }}{% endif %}"),
              Thinking::Switchable);
    EXPECT_EQ(detect_thinking("{{'<｜Assistant｜><think>\\n'}}"), Thinking::Always);
}

} // namespace
} // namespace hearth::toolcall
