// base/status.h: errors as values at module boundaries.
//
// Status carries success or an error: a code that callers branch on (never the message text) and a
// message a user can act on. Result<T> carries a T or an error. Both are cheap to move; neither throws. Broken internal
// invariants use HEARTH_CHECK (check.h), never Status.
#pragma once

#include <string>
#include <utility>
#include <variant>

namespace hearth {

// Why an operation failed. Add a code when a caller must act differently on a new kind of failure;
// everything else is Internal with a good message.
enum class Code {
    Ok,
    Internal,      // anything without a more specific code (files, parsing, broken input...)
    Cancelled,     // the caller (or its client) asked to stop
    ContextFull,   // the conversation does not fit the model's context
    BadField,      // a request field is invalid; the message names it
    NotFound,      // a model, file or name that does not exist
    Busy,          // a queue is full or the server is shutting down
    TooLarge,      // does not fit in memory or a size limit
    Timeout,       // a deadline passed
    Upstream,      // a remote server failed, refused or sent something malformed
    PolicyBlocked, // the privacy policy forbids this (nothing was sent)
};
const char* code_name(Code c);

class Status {
public:
    Status() = default;
    static Status ok() { return Status(); }
    static Status error(std::string msg) { return error(Code::Internal, std::move(msg)); }
    static Status error(Code code, std::string msg, std::string field = "") {
        Status s;
        s.code_ = code == Code::Ok ? Code::Internal : code;
        s.msg_ = std::move(msg);
        s.field_ = std::move(field);
        return s;
    }
    bool is_ok() const { return code_ == Code::Ok; }
    explicit operator bool() const { return is_ok(); }
    Code code() const { return code_; }
    const std::string& message() const { return msg_; }
    const std::string& field() const { return field_; } // BadField: the request field at fault (may be empty)

private:
    Code code_ = Code::Ok;
    std::string msg_;
    std::string field_;
};

inline Status error(std::string msg) {
    return Status::error(std::move(msg));
}
inline Status error(Code code, std::string msg) {
    return Status::error(code, std::move(msg));
}
// Code::BadField naming the field at fault.
inline Status bad_field(std::string field, std::string msg) {
    return Status::error(Code::BadField, std::move(msg), std::move(field));
}

inline const char* code_name(Code c) {
    switch (c) {
    case Code::Ok:
        return "ok";
    case Code::Internal:
        return "internal";
    case Code::Cancelled:
        return "cancelled";
    case Code::ContextFull:
        return "context_full";
    case Code::BadField:
        return "bad_field";
    case Code::NotFound:
        return "not_found";
    case Code::Busy:
        return "busy";
    case Code::TooLarge:
        return "too_large";
    case Code::Timeout:
        return "timeout";
    case Code::Upstream:
        return "upstream";
    case Code::PolicyBlocked:
        return "policy_blocked";
    }
    return "internal";
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
    Code code() const { return is_ok() ? Code::Ok : std::get<1>(v_).code(); }

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
