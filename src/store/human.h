// store/human.h: sizes and ages as `hearth list` prints them, in Ollama's style ("91 MB", "2 minutes ago").
#pragma once

#include <cstdint>
#include <string>

namespace hearth::store {

// Decimal units like Ollama: "512 B", "1.5 KB", "91 MB", "4.7 GB" (one decimal below 10, none above).
std::string human_size(uint64_t bytes);
// A parameter count to three significant digits: "135M", "494M", "1.54B", "27.4B", "812K".
std::string human_count(uint64_t n);
// Age of something `seconds` old (negative: in the future): "Less than a second ago", "About a minute ago",
// "5 minutes ago", "About an hour ago", "3 hours ago", "2 days ago", "3 weeks ago", "4 months ago", "2 years ago".
std::string human_ago(int64_t seconds);

} // namespace hearth::store
