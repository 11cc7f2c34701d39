// `hearth list / show / rm / cp / import / create` through the real binary, with HEARTH_HOME set to
// a fresh temporary store.
#include "run_command.h"
#include "store_test_util.h"

#include <cstdio>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace fs = std::filesystem;
using hearth::test::tiny_model;
using hearth::test::write_file;

namespace {

using Outcome = hearth::test::CommandResult;

class StoreCommands : public hearth::test::TempDirTest {
protected:
    static std::string q(const std::string& s) { return hearth::test::shell_quote(s); }
    Outcome run(const std::string& args) {
        return hearth::test::run_command("cd " + q(dir_.string()) + " && HEARTH_HOME=" + q((dir_ / "home").string()) +
                                             " " + HEARTH_BIN + " " + args,
                                         true);
    }
    size_t blobs() {
        size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir_ / "home/blobs"))
            n += e.is_regular_file();
        return n;
    }
};

TEST_F(StoreCommands, ImportListShowRemove) {
    auto empty = run("list");
    ASSERT_EQ(empty.rc, 0) << empty.err;
    EXPECT_EQ(empty.out.substr(0, 4), "NAME");
    EXPECT_EQ(std::count(empty.out.begin(), empty.out.end(), '\n'), 1);

    auto a = run("import " + q(tiny_model("tiny-qwen2.gguf")));
    ASSERT_EQ(a.rc, 0) << a.err;
    EXPECT_EQ(a.out, "tiny-qwen2:latest\n");
    auto b = run("import " + q(tiny_model("tiny-qwen2.gguf")) + " Other:V1 --copy");
    ASSERT_EQ(b.rc, 0) << b.err;
    EXPECT_EQ(b.out, "other:v1\n");
    EXPECT_EQ(blobs(), 1u);

    auto list = run("list");
    ASSERT_EQ(list.rc, 0) << list.err;
    EXPECT_NE(list.out.find("QUANT"), std::string::npos);
    EXPECT_NE(list.out.find("MODIFIED"), std::string::npos);
    EXPECT_NE(list.out.find("other:v1"), std::string::npos);
    EXPECT_NE(list.out.find("tiny-qwen2:latest"), std::string::npos);
    EXPECT_NE(list.out.find("292 KB"), std::string::npos) << list.out; // 292,576 bytes, truncated like Ollama
    EXPECT_NE(list.out.find(" ago"), std::string::npos) << list.out;
    EXPECT_LT(list.out.find("other:v1"), list.out.find("tiny-qwen2:latest")); // sorted

    auto js = run("list --json");
    ASSERT_EQ(js.rc, 0) << js.err;
    const auto j = nlohmann::json::parse(js.out);
    ASSERT_EQ(j["models"].size(), 2u);
    EXPECT_EQ(j["models"][0]["digest"], j["models"][1]["digest"]);
    EXPECT_EQ(j["models"][0]["size"], 292576);
    EXPECT_EQ(j["models"][0]["id"].get<std::string>().size(), 12u);
    EXPECT_NE(list.out.find(j["models"][0]["id"].get<std::string>()), std::string::npos);

    auto show = run("show tiny-qwen2");
    ASSERT_EQ(show.rc, 0) << show.err;
    EXPECT_NE(show.out.find("architecture"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("qwen2"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("parameters"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("quant mix"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("context length"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("embedding length"), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("128"), std::string::npos) << show.out; // n_embd of tiny-qwen2
    auto sj = run("show tiny-qwen2 --json");
    ASSERT_EQ(sj.rc, 0) << sj.err;
    const auto s = nlohmann::json::parse(sj.out);
    EXPECT_EQ(s["architecture"], "qwen2");
    EXPECT_EQ(s["embedding_length"], 128);
    EXPECT_EQ(s["digest"], j["models"][0]["digest"]);
    EXPECT_GT(s["parameters"].get<uint64_t>(), 0u);

    auto rm = run("rm tiny-qwen2");
    ASSERT_EQ(rm.rc, 0) << rm.err;
    EXPECT_EQ(rm.out, "deleted 'tiny-qwen2:latest'\n");
    EXPECT_EQ(blobs(), 1u);
    auto rm2 = run("rm other:v1 nope");
    EXPECT_EQ(rm2.rc, 1);
    EXPECT_EQ(rm2.out, "deleted 'other:v1'\n");
    EXPECT_NE(rm2.err.find("'nope:latest' not found"), std::string::npos) << rm2.err;
    EXPECT_EQ(blobs(), 0u);
}

TEST_F(StoreCommands, CreateShowAndCopy) {
    ASSERT_EQ(run("import " + q(tiny_model("tiny-llama3.gguf")) + " base").rc, 0);
    write_file(dir_ / "proj/Modelfile", "# assistant\nFROM base\nSYSTEM \"\"\"You are terse.\nVery terse.\"\"\"\n"
                                        "PARAMETER temperature 0.3\nPARAMETER stop <|eot_id|>\n"
                                        "TEMPLATE {{ .Prompt }}\nLICENSE MIT\n");
    auto c = run("create terse -f proj/Modelfile");
    ASSERT_EQ(c.rc, 0) << c.err;
    EXPECT_EQ(c.out, "created 'terse:latest'\n");
    EXPECT_EQ(run("show terse --system").out, "You are terse.\nVery terse.\n");
    EXPECT_EQ(run("show terse --template").out, "{{ .Prompt }}\n");
    EXPECT_EQ(run("show terse --license").out, "MIT\n");
    const auto params = run("show terse --parameters").out;
    EXPECT_NE(params.find("temperature    0.3"), std::string::npos) << params;
    EXPECT_NE(params.find("stop           \"<|eot_id|>\""), std::string::npos) << params;
    auto show = run("show terse");
    ASSERT_EQ(show.rc, 0) << show.err;
    EXPECT_NE(show.out.find("You are terse."), std::string::npos) << show.out;
    EXPECT_NE(show.out.find("{{ .Prompt }}"), std::string::npos) << show.out;

    // The printed Modelfile recreates the same model.
    auto mf = run("show terse --modelfile");
    ASSERT_EQ(mf.rc, 0) << mf.err;
    EXPECT_NE(mf.out.find("FROM " + (fs::canonical(dir_ / "home") / "blobs").string()), std::string::npos) << mf.out;
    write_file(dir_ / "Modelfile", mf.out);
    auto c2 = run("create again"); // default ./Modelfile
    ASSERT_EQ(c2.rc, 0) << c2.err;
    auto again = nlohmann::json::parse(run("show again --json").out);
    auto terse = nlohmann::json::parse(run("show terse --json").out);
    EXPECT_EQ(again["name"], "again:latest");
    for (auto* j : {&again, &terse}) {
        j->erase("name");
        j->erase("config"); // records where each was made from
    }
    EXPECT_EQ(again, terse);

    auto cp = run("cp terse me/terse:copy");
    ASSERT_EQ(cp.rc, 0) << cp.err;
    EXPECT_EQ(cp.out, "copied 'terse:latest' to 'me/terse:copy'\n");
    EXPECT_EQ(run("show me/terse:copy --system").out, "You are terse.\nVery terse.\n");
    EXPECT_EQ(run("rm base terse again").rc, 0);
    EXPECT_EQ(run("show me/terse:copy --template").out, "{{ .Prompt }}\n");
}

// A model whose manifest names a blob that is gone (issue #12): show and run fail saying so, list keeps
// it but marks it, doctor names it and the fix, and exits non-zero until it is removed.
TEST_F(StoreCommands, BrokenModelsAreReported) {
    ASSERT_EQ(run("import " + q(tiny_model("tiny-qwen2.gguf")) + " base").rc, 0);
    write_file(dir_ / "Modelfile", "FROM base\nSYSTEM be brief\n");
    ASSERT_EQ(run("create brief").rc, 0);
    auto ok = run("doctor");
    EXPECT_EQ(ok.rc, 0) << ok.out << ok.err;
    EXPECT_NE(ok.out.find("2 manifests checked (sizes): all whole"), std::string::npos) << ok.out;

    const auto manifest =
        nlohmann::json::parse(hearth::test::read_file(dir_ / "home/manifests/local/library/brief/latest"));
    for (const auto& l : manifest["layers"])
        if (l["mediaType"] == "application/vnd.ollama.image.system")
            fs::remove(dir_ / "home/blobs" / ("sha256-" + l["digest"].get<std::string>().substr(7)));

    for (const std::string args : {"show brief", "show brief --system", "show brief --json", "run brief hi"}) {
        auto r = run(args);
        EXPECT_EQ(r.rc, 1) << args << ": " << r.out << r.err;
        EXPECT_NE(r.err.find("'brief:latest'"), std::string::npos) << args << ": " << r.err;
        EXPECT_EQ(r.err.find("not in the store"), std::string::npos) << args << ": " << r.err;
    }
    auto list = run("list");
    EXPECT_EQ(list.rc, 0) << list.err;
    const auto line = [&](const std::string& name) {
        return list.out.substr(list.out.find(name)).substr(0, list.out.substr(list.out.find(name)).find('\n'));
    };
    EXPECT_NE(line("brief:latest").find("(broken)"), std::string::npos) << list.out;
    EXPECT_EQ(line("base:latest").find("(broken)"), std::string::npos) << list.out;
    EXPECT_NE(list.err.find("hearth doctor"), std::string::npos) << list.err;
    const auto js = nlohmann::json::parse(run("list --json").out);
    EXPECT_EQ(js["models"][0]["broken"], false);
    EXPECT_EQ(js["models"][1]["broken"], true);

    auto doc = run("doctor");
    EXPECT_EQ(doc.rc, 1) << doc.out << doc.err;
    EXPECT_NE(doc.out.find("broken: brief:latest"), std::string::npos) << doc.out;
    EXPECT_NE(doc.out.find("is missing"), std::string::npos) << doc.out;
    EXPECT_NE(doc.out.find("hearth rm brief:latest"), std::string::npos) << doc.out;
    EXPECT_EQ(doc.out.find("broken: base"), std::string::npos) << doc.out;
    EXPECT_EQ(run("doctor --hash").rc, 1);

    ASSERT_EQ(run("rm brief").rc, 0);
    EXPECT_EQ(run("doctor --hash").rc, 0);
}

TEST_F(StoreCommands, ErrorsAreClear) {
    auto bad = run("show ../../etc/passwd");
    EXPECT_EQ(bad.rc, 2);
    EXPECT_NE(bad.err.find("invalid model name"), std::string::npos) << bad.err;
    auto missing = run("show nothing");
    EXPECT_EQ(missing.rc, 1);
    EXPECT_NE(missing.err.find("'nothing:latest' not found"), std::string::npos) << missing.err;

    write_file(dir_ / "fake.gguf", "not a gguf");
    auto imp = run("import fake.gguf");
    EXPECT_EQ(imp.rc, 1);
    EXPECT_NE(imp.err.find("not a readable GGUF"), std::string::npos) << imp.err;
    auto nofile = run("import nothing.gguf");
    EXPECT_EQ(nofile.rc, 1);
    EXPECT_NE(nofile.err.find("no such file"), std::string::npos) << nofile.err;

    write_file(dir_ / "Modelfile", "FROM " + tiny_model("tiny-qwen3.gguf") + "\n\nPARAMETER top_k many\n");
    auto cr = run("create x");
    EXPECT_EQ(cr.rc, 1);
    EXPECT_NE(cr.err.find("Modelfile:3: PARAMETER top_k: 'many' is not an integer"), std::string::npos) << cr.err;
    auto nomf = run("create x -f nowhere/Modelfile");
    EXPECT_EQ(nomf.rc, 1);
    EXPECT_NE(nomf.err.find("cannot read the Modelfile"), std::string::npos) << nomf.err;
    auto cp = run("cp nothing other");
    EXPECT_EQ(cp.rc, 1);
    auto cpbad = run("cp nothing 'a b'");
    EXPECT_EQ(cpbad.rc, 2);
    // Nothing was stored by any of the failures.
    EXPECT_EQ(run("list --json").out.find("\"name\""), std::string::npos);
}

// `hearth create` renders the chat template the model would get (its own, or inherited) with a sample
// conversation first: one past the rendering budget is refused, and nothing is stored.
TEST_F(StoreCommands, CreateRefusesAHostileTemplate) {
    ASSERT_EQ(run("import " + q(tiny_model("tiny-llama3.gguf")) + " base").rc, 0);
    const size_t before = blobs();
    const std::string expo =
        "{% macro f(n) %}{% if n < 40 %}{{ f(n+1) }}{{ f(n+1) }}{% endif %}{% endmacro %}{{ f(0) }}";
    write_file(dir_ / "store/Modelfile", "FROM base\nTEMPLATE \"\"\"" + expo + "\"\"\"\n");
    write_file(dir_ / "file/Modelfile",
               "FROM " + tiny_model("tiny-qwen2.gguf") + "\nTEMPLATE \"\"\"" + expo + "\"\"\"\n");
    write_file(dir_ / "go/Modelfile",
               "FROM base\nTEMPLATE \"\"\"{{ .Prompt }}{{ range $i := 100000 }}{{ range $j := 100000 }}"
               "{{ end }}{{ end }}\"\"\"\n");
    for (const char* mf : {"store/Modelfile", "file/Modelfile", "go/Modelfile"}) {
        auto c = run(std::string("create bad -f ") + mf);
        EXPECT_EQ(c.rc, 1) << mf;
        EXPECT_NE(c.err.find("hearth: error: template exceeds the rendering budget (5000000 steps / 1 s): "),
                  std::string::npos)
            << mf << ": " << c.err;
    }
    EXPECT_EQ(blobs(), before);
    EXPECT_EQ(run("show bad").rc, 1);
}

} // namespace
