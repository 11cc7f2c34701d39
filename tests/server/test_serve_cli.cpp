// tests/server/test_serve_cli.cpp: `hearth serve` as a user runs it: a subprocess on an ephemeral port
// with its own HEARTH_HOME; /health open, /metrics behind the key from --api-key-file, a warning for an
// open 0.0.0.0 bind, usage errors, and a SIGTERM/SIGINT drain that exits 0.
#include "model_paths.h"

#include <arpa/inet.h>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <gtest/gtest.h>
#include <mutex>
#include <netinet/in.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

// A running `hearth serve` whose stderr is collected by a reader thread.
class ServeProcess {
public:
    explicit ServeProcess(const std::vector<std::string>& args, const fs::path& home) {
        int err[2];
        EXPECT_EQ(::pipe(err), 0);
        pid_ = ::fork();
        if (pid_ == 0) {
            ::dup2(err[1], 2);
            ::close(err[0]);
            ::close(err[1]);
            ::setenv("HEARTH_HOME", home.c_str(), 1);
            ::setenv("HEARTH_MODELS", (home / "no-models").c_str(), 1);
            ::unsetenv("HEARTH_API_KEY");
            ::unsetenv("HEARTH_MANAGEMENT_KEY");
            std::vector<char*> argv;
            std::string bin = HEARTH_BIN;
            argv.push_back(bin.data());
            std::vector<std::string> copy = args;
            for (auto& a : copy)
                argv.push_back(a.data());
            argv.push_back(nullptr);
            ::execv(bin.c_str(), argv.data());
            ::_exit(127);
        }
        ::close(err[1]);
        reader_ = std::thread([this, fd = err[0]] {
            char buf[4096];
            for (;;) {
                const ssize_t n = ::read(fd, buf, sizeof buf);
                std::lock_guard lock(mu_);
                if (n <= 0) {
                    eof_ = true;
                    cv_.notify_all();
                    break;
                }
                err_.append(buf, static_cast<size_t>(n));
                cv_.notify_all();
            }
            ::close(fd);
        });
    }
    ~ServeProcess() {
        if (pid_ > 0 && !reaped_) {
            ::kill(pid_, SIGKILL);
            ::waitpid(pid_, nullptr, 0);
        }
        reader_.join();
    }

    // Waits for `text` on stderr; false on timeout or exit.
    bool wait_for(const std::string& text, std::chrono::seconds timeout = 30s) {
        std::unique_lock lock(mu_);
        return cv_.wait_for(lock, timeout, [&] { return err_.find(text) != std::string::npos || eof_; }) &&
               err_.find(text) != std::string::npos;
    }
    // The port from "listening on http://HOST:PORT", or -1.
    int port() {
        if (!wait_for("listening on http://")) return -1;
        if (!wait_for(" (API key")) return -1;
        std::lock_guard lock(mu_);
        const size_t at = err_.find("listening on http://");
        const size_t colon = err_.find(':', err_.find("//", at) + 2);
        const size_t colon_v6 = err_.find("]:", at);
        return std::stoi(err_.substr((colon_v6 != std::string::npos ? colon_v6 + 1 : colon) + 1));
    }
    // Sends `sig` and waits for the exit status (-1 when it did not exit within the timeout).
    int stop(int sig, std::chrono::seconds timeout = 30s) {
        ::kill(pid_, sig);
        return wait_exit(timeout);
    }
    int wait_exit(std::chrono::seconds timeout = 30s) {
        const auto until = std::chrono::steady_clock::now() + timeout;
        while (std::chrono::steady_clock::now() < until) {
            int status = 0;
            if (::waitpid(pid_, &status, WNOHANG) == pid_) {
                reaped_ = true;
                // Everything it wrote is in the pipe: wait until the reader has it all, so stderr_text() after
                // an exit is complete.
                std::unique_lock lock(mu_);
                cv_.wait_until(lock, until, [&] { return eof_; });
                return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
            }
            std::this_thread::sleep_for(20ms);
        }
        return -1;
    }
    std::string stderr_text() {
        std::lock_guard lock(mu_);
        return err_;
    }

private:
    pid_t pid_ = -1;
    bool reaped_ = false;
    std::thread reader_;
    std::mutex mu_;
    std::condition_variable cv_;
    std::string err_;
    bool eof_ = false;
};

// One HTTP/1.1 request over a raw socket; returns the whole response ("" on failure).
std::string http_exchange(int port, const std::string& request) {
    const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    timeval tv{60, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    std::string out;
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
        ::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
        char buf[4096];
        for (ssize_t n; (n = ::recv(fd, buf, sizeof buf, 0)) > 0;)
            out.append(buf, static_cast<size_t>(n));
    }
    ::close(fd);
    return out;
}

std::string http_post(int port, const std::string& path, const std::string& body) {
    return http_exchange(port, "POST " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                   "\r\nContent-Type: application/json\r\nContent-Length: " +
                                   std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body);
}

// One HTTP/1.1 request over a raw socket; returns the status code (0 on failure).
int http_status(int port, const std::string& path, const std::string& extra = "") {
    const std::string r = http_exchange(port, "GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1:" + std::to_string(port) +
                                                  "\r\n" + extra + "Connection: close\r\n\r\n");
    return r.size() >= 12 ? std::atoi(r.c_str() + 9) : 0;
}

class ServeCliTest : public ::testing::Test {
protected:
    fs::path home;
    void SetUp() override {
        home = fs::temp_directory_path() / ("hearth-serve-" + std::to_string(::getpid()) + "-" +
                                            ::testing::UnitTest::GetInstance()->current_test_info()->name());
        fs::remove_all(home);
        fs::create_directories(home);
    }
    void TearDown() override { fs::remove_all(home); }
};

TEST_F(ServeCliTest, KeyFromFileAndDrainOnSigterm) {
    std::ofstream(home / "key") << "sk-cli-test\n";
    ServeProcess p({"serve", "--port", "0", "--api-key-file", (home / "key").string()}, home);
    const int port = p.port();
    ASSERT_GT(port, 0) << p.stderr_text();
    EXPECT_EQ(http_status(port, "/health"), 200);
    EXPECT_EQ(http_status(port, "/metrics"), 401);
    EXPECT_EQ(http_status(port, "/metrics", "Authorization: Bearer wrong\r\n"), 401);
    EXPECT_EQ(http_status(port, "/metrics", "Authorization: Bearer sk-cli-test\r\n"), 200);
    EXPECT_EQ(http_status(port, "/health", "Host: evil.com\r\n"), 400); // two Host headers
    EXPECT_EQ(p.stop(SIGTERM), 0) << p.stderr_text();
    const std::string err = p.stderr_text();
    EXPECT_NE(err.find("draining"), std::string::npos) << err;
    EXPECT_NE(err.find("\"path\":\"/metrics\""), std::string::npos) << "no access log line: " << err;
    EXPECT_EQ(err.find("sk-cli-test"), std::string::npos) << "the key was logged";
}

TEST_F(ServeCliTest, OpenBindWarnsAndSigintExitsZero) {
    ServeProcess p({"serve", "--host", "0.0.0.0", "--port", "0"}, home);
    const int port = p.port();
    ASSERT_GT(port, 0) << p.stderr_text();
    EXPECT_NE(p.stderr_text().find("warning: listening on 0.0.0.0 without an API key"), std::string::npos)
        << p.stderr_text();
    EXPECT_EQ(http_status(port, "/health"), 200);
    EXPECT_EQ(p.stop(SIGINT), 0) << p.stderr_text();
}

TEST_F(ServeCliTest, LoopbackBindDoesNotWarn) {
    ServeProcess p({"serve", "--port", "0"}, home);
    ASSERT_GT(p.port(), 0) << p.stderr_text();
    EXPECT_EQ(p.stderr_text().find("warning"), std::string::npos) << p.stderr_text();
    EXPECT_EQ(p.stop(SIGTERM), 0);
}

TEST_F(ServeCliTest, UsageErrors) {
    std::ofstream(home / "key") << "k\n";
    std::ofstream(home / "empty") << "\n";
    {
        ServeProcess p({"serve", "--port", "0", "--api-key", "a", "--api-key-file", (home / "key").string()}, home);
        EXPECT_EQ(p.wait_exit(), 2);
        EXPECT_NE(p.stderr_text().find("not both"), std::string::npos) << p.stderr_text();
    }
    {
        ServeProcess p({"serve", "--port", "0", "--api-key-file", (home / "empty").string()}, home);
        EXPECT_EQ(p.wait_exit(), 2);
        EXPECT_NE(p.stderr_text().find("is empty"), std::string::npos) << p.stderr_text();
    }
    {
        ServeProcess p({"serve", "--port", "70000"}, home);
        EXPECT_NE(p.wait_exit(), 0);
    }
    {
        ServeProcess p({"serve", "--port", "0", "--ctx-size", "8"}, home);
        EXPECT_NE(p.wait_exit(), 0);
        EXPECT_NE(p.stderr_text().find("ctx-size"), std::string::npos) << p.stderr_text();
    }
}

// --ctx-size is the context of requests that set no num_ctx: a prompt longer than it is refused, naming
// the numbers; a short one is answered.
TEST_F(ServeCliTest, CtxSizeSetsTheDefaultContext) {
    const std::string model = hearth::test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(fs::exists(model)) << hearth::test::missing_model_message(model);
    ServeProcess p({"serve", "--port", "0", "--allow-model-paths", "-t", "1", "--ctx-size", "32"}, home);
    const int port = p.port();
    ASSERT_GT(port, 0) << p.stderr_text();
    std::string long_prompt;
    for (int i = 0; i < 40; ++i)
        long_prompt += "word ";
    const std::string refused = http_post(
        port, "/v1/completions", R"({"model":")" + model + R"(","prompt":")" + long_prompt + R"(","max_tokens":2})");
    EXPECT_EQ(refused.rfind("HTTP/1.1 400", 0), 0u) << refused;
    EXPECT_NE(refused.find("num_ctx"), std::string::npos) << refused;
    EXPECT_NE(refused.find("32"), std::string::npos) << refused;
    const std::string ok =
        http_post(port, "/v1/completions", R"({"model":")" + model + R"(","prompt":"Hi","max_tokens":2})");
    EXPECT_EQ(ok.rfind("HTTP/1.1 200", 0), 0u) << ok;
    EXPECT_EQ(p.stop(SIGTERM), 0);
}

// #12: SIGTERM ends the process within --drain-timeout + 1 s whatever is running: here a long prompt is
// being read by a 0.5B model on one thread when the signal comes, with a drain timeout shorter than its
// prefill. (A watchdog started by the first signal guarantees the bound even when a forward pass or a
// handler does not see the cancel.)
TEST_F(ServeCliTest, SigtermEndsWithinTheDrainTimeoutPlusOneSecond) {
    const std::string model = hearth::test::model_path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
    ASSERT_TRUE(fs::exists(model)) << hearth::test::missing_model_message(model);
    ServeProcess p({"serve", "--port", "0", "--allow-model-paths", "-t", "1", "--drain-timeout", "0.2"}, home);
    const int port = p.port();
    ASSERT_GT(port, 0) << p.stderr_text();
    std::string prompt;
    for (int i = 0; i < 600; ++i)
        prompt += "lorem ipsum dolor ";
    std::thread client([&] {
        (void)http_post(port, "/v1/completions",
                        R"({"model":")" + model + R"(","prompt":")" + prompt + R"(","max_tokens":64})");
    });
    // Wait (bounded) until the request is being decoded.
    const auto until = std::chrono::steady_clock::now() + 60s;
    while (std::chrono::steady_clock::now() < until &&
           http_exchange(port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
                   .find("\nhearth_active_requests 1") == std::string::npos)
        std::this_thread::sleep_for(20ms);
    const auto t0 = std::chrono::steady_clock::now();
    const int code = p.stop(SIGTERM, 30s);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    client.join();
    EXPECT_TRUE(code == 0 || code == 1) << code << "\n" << p.stderr_text();
    EXPECT_LT(seconds, 0.2 + 1.0 + 0.3) << p.stderr_text(); // the bound, plus the test's 20 ms exit polling
}

// Errors sent to clients name models, never the server's files: a store model whose blob is corrupt (its
// size intact, so the store still resolves it) fails to load with "could not be loaded" and no blob path
// or $HEARTH_HOME, which only the server's stderr shows; an unknown model's error leaves the store's
// folder out too.
TEST_F(ServeCliTest, ErrorsDoNotShowTheServersPaths) {
    const std::string model = hearth::test::model_path("SmolLM2-135M-Instruct.Q4_1.gguf");
    ASSERT_TRUE(fs::exists(model)) << hearth::test::missing_model_message(model);
    const std::string import =
        "HEARTH_HOME='" + home.string() + "' " + HEARTH_BIN + " import --copy '" + model + "' corrupt >/dev/null 2>&1";
    ASSERT_EQ(std::system(import.c_str()), 0);
    fs::path blob;
    for (const auto& e : fs::directory_iterator(home / "blobs"))
        if (!fs::is_regular_file(blob) || e.file_size() > fs::file_size(blob)) blob = e.path();
    {
        std::fstream f(blob, std::ios::in | std::ios::out | std::ios::binary);
        f.write("XXXX", 4); // the GGUF magic
    }
    ServeProcess p({"serve", "--port", "0", "-t", "1"}, home);
    const int port = p.port();
    ASSERT_GT(port, 0) << p.stderr_text();
    const std::string root = fs::canonical(home).string();
    const std::string chat = R"({"model":"corrupt","messages":[{"role":"user","content":"Hi"}],"stream":false})";
    for (const std::string path : {"/api/chat", "/v1/chat/completions"}) {
        const std::string r = http_post(port, path, chat);
        EXPECT_EQ(r.rfind("HTTP/1.1 500", 0), 0u) << r;
        EXPECT_NE(r.find("model 'corrupt' could not be loaded: "), std::string::npos) << r;
        EXPECT_EQ(r.find(root), std::string::npos) << r;
        EXPECT_EQ(r.find(home.string()), std::string::npos) << r;
        EXPECT_EQ(r.find("sha256-"), std::string::npos) << r;
    }
    const std::string unknown =
        http_post(port, "/api/chat", R"({"model":"nothere","messages":[{"role":"user","content":"Hi"}]})");
    EXPECT_EQ(unknown.rfind("HTTP/1.1 404", 0), 0u) << unknown;
    EXPECT_EQ(unknown.find(root), std::string::npos) << unknown;
    EXPECT_EQ(unknown.find(home.string()), std::string::npos) << unknown;
    EXPECT_EQ(p.stop(SIGTERM), 0);
    EXPECT_NE(p.stderr_text().find(blob.filename().string()), std::string::npos) << p.stderr_text();
}

TEST_F(ServeCliTest, PortInUseFails) {
    ServeProcess first({"serve", "--port", "0"}, home);
    const int port = first.port();
    ASSERT_GT(port, 0) << first.stderr_text();
    ServeProcess second({"serve", "--port", std::to_string(port)}, home);
    EXPECT_EQ(second.wait_exit(), 1);
    EXPECT_NE(second.stderr_text().find("cannot listen"), std::string::npos) << second.stderr_text();
    EXPECT_EQ(first.stop(SIGTERM), 0);
}

} // namespace
