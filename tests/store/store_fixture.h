// tests/store/store_fixture.h: a gtest fixture with a fresh model store in its temporary directory
// (for tests that link hearth_store).
#pragma once

#include "store/store.h"
#include "store_test_util.h"

namespace hearth::test {

class StoreFixture : public TempDirTest {
protected:
    void SetUp() override {
        TempDirTest::SetUp();
        auto s = store::open_store(dir_ / "store");
        ASSERT_TRUE(s) << s.message();
        store_ = *s;
    }
    store::ModelName name(const std::string& s) {
        auto n = store::parse_name(s);
        EXPECT_TRUE(n) << n.message();
        return n ? *n : store::ModelName{};
    }
    store::Store store_;
};

} // namespace hearth::test
