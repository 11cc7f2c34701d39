// Token-mask cost per generated token on the Qwen2.5 vocabulary (151,936 tokens) for a JSON schema with
// nested objects, an array of objects, an enum, a string pattern and optional fields: a realistic document
// (pretty-printed, as small models write JSON) is tokenized, and each step computes the mask and accepts the
// token, as constrained decoding does.
//   cold: a fresh matcher per document (every state's first visit: what one request costs)
//   warm: the same matcher again (every mask from the cache)
//   other_doc: a matcher that has generated one document, on a different one (repeated structure)
//   reference: for scale, the obviously-right mask that tries every token
// Usage: build/release/src/grammar/bench_grammar   (ms_per_token is the figure to read)
#include "grammar/json_schema.h"
#include "grammar/matcher.h"
#include "model_paths.h"
#include "tokenizer/tokenizer.h"

#include <benchmark/benchmark.h>
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

using namespace hearth;
using namespace hearth::grammar;

constexpr const char* kSchema = R"({
  "type": "object", "additionalProperties": false, "required": ["id", "customer", "lines", "status"],
  "properties": {
    "id": {"type": "string", "pattern": "^INV-[0-9]{4}$"},
    "customer": {"type": "object", "additionalProperties": false, "required": ["name", "address"],
      "properties": {"name": {"type": "string"}, "email": {"type": "string", "format": "email"},
        "address": {"type": "object", "additionalProperties": false, "required": ["city", "country"],
          "properties": {"street": {"type": "string"}, "city": {"type": "string"}, "country": {"type": "string"}}}}},
    "lines": {"type": "array", "minItems": 1, "items": {"type": "object", "additionalProperties": false,
      "required": ["sku", "description", "qty"], "properties": {"sku": {"type": "string"},
        "description": {"type": "string"}, "qty": {"type": "integer", "minimum": 1, "maximum": 999},
        "unit_price": {"type": "number", "minimum": 0}}}},
    "status": {"enum": ["draft", "sent", "paid", "cancelled"]},
    "notes": {"type": ["string", "null"]}}})";

constexpr const char* kDocA = R"({
  "id": "INV-2041",
  "customer": {
    "name": "Northwind Traders",
    "email": "billing@northwind.example.com",
    "address": {
      "street": "12 Harbour Road",
      "city": "Portsmouth",
      "country": "United Kingdom"
    }
  },
  "lines": [
    {
      "sku": "NW-100",
      "description": "Chai tea, 24 boxes of 20 bags",
      "qty": 12,
      "unit_price": 18.5
    },
    {
      "sku": "NW-231",
      "description": "Aniseed syrup, 12 bottles of 550 ml",
      "qty": 3,
      "unit_price": 10
    },
    {
      "sku": "NW-377",
      "description": "Chef Anton's Cajun seasoning, 48 jars",
      "qty": 5
    }
  ],
  "status": "sent",
  "notes": "Deliver to the loading dock before noon; call ahead."
})";

constexpr const char* kDocB = R"({
  "id": "INV-0007",
  "customer": {
    "name": "Café Müller",
    "address": {
      "city": "Köln",
      "country": "Deutschland"
    }
  },
  "lines": [
    {
      "sku": "B-1",
      "description": "Espresso beans 1 kg",
      "qty": 40,
      "unit_price": 21.9
    }
  ],
  "status": "draft",
  "notes": null
})";

struct Fixture {
    Tokenizer tok;
    VocabTrie trie;
    Grammar grammar;
    std::vector<int32_t> doc_a, doc_b;
};

const Fixture& fixture() {
    static const Fixture f = [] {
        std::string path = test::model_path("qwen2.5-coder-0.5b-instruct-q4_k_m.gguf");
        auto file = gguf::File::open(path);
        if (!file) {
            std::fprintf(stderr, "bench_grammar: %s\n", test::missing_model_message(path).c_str());
            std::exit(1);
        }
        auto tok = load_tokenizer(*file);
        if (!tok) std::exit(1);
        std::vector<std::string> bytes(size_t(tok->n_vocab()));
        for (int32_t id = 0; id < tok->n_vocab(); id++)
            bytes[size_t(id)] = token_to_piece(*tok, id, false);
        auto g = compile_json_schema(nlohmann::ordered_json::parse(kSchema));
        if (!g) {
            std::fprintf(stderr, "bench_grammar: %s\n", g.message().c_str());
            std::exit(1);
        }
        Fixture out{std::move(tok.value()), VocabTrie::build(std::move(bytes)), std::move(g.value()), {}, {}};
        out.doc_a = tokenize(out.tok, kDocA, false, false);
        out.doc_b = tokenize(out.tok, kDocB, false, false);
        return out;
    }();
    return f;
}

double thread_cpu_seconds() {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Where the time of one document went: masks computed by a trie walk (a state's first visit) and masks
// served from the cache.
struct Split {
    double walk_s = 0, walk_max_s = 0, cached_s = 0;
    size_t walks = 0, cached = 0;
};

// Masks and accepts every token of `ids`; fails the benchmark if the grammar disagrees with the document.
void generate(benchmark::State& state, Matcher& m, const std::vector<int32_t>& ids, TokenMask& mask,
              Split* split = nullptr) {
    const VocabTrie& trie = fixture().trie;
    m.reset();
    for (int32_t id : ids) {
        size_t before = m.n_cached_masks();
        double t0 = split ? thread_cpu_seconds() : 0;
        bool ok = m.fill_mask(trie, mask).is_ok();
        if (split) {
            double dt = thread_cpu_seconds() - t0;
            bool walked = m.n_cached_masks() != before;
            (walked ? split->walk_s : split->cached_s) += dt;
            (walked ? split->walks : split->cached)++;
            if (walked) split->walk_max_s = std::max(split->walk_max_s, dt);
        }
        if (!ok || !mask.allowed(id) || !m.accept_token(trie, id).is_ok()) {
            state.SkipWithError("the document does not follow the grammar");
            return;
        }
    }
    if (!m.can_end()) state.SkipWithError("the document is not complete");
}

// time_per_token: CPU time per token, mask and advance together.
void report(benchmark::State& state, size_t tokens, const Split* split = nullptr) {
    state.counters["tokens"] = double(tokens);
    state.counters["time_per_token"] =
        benchmark::Counter(double(tokens), benchmark::Counter::kIsIterationInvariantRate | benchmark::Counter::kInvert);
    if (split && split->walks) {
        state.counters["walks"] = double(split->walks) / double(state.iterations());
        state.counters["walk_avg_ms"] = split->walk_s / double(split->walks) * 1e3;
        state.counters["walk_max_ms"] = split->walk_max_s * 1e3;
    }
    if (split && split->cached) state.counters["cached_avg_us"] = split->cached_s / double(split->cached) * 1e6;
}

void BM_VocabTrieBuild(benchmark::State& state) {
    const Fixture& f = fixture();
    std::vector<std::string> bytes;
    for (int32_t id = 0; id < f.trie.n_vocab(); id++)
        bytes.emplace_back(f.trie.token(id));
    for (auto _ : state) {
        VocabTrie t = VocabTrie::build(bytes);
        benchmark::DoNotOptimize(t.nodes().size());
    }
    state.counters["nodes"] = double(f.trie.nodes().size());
}

void BM_MaskCold(benchmark::State& state) {
    const Fixture& f = fixture();
    TokenMask mask;
    Split split;
    for (auto _ : state) {
        auto m = Matcher::create(f.grammar);
        generate(state, *m, f.doc_a, mask, &split);
    }
    report(state, f.doc_a.size(), &split);
}

void BM_MaskWarm(benchmark::State& state) {
    const Fixture& f = fixture();
    TokenMask mask;
    auto m = Matcher::create(f.grammar);
    generate(state, *m, f.doc_a, mask);
    for (auto _ : state)
        generate(state, *m, f.doc_a, mask);
    report(state, f.doc_a.size());
}

void BM_MaskOtherDoc(benchmark::State& state) {
    const Fixture& f = fixture();
    TokenMask mask;
    for (auto _ : state) {
        state.PauseTiming();
        auto m = Matcher::create(f.grammar);
        generate(state, *m, f.doc_a, mask);
        state.ResumeTiming();
        generate(state, *m, f.doc_b, mask);
    }
    report(state, f.doc_b.size());
}

// For scale: the reference mask (every token tried on a copy of the state) at two states of the document:
// 0 = the start ('{' expected), 1 = inside the "notes" string (almost every token allowed).
void BM_MaskReference(benchmark::State& state) {
    const Fixture& f = fixture();
    auto m = Matcher::create(f.grammar);
    if (state.range(0) == 1 &&
        !m->accept_bytes(std::string_view(kDocA).substr(0, std::string_view(kDocA).find("Deliver"))).is_ok()) {
        state.SkipWithError("prefix rejected");
        return;
    }
    TokenMask mask;
    for (auto _ : state)
        benchmark::DoNotOptimize(m->fill_mask_reference(f.trie, mask).is_ok());
    state.counters["allowed"] = double(mask.count());
}

BENCHMARK(BM_VocabTrieBuild)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaskCold)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaskWarm)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaskOtherDoc)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_MaskReference)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

} // namespace

BENCHMARK_MAIN();
