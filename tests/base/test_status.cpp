#include "base/status.h"

#include <gtest/gtest.h>
#include <memory>

namespace hearth {
namespace {

Result<int> parse_positive(int x) {
    if (x <= 0) return error("not positive: " + std::to_string(x));
    return x;
}

Status chain(int x) {
    HEARTH_TRY(parse_positive(x).status());
    return Status::ok();
}

TEST(Status, OkAndError) {
    EXPECT_TRUE(Status::ok().is_ok());
    Status e = error("boom");
    EXPECT_FALSE(e.is_ok());
    EXPECT_EQ(e.message(), "boom");
}

TEST(Result, ValueOrError) {
    auto a = parse_positive(3);
    ASSERT_TRUE(a);
    EXPECT_EQ(*a, 3);
    auto b = parse_positive(-1);
    ASSERT_FALSE(b);
    EXPECT_EQ(b.message(), "not positive: -1");
    EXPECT_EQ(chain(-2).message(), "not positive: -2");
    EXPECT_TRUE(chain(2).is_ok());
}

TEST(Result, MoveOnlyValue) {
    Result<std::unique_ptr<int>> r(std::make_unique<int>(7));
    ASSERT_TRUE(r);
    std::unique_ptr<int> p = std::move(r).value();
    EXPECT_EQ(*p, 7);
}

} // namespace
} // namespace hearth
