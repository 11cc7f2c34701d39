// router/audit.h: the append-only audit log of everything that left this machine.
//
// One JSON object per line. Every egress writes an "egress" record before a byte is sent (time, upstream,
// why it was escalated, the entity types and counts that were pseudonymized, the size and sha256 of the
// exact bytes sent — never the payload), and a "result" record when the upstream's answer ended (outcome,
// tokens, cost). Each record carries `prev`, the previous record's `hash`, and its own `hash` =
// sha256(prev + "\n" + the record's JSON without "hash", keys sorted), so editing, removing or reordering a
// record breaks the chain from there on (`hearth router audit --verify`). The first record's prev is 64 zeros.
//
// Appends take an exclusive flock on the file (several `hearth serve` may share one log), read the last
// record's hash from the file itself, write the line with one write(2) on an O_APPEND descriptor and fsync
// it. If a record cannot be written, the egress does not happen (fail closed: router.cpp).
#pragma once

#include "base/status.h"
#include "base/unique_fd.h"

#include <cstdint>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

namespace hearth::router {

class AuditLog {
public:
    // Creates the file (and its folder, mode 0700) when missing; the file is mode 0600.
    static Result<AuditLog> open(const std::string& path);
    AuditLog(AuditLog&&) noexcept;
    AuditLog& operator=(AuditLog&&) noexcept;
    ~AuditLog();

    // Adds `time` (UTC, RFC 3339 with milliseconds), `prev` and `hash` to `record` and appends it; returns
    // the hash. Thread-safe.
    Result<std::string> append(nlohmann::json record);
    const std::string& path() const { return path_; }

private:
    AuditLog() = default;
    std::string path_;
    UniqueFd fd_;
    std::unique_ptr<std::mutex> mu_;
};

struct AuditVerify {
    uint64_t records = 0;
    bool ok = true;
    uint64_t bad_line = 0; // 1-based, when !ok
    std::string problem;   // when !ok
};
// Checks every record's hash and link. A missing file is an empty, valid log.
Result<AuditVerify> verify_audit(const std::string& path);

// The USD cost of "result" records of the current UTC day, per upstream name (for daily budgets across
// restarts). Unreadable lines are skipped (verify_audit reports them).
std::vector<std::pair<std::string, double>> spend_today(const std::string& path);

// The current UTC day, "YYYY-MM-DD" (budgets are per UTC day).
std::string utc_today();

// The hash of a record as stored (for tests and verify): sha256(prev + "\n" + dump of record minus "hash").
std::string audit_hash(const nlohmann::json& record_without_hash, const std::string& prev);

} // namespace hearth::router
