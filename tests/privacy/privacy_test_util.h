// tests/privacy/privacy_test_util.h: scanning helpers shared by the privacy tests.
#pragma once

#include "privacy/privacy.h"

#include <gtest/gtest.h>
#include <string>
#include <vector>

namespace hearth::privacy::test {

inline std::vector<Finding> scan(std::string_view text, const ScannerOptions& options = {}) {
    auto scanner = Scanner::create(options);
    EXPECT_TRUE(scanner) << scanner.message();
    if (!scanner) return {};
    auto found = scanner->scan(text);
    EXPECT_TRUE(found) << found.message();
    return found ? std::move(found.value()) : std::vector<Finding>{};
}

inline std::string describe(std::string_view text, const std::vector<Finding>& found) {
    std::string s;
    for (const Finding& f : found)
        s += std::string(entity_name(f.entity)) + "/" + f.detector + " \"" +
             std::string(text.substr(f.begin, f.end - f.begin)) + "\"; ";
    return s.empty() ? "(none)" : s;
}

} // namespace hearth::privacy::test
