// `hearth list` formatting: sizes and ages as Ollama prints them.
#include "store/human.h"

#include <gtest/gtest.h>

using hearth::store::human_ago;
using hearth::store::human_size;

TEST(Human, Sizes) {
    EXPECT_EQ(human_size(0), "0 B");
    EXPECT_EQ(human_size(999), "999 B");
    EXPECT_EQ(human_size(1000), "1 KB");
    EXPECT_EQ(human_size(1500), "1.5 KB");
    EXPECT_EQ(human_size(91'000'000), "91 MB");
    EXPECT_EQ(human_size(91'740'000), "91 MB");
    EXPECT_EQ(human_size(4'700'000'000), "4.7 GB");
    EXPECT_EQ(human_size(2'000'000'000'000), "2 TB");
}

TEST(Human, Ages) {
    EXPECT_EQ(human_ago(0), "Less than a second ago");
    EXPECT_EQ(human_ago(1), "1 second ago");
    EXPECT_EQ(human_ago(45), "45 seconds ago");
    EXPECT_EQ(human_ago(61), "About a minute ago");
    EXPECT_EQ(human_ago(150), "2 minutes ago");
    EXPECT_EQ(human_ago(3600), "About an hour ago");
    EXPECT_EQ(human_ago(5 * 3600), "5 hours ago");
    EXPECT_EQ(human_ago(3 * 86400), "3 days ago");
    EXPECT_EQ(human_ago(21 * 86400), "3 weeks ago");
    EXPECT_EQ(human_ago(120 * 86400), "4 months ago");
    EXPECT_EQ(human_ago(800 * 86400), "2 years ago");
    EXPECT_EQ(human_ago(-300), "5 minutes from now");
}

TEST(Human, Counts) {
    EXPECT_EQ(hearth::store::human_count(999), "999");
    EXPECT_EQ(hearth::store::human_count(812'400), "812K");
    EXPECT_EQ(hearth::store::human_count(134'515'008), "135M");
    EXPECT_EQ(hearth::store::human_count(494'032'768), "494M");
    EXPECT_EQ(hearth::store::human_count(1'543'714'304), "1.54B");
    EXPECT_EQ(hearth::store::human_count(27'400'000'000), "27.4B");
    EXPECT_EQ(hearth::store::human_count(2'000'000'000), "2B");
}
