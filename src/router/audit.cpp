// router/audit.cpp: the hash-chained audit log (see audit.h).
#include "router/audit.h"

#include "base/sha256.h"
#include "base/utc_time.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

namespace hearth::router {
namespace {

using json = nlohmann::json;
const std::string kGenesis(64, '0');

// The last complete line of the file (without its newline), or "" when the file is empty.
Result<std::string> last_line(int fd) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return error(std::string("audit log: fstat: ") + std::strerror(errno));
    off_t end = st.st_size;
    if (end == 0) return std::string();
    std::string tail;
    off_t pos = end;
    while (pos > 0) {
        const off_t n = std::min<off_t>(pos, 4096);
        pos -= n;
        std::string chunk(static_cast<size_t>(n), '\0');
        if (::pread(fd, chunk.data(), static_cast<size_t>(n), pos) != n)
            return error(std::string("audit log: read: ") + std::strerror(errno));
        tail.insert(0, chunk);
        // The file ends with '\n'; the line starts after the newline before it.
        const size_t body_end = tail.size() - 1;
        if (tail.back() != '\n') return error(Code::Internal, "audit log: the last record is torn (no newline)");
        const size_t nl = body_end == 0 ? std::string::npos : tail.rfind('\n', body_end - 1);
        if (nl != std::string::npos) return tail.substr(nl + 1, body_end - nl - 1);
        if (tail.size() > (size_t{1} << 20)) return error("audit log: a record is over 1 MiB");
    }
    return tail.substr(0, tail.size() - 1);
}

} // namespace

std::string utc_today() {
    return utc_now_millis().substr(0, 10);
}

std::string audit_hash(const json& record_without_hash, const std::string& prev) {
    Sha256 h;
    const std::string body = record_without_hash.dump();
    h.update(prev.data(), prev.size());
    h.update("\n", 1);
    h.update(body.data(), body.size());
    return h.hex();
}

Result<AuditLog> AuditLog::open(const std::string& path) {
    std::error_code ec;
    const std::filesystem::path p(path);
    if (p.has_parent_path() && !std::filesystem::exists(p.parent_path(), ec)) {
        std::filesystem::create_directories(p.parent_path(), ec);
        if (ec) return error("audit log: cannot create " + p.parent_path().string() + ": " + ec.message());
        ::chmod(p.parent_path().c_str(), 0700);
    }
    const int fd = ::open(path.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return error("audit log: cannot open " + path + ": " + std::strerror(errno));
    AuditLog log;
    log.path_ = path;
    log.fd_ = UniqueFd(fd);
    log.mu_ = std::make_unique<std::mutex>();
    return log;
}

AuditLog::AuditLog(AuditLog&&) noexcept = default;
AuditLog& AuditLog::operator=(AuditLog&&) noexcept = default;
AuditLog::~AuditLog() = default;

Result<std::string> AuditLog::append(json record) {
    std::lock_guard lock(*mu_);
    // A reading descriptor for the tail: the writing one is O_APPEND|O_WRONLY.
    UniqueFd rd(::open(path_.c_str(), O_RDONLY | O_CLOEXEC));
    if (rd.get() < 0) return error("audit log: cannot read " + path_ + ": " + std::strerror(errno));
    if (::flock(fd_.get(), LOCK_EX) != 0) return error(std::string("audit log: flock: ") + std::strerror(errno));
    struct Unlock {
        int fd;
        ~Unlock() { ::flock(fd, LOCK_UN); }
    } unlock{fd_.get()};

    auto last = last_line(rd.get());
    if (!last) return last.status();
    std::string prev = kGenesis;
    if (!last->empty()) {
        json j = json::parse(*last, nullptr, false);
        if (j.is_discarded() || !j.is_object() || !j.contains("hash") || !j["hash"].is_string())
            return error("audit log: the last record of " + path_ +
                         " is not valid; run `hearth router audit --verify`");
        prev = j["hash"].get<std::string>();
    }
    record["time"] = utc_now_millis();
    record["prev"] = prev;
    record.erase("hash");
    const std::string hash = audit_hash(record, prev);
    record["hash"] = hash;
    const std::string line = record.dump() + "\n";
    size_t off = 0;
    while (off < line.size()) {
        const ssize_t n = ::write(fd_.get(), line.data() + off, line.size() - off);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return error("audit log: write " + path_ + ": " + std::strerror(errno));
        off += static_cast<size_t>(n);
    }
    if (::fsync(fd_.get()) != 0) return error("audit log: fsync " + path_ + ": " + std::strerror(errno));
    return hash;
}

Result<AuditVerify> verify_audit(const std::string& path) {
    AuditVerify v;
    std::ifstream in(path, std::ios::binary);
    if (!in) {
        std::error_code ec;
        if (!std::filesystem::exists(path, ec)) return v;
        return error("audit log: cannot read " + path);
    }
    std::string line, prev = kGenesis;
    uint64_t n = 0;
    auto fail = [&](std::string why) {
        v.ok = false;
        v.bad_line = n;
        v.problem = std::move(why);
        return v;
    };
    while (std::getline(in, line)) {
        ++n;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object()) return fail("not a JSON object");
        if (!j.contains("hash") || !j["hash"].is_string()) return fail("no hash");
        if (!j.contains("prev") || !j["prev"].is_string()) return fail("no prev");
        if (j["prev"].get<std::string>() != prev) return fail("prev does not match the previous record's hash");
        const std::string hash = j["hash"].get<std::string>();
        j.erase("hash");
        if (audit_hash(j, prev) != hash) return fail("hash does not match the record (edited)");
        prev = hash;
        ++v.records;
    }
    if (in.bad()) return error("audit log: read error in " + path);
    return v;
}

std::vector<std::pair<std::string, double>> spend_today(const std::string& path) {
    std::vector<std::pair<std::string, double>> out;
    std::ifstream in(path, std::ios::binary);
    const std::string today = utc_today();
    std::string line;
    while (std::getline(in, line)) {
        if (line.find("\"result\"") == std::string::npos) continue;
        json j = json::parse(line, nullptr, false);
        if (j.is_discarded() || !j.is_object() || j.value("kind", "") != "result") continue;
        if (j.value("time", "").substr(0, 10) != today) continue;
        const std::string up = j.value("upstream", "");
        const double cost = j.value("cost_usd", 0.0);
        bool found = false;
        for (auto& [name, sum] : out)
            if (name == up) sum += cost, found = true;
        if (!found) out.emplace_back(up, cost);
    }
    return out;
}

} // namespace hearth::router
