// tests/store_pull/test_download.cpp: download() against a real local HTTP server: resume with Range,
// starting over when Range is ignored, cuts, stalls, trickles, retries, checksums, size caps, If-Range
// and the validator sidecar, the partial file's lock, symbolic links planted in its place, and the
// redirect / address rules.
#include "store/pull/download.h"
#include "store/pull/pull.h"
#include "test_server.h"

#include <atomic>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <random>
#include <sys/file.h>
#include <unistd.h>

namespace hearth::store {
namespace {

namespace fs = std::filesystem;
using test::ServeOptions;
using test::sha256_hex;
using test::TestServer;

std::string read_file(const fs::path& p) {
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_file(const fs::path& p, const std::string& data) {
    std::ofstream f(p, std::ios::binary);
    f.write(data.data(), static_cast<std::streamsize>(data.size()));
}

class DownloadTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937_64 rng(42);
        data_.resize(3 << 20);
        for (char& c : data_)
            c = static_cast<char>(rng() & 0xff);
        sha_ = sha256_hex(data_);
        const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
        dir_ = fs::temp_directory_path() / ("hearth-dl-" + std::string(info->name()) + "-" + std::to_string(getpid()));
        fs::remove_all(dir_);
        fs::create_directories(dir_);
        dest_ = dir_ / "file.partial";
        opts_.allow_insecure = true;
        opts_.allow_private = true;
        opts_.retry_base_s = 0.01;
        opts_.max_retries = 3;
    }
    void TearDown() override {
        server_.stop();
        fs::remove_all(dir_);
    }

    // Serves data_ at /blob; the n-th request (0-based) gets behaviour(n).
    void serve_blob(std::function<ServeOptions(int)> behaviour) {
        server_.srv().Get("/blob", [this, behaviour](const httplib::Request& req, httplib::Response& res) {
            server_.serve(req, res, data_, behaviour(blob_requests_++));
        });
    }

    std::string data_, sha_;
    fs::path dir_, dest_;
    DownloadOptions opts_;
    TestServer server_;
    std::atomic<int> blob_requests_{0};
};

TEST_F(DownloadTest, PlainDownloadHashesAndSizes) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(r->size, data_.size());
    EXPECT_FALSE(r->resumed);
    EXPECT_EQ(r->retries, 0);
    EXPECT_EQ(read_file(dest_), data_);
}

TEST_F(DownloadTest, ResumesAfterMidStreamDisconnect) {
    const int64_t half = static_cast<int64_t>(data_.size() / 2);
    serve_blob([half](int n) {
        ServeOptions o;
        if (n == 0) o.cut_after = half;
        return o;
    });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(read_file(dest_), data_);
    EXPECT_GE(r->retries, 1);
    EXPECT_TRUE(r->resumed);
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].range, "");
    EXPECT_EQ(seen[1].range, "bytes=" + std::to_string(half) + "-"); // continued, not restarted
}

TEST_F(DownloadTest, ResumesFromExistingPartialFileAndHashesThePrefix) {
    write_file(dest_, data_.substr(0, 1 << 20));
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_TRUE(r->resumed);
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(server_.seen().at(0).range, "bytes=1048576-");
    EXPECT_EQ(read_file(dest_), data_);
}

TEST_F(DownloadTest, StartsOverWhenServerIgnoresRange) {
    write_file(dest_, std::string(1000, 'x')); // a stale prefix that is not the file's start
    serve_blob([](int) {
        ServeOptions o;
        o.honor_range = false;
        return o;
    });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_FALSE(r->resumed);
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(read_file(dest_), data_);
    EXPECT_EQ(server_.seen().at(0).range, "bytes=1000-");
}

TEST_F(DownloadTest, CompleteFileAnswered416IsVerified) {
    write_file(dest_, data_);
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(server_.requests(), 1u);
}

TEST_F(DownloadTest, CompleteFileOfKnownSizeNeedsNoRequest) {
    write_file(dest_, data_);
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    opts_.expected_size = data_.size();
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(server_.requests(), 0u);
}

TEST_F(DownloadTest, WrongChecksumDeletesTheFile) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    const std::string wrong = sha256_hex("something else");
    auto r = download(server_.url("/blob"), dest_, wrong, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("checksum mismatch"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find(wrong), std::string::npos);
    EXPECT_NE(r.message().find(sha_), std::string::npos);
    EXPECT_FALSE(fs::exists(dest_));
}

TEST_F(DownloadTest, SizeDifferentFromHubSizeIsAnError) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    opts_.expected_size = data_.size() + 1;
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("size mismatch"), std::string::npos) << r.message();
}

TEST_F(DownloadTest, RetriesServerErrorsWithBackoff) {
    server_.srv().Get("/flaky", [this](const httplib::Request& req, httplib::Response& res) {
        if (blob_requests_++ < 2) {
            res.status = 503;
            res.set_content("busy", "text/plain");
            return;
        }
        server_.serve(req, res, data_);
    });
    server_.start();
    auto r = download(server_.url("/flaky"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->retries, 2);
    EXPECT_EQ(server_.requests(), 3u);
    EXPECT_EQ(r->sha256, sha_);
}

TEST_F(DownloadTest, GivesUpAfterMaxRetries) {
    server_.srv().Get("/down", [](const httplib::Request&, httplib::Response& res) { res.status = 502; });
    server_.start();
    opts_.max_retries = 2;
    auto r = download(server_.url("/down"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("502"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests(), 3u); // the first try and two retries
}

TEST_F(DownloadTest, ClientErrorsAreNotRetried) {
    server_.srv().Get("/gated", [](const httplib::Request&, httplib::Response& res) { res.status = 401; });
    server_.start();
    auto r = download(server_.url("/gated"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("HF_TOKEN"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests(), 1u);
}

TEST_F(DownloadTest, TrickleReportsIncreasingProgress) {
    data_.resize(96 * 1024);
    sha_ = sha256_hex(data_);
    serve_blob([](int) {
        ServeOptions o;
        o.chunk = 4096;
        o.delay_ms = 15; // ~0.35 s in all
        return o;
    });
    server_.start();
    std::vector<Progress> seen;
    opts_.on_progress = [&](const Progress& p) { seen.push_back(p); };
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    ASSERT_GE(seen.size(), 2u);
    for (size_t i = 1; i < seen.size(); ++i)
        EXPECT_GT(seen[i].done, seen[i - 1].done);
    EXPECT_EQ(seen.back().done, data_.size());
    EXPECT_EQ(seen.back().total, data_.size());
}

TEST_F(DownloadTest, StallTriggersRetryAndResume) {
    serve_blob([](int n) {
        ServeOptions o;
        if (n == 0) {
            o.stall_after = 100; // 100 bytes, then nothing for 3 s
            o.stall_ms = 3000;
        }
        return o;
    });
    server_.start();
    opts_.low_speed_bytes = 1000;
    opts_.low_speed_time_s = 1;
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_GE(r->retries, 1);
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].range, "bytes=100-");
}

// ---- the partial file: symbolic links, the lock, If-Range ------------------------------------------
TEST_F(DownloadTest, SymlinkAtThePartialPathIsNotFollowed) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    const fs::path victim = dir_ / "victim";
    write_file(victim, "precious");
    fs::create_symlink(victim, dest_);
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("symbolic link"), std::string::npos) << r.message();
    EXPECT_EQ(read_file(victim), "precious");
    EXPECT_EQ(server_.requests(), 0u);
    // A dangling link must not create its target either.
    fs::remove(dest_);
    const fs::path absent = dir_ / "absent";
    fs::create_symlink(absent, dest_);
    ASSERT_FALSE(download(server_.url("/blob"), dest_, std::nullopt, opts_));
    EXPECT_FALSE(fs::exists(absent));
    EXPECT_TRUE(fs::is_symlink(dest_)); // refused, not removed
}

TEST_F(DownloadTest, HardLinkAtThePartialPathIsRefused) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    const fs::path victim = dir_ / "victim";
    write_file(victim, "precious");
    fs::create_hard_link(victim, dest_);
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("link"), std::string::npos) << r.message();
    EXPECT_EQ(read_file(victim), "precious");
}

TEST_F(DownloadTest, ConcurrentDownloadOfTheSameFileIsRefused) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    const std::string prefix = data_.substr(0, 1000); // what the other pull has received so far
    write_file(dest_, prefix);
    const int held = ::open(dest_.c_str(), O_RDWR | O_CLOEXEC);
    ASSERT_GE(held, 0);
    ASSERT_EQ(::flock(held, LOCK_EX | LOCK_NB), 0); // another pull holds the partial file
    auto r = download(server_.url("/blob"), dest_, sha_, opts_);
    ::close(held);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("another pull of this model is in progress"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests(), 0u);
    EXPECT_TRUE(read_file(dest_) == prefix);                      // the other pull's file is left alone
    auto ok = download(server_.url("/blob"), dest_, sha_, opts_); // the lock is gone with its holder
    ASSERT_TRUE(ok) << ok.message();
    EXPECT_TRUE(ok->resumed);
    EXPECT_EQ(ok->sha256, sha_);
}

TEST_F(DownloadTest, ChangedContentStartsOverInsteadOfSplicing) {
    // Version 1 is cut half-way; then the server's file changes (same size, new ETag). The resume must
    // not append version 2's second half to version 1's first half.
    std::mt19937_64 rng(7);
    std::string v2(data_.size(), '\0');
    for (char& c : v2)
        c = static_cast<char>(rng() & 0xff);
    std::atomic<int> version{1};
    const int64_t half = static_cast<int64_t>(data_.size() / 2);
    server_.srv().Get("/blob", [&](const httplib::Request& req, httplib::Response& res) {
        ServeOptions o;
        if (version == 1) {
            o.etag = "\"v1\"";
            o.cut_after = half;
            server_.serve(req, res, data_, o);
        } else {
            o.etag = "\"v2\"";
            server_.serve(req, res, v2, o);
        }
    });
    server_.start();
    opts_.max_retries = 0;
    ASSERT_FALSE(download(server_.url("/blob"), dest_, std::nullopt, opts_));
    ASSERT_EQ(fs::file_size(dest_), static_cast<uintmax_t>(half));
    version = 2;
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha256_hex(v2));
    EXPECT_TRUE(read_file(dest_) == v2); // (not EXPECT_EQ: 3 MiB of random bytes in a failure message)
    EXPECT_FALSE(r->resumed);
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[1].range, "bytes=" + std::to_string(half) + "-");
    EXPECT_EQ(seen[1].if_range, "\"v1\"");
}

TEST_F(DownloadTest, ResumeSendsIfRangeWithTheFirstResponsesValidator) {
    const int64_t half = static_cast<int64_t>(data_.size() / 2);
    serve_blob([half](int n) {
        ServeOptions o;
        o.etag = "\"abc\"";
        if (n == 0) o.cut_after = half;
        return o;
    });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_); // no expected sha256
    ASSERT_TRUE(r) << r.message();
    EXPECT_TRUE(r->resumed);
    EXPECT_EQ(r->sha256, sha_);
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 2u);
    EXPECT_EQ(seen[0].if_range, "");
    EXPECT_EQ(seen[1].range, "bytes=" + std::to_string(half) + "-");
    EXPECT_EQ(seen[1].if_range, "\"abc\"");
}

TEST_F(DownloadTest, UnverifiedPartialWithoutValidatorStartsOver) {
    // A partial file whose origin is unknown (no validator) and no sha256 to check the result against:
    // resuming could splice two versions, so it starts over.
    write_file(dest_, data_.substr(0, 1 << 20));
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_FALSE(r->resumed);
    EXPECT_EQ(r->sha256, sha_);
    ASSERT_EQ(server_.seen().size(), 1u);
    EXPECT_EQ(server_.seen()[0].range, "");
}

TEST_F(DownloadTest, RangeAnsweredWithANewValidatorStartsOver) {
    // A server that ignores If-Range but names the new version's ETag on its 206.
    std::string v2 = data_;
    for (size_t i = 0; i < v2.size(); i += 4096)
        v2[i] = static_cast<char>(v2[i] ^ 0x5a);
    const int64_t half = static_cast<int64_t>(data_.size() / 2);
    server_.srv().Get("/blob", [&, half](const httplib::Request& req, httplib::Response& res) {
        ServeOptions o;
        o.honor_if_range = false;
        if (blob_requests_++ == 0) {
            o.etag = "\"v1\"";
            o.cut_after = half;
            server_.serve(req, res, data_, o);
        } else {
            o.etag = "\"v2\"";
            server_.serve(req, res, v2, o);
        }
    });
    server_.start();
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha256_hex(v2));
    const auto seen = server_.seen();
    ASSERT_EQ(seen.size(), 3u); // cut, the refused 206, the fresh 200
    EXPECT_EQ(seen[1].if_range, "\"v1\"");
    EXPECT_EQ(seen[2].range, "");
}

TEST_F(DownloadTest, ValidatorSidecarRecordsTheETagAndIsNeverALink) {
    const fs::path victim = dir_ / "victim";
    write_file(victim, "precious");
    serve_blob([](int) {
        ServeOptions o;
        o.etag = "\"tag\"";
        return o;
    });
    server_.start();
    // A link at the sidecar's temporary name: replaced, never written through.
    const fs::path sidecar_tmp = validator_path(dest_).string() + ".tmp";
    fs::create_symlink(victim, sidecar_tmp);
    {
        auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
        ASSERT_TRUE(r) << r.message();
        EXPECT_EQ(read_file(validator_path(dest_)), "\"tag\"\n");
        EXPECT_FALSE(fs::is_symlink(validator_path(dest_)));
        EXPECT_FALSE(fs::exists(sidecar_tmp));
    }
    EXPECT_EQ(read_file(victim), "precious");
    // A link at the sidecar itself: refused.
    remove_partial(dest_);
    write_file(dest_, data_.substr(0, 1000));
    fs::create_symlink(victim, validator_path(dest_));
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("symbolic link"), std::string::npos) << r.message();
    EXPECT_EQ(read_file(victim), "precious");
    EXPECT_EQ(fs::file_size(dest_), 1000u);
}

TEST_F(DownloadTest, TheResultKeepsThePartialFileLocked) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    {
        auto r = download(server_.url("/blob"), dest_, sha_, opts_);
        ASSERT_TRUE(r) << r.message();
        EXPECT_TRUE(r->lock.held());
        auto again = download(server_.url("/blob"), dest_, sha_, opts_);
        ASSERT_FALSE(again);
        EXPECT_NE(again.message().find("another pull"), std::string::npos) << again.message();
    }
    auto later = download(server_.url("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(later) << later.message();
}

TEST_F(DownloadTest, FetchTextCapsTheBody) {
    server_.srv().Get("/big", [](const httplib::Request&, httplib::Response& res) {
        res.set_content(std::string(1000, 'a'), "application/json");
    });
    server_.start();
    auto ok = fetch_text(server_.url("/big"), opts_);
    ASSERT_TRUE(ok) << ok.message();
    EXPECT_EQ(ok->size(), 1000u);
    auto r = fetch_text(server_.url("/big"), opts_, 100);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("too large"), std::string::npos) << r.message();
}

TEST_F(DownloadTest, OfflineModeTouchesNoNetwork) {
    serve_blob([](int) { return ServeOptions{}; });
    server_.start();
    opts_.offline = true;
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("offline"), std::string::npos);
    EXPECT_FALSE(fetch_text(server_.url("/blob"), opts_));
    opts_.offline = false;
    ::setenv("HEARTH_OFFLINE", "1", 1);
    auto r2 = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ::unsetenv("HEARTH_OFFLINE");
    ASSERT_FALSE(r2);
    EXPECT_EQ(server_.requests(), 0u);
}

// ---- redirects and the SSRF rules ----------------------------------------------------------------
// The server is on 127.0.0.1, which the rules refuse; the tests vouch for "127.0.0.1" as a trusted host
// (as for a configured local mirror), so only where redirects lead is checked.
class RedirectTest : public DownloadTest {
protected:
    void SetUp() override {
        DownloadTest::SetUp();
        opts_.allow_private = false;
        opts_.allow_insecure = false;
        opts_.trusted_hosts = {"127.0.0.1"};
        serve_blob([](int) { return ServeOptions{}; });
        server_.srv().Get("/to", [this](const httplib::Request& req, httplib::Response& res) {
            std::string target = req.get_param_value("u");
            if (target.front() == '/') target = server_.url(target);
            res.set_redirect(target, 302);
        });
    }
    std::string via(const std::string& target) {
        std::string q;
        for (unsigned char c : target) {
            static constexpr char hex[] = "0123456789ABCDEF";
            if (std::isalnum(c))
                q += static_cast<char>(c);
            else
                q += std::string("%") + hex[c >> 4] + hex[c & 15];
        }
        return server_.url("/to?u=" + q);
    }
};

TEST_F(RedirectTest, RedirectToAllowedPathWorks) {
    server_.start();
    auto r = download(via("/blob"), dest_, sha_, opts_);
    ASSERT_TRUE(r) << r.message();
    EXPECT_EQ(r->sha256, sha_);
    EXPECT_EQ(server_.requests_for("/blob"), 1u);
}

TEST_F(RedirectTest, RedirectToLoopbackIsRefused) {
    server_.start();
    opts_.allow_insecure = true;
    const std::string loop = "http://localhost:" + std::to_string(server_.port()) + "/blob";
    auto r = download(via(loop), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("server-side request forgery"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests_for("/blob"), 0u);
    // Cloud metadata (link-local) and an IPv4-mapped loopback literal too.
    for (const std::string target : {"http://169.254.169.254/latest/meta-data/", "http://[::ffff:127.0.0.1]/x"}) {
        auto r2 = download(via(target), dest_, std::nullopt, opts_);
        ASSERT_FALSE(r2) << target;
        EXPECT_NE(r2.message().find("server-side request forgery"), std::string::npos) << r2.message();
    }
}

TEST_F(RedirectTest, RedirectToPlainHttpIsRefused) {
    server_.start();
    opts_.allow_private = true; // only the scheme is wrong
    const std::string plain = "http://localhost:" + std::to_string(server_.port()) + "/blob";
    auto r = download(via(plain), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("http://"), std::string::npos) << r.message();
    EXPECT_NE(r.message().find("redirect"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests_for("/blob"), 0u);
    opts_.allow_insecure = true; // the same redirect is fine once http:// is allowed
    auto ok = download(via(plain), dest_, sha_, opts_);
    ASSERT_TRUE(ok) << ok.message();
}

TEST_F(RedirectTest, FirstHopToLoopbackIsRefusedWithoutAnyRequest) {
    server_.start();
    opts_.trusted_hosts.clear();
    opts_.allow_insecure = true;
    auto r = download(server_.url("/blob"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("server-side request forgery"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests(), 0u);
}

TEST_F(RedirectTest, TooManyRedirects) {
    server_.srv().Get("/loop", [](const httplib::Request&, httplib::Response& res) { res.set_redirect("/loop"); });
    server_.start();
    opts_.max_redirects = 3;
    auto r = download(server_.url("/loop"), dest_, std::nullopt, opts_);
    ASSERT_FALSE(r);
    EXPECT_NE(r.message().find("too many redirects"), std::string::npos) << r.message();
    EXPECT_EQ(server_.requests(), 4u);
}

} // namespace
} // namespace hearth::store
