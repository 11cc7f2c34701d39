// base/status.h: errors as values at module boundaries.
//
// Status carries success or an error message a user can act on. Result<T> carries a T or an error.
// Both are cheap to move; neither throws. Broken internal invariants use HEARTH_CHECK (check.h),
// never Status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hearth {

class Status {
public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status error(std::string msg) {
        Status s;
        s.failed_ = true;
        s.msg_ = std::move(msg);
        return s;
    }
    bool is_ok() const { return !failed_; }
    explicit operator bool() const { return !failed_; }
    const std::string& message() const { return msg_; }

private:
    bool failed_ = false;
    std::string msg_;
};

inline Status error(std::string msg) {
    return Status::error(std::move(msg));
}

template <typename T> class Result {
public:
    Result(T value) : v_(std::move(value)) {} // NOLINT: implicit by design
    Result(Status st) : v_(std::move(st)) {}  // NOLINT: must be an error
    bool is_ok() const { return v_.index() == 0; }
    explicit operator bool() const { return is_ok(); }
    T& value() & { return std::get<0>(v_); }
    const T& value() const& { return std::get<0>(v_); }
    T&& value() && { return std::get<0>(std::move(v_)); }
    T* operator->() { return &std::get<0>(v_); }
    const T* operator->() const { return &std::get<0>(v_); }
    T& operator*() & { return value(); }
    const T& operator*() const& { return value(); }
    Status status() const { return is_ok() ? Status::ok() : std::get<1>(v_); }
    const std::string& message() const {
        static const std::string empty;
        return is_ok() ? empty : std::get<1>(v_).message();
    }

private:
    std::variant<T, Status> v_;
};

} // namespace hearth

// Propagate an error Status from an expression returning Status.
#define HEARTH_TRY(expr)                                                                                               \
    do {                                                                                                               \
        ::hearth::Status hearth_st_ = (expr);                                                                          \
        if (!hearth_st_.is_ok()) return hearth_st_;                                                                    \
    } while (0)
