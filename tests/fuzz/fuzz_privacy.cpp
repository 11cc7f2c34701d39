// libFuzzer target for the privacy guard (privacy/privacy.h): scanning any bytes never crashes, findings are
// in bounds, sorted and non-overlapping, and pseudonymize -> restore gives back the input exactly, whole and
// streamed in chunks whose size the input picks (so placeholders are cut at every offset over time).
#include "privacy/privacy.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using namespace hearth::privacy;

namespace {

const Scanner& scanner() {
    static const Scanner s = [] {
        ScannerOptions opt;
        opt.terms = {"Bluebird", "a.b"};
        opt.regexes = {"ACME-\\d+", "(?i)secret\\s*=\\s*\\S+"};
        auto r = Scanner::create(opt);
        if (!r) __builtin_trap();
        return std::move(r.value());
    }();
    return s;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
    const std::string_view text(reinterpret_cast<const char*>(data), size);
    auto found = scanner().scan(text);
    if (!found) return 0; // a user regex over its match limit: the caller keeps the request local
    size_t cur = 0;
    for (const Finding& f : *found) {
        if (f.begin < cur || f.begin >= f.end || f.end > size) __builtin_trap();
        cur = f.end;
    }
    Pseudonymizer p;
    const std::string sent = p.apply(text, *found);
    if (p.restore(sent) != text) __builtin_trap();
    StreamRestorer r(p);
    const size_t step = size ? 1 + data[0] % 13 : 1;
    std::string streamed;
    for (size_t at = 0; at < sent.size(); at += step)
        streamed += r.feed(std::string_view(sent).substr(at, step));
    streamed += r.finish();
    if (streamed != text) __builtin_trap();
    egress_clean(sent, p.originals()); // must not crash; may be false (an original repeated where not found)
    return 0;
}
