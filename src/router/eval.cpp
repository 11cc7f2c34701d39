// router/eval.cpp: see eval.h.
#include "router/eval.h"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <numeric>
#include <set>
#include <sstream>
#include <thread>
#include <unordered_map>

namespace hearth::router {
namespace {

using nlohmann::json;

bool is_digit(char c) {
    return c >= '0' && c <= '9';
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (char& c : out)
        c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

// A number starting at or after `from`: [-][$]digits[,ddd]*[.digits]; its value and where it ends.
struct Found {
    double value;
    size_t begin, end;
};

std::optional<Found> number_at(std::string_view s, size_t i) {
    if (i >= s.size() || !is_digit(s[i])) return std::nullopt;
    const size_t begin = i;
    std::string digits;
    while (i < s.size()) {
        if (is_digit(s[i])) {
            digits += s[i++];
        } else if (s[i] == ',' && i + 3 < s.size() && is_digit(s[i + 1]) && is_digit(s[i + 2]) && is_digit(s[i + 3]) &&
                   (i + 4 == s.size() || !is_digit(s[i + 4]))) {
            ++i; // a thousands separator: exactly three digits follow
        } else if (s[i] == '.' && i + 1 < s.size() && is_digit(s[i + 1]) && digits.find('.') == std::string::npos) {
            digits += s[i++];
        } else {
            break;
        }
    }
    // A sign: '-' right before (or before a '$').
    size_t j = begin;
    if (j > 0 && s[j - 1] == '$') --j;
    const bool negative = j > 0 && s[j - 1] == '-' && (j < 2 || !std::isalnum(static_cast<unsigned char>(s[j - 2])));
    return Found{(negative ? -1.0 : 1.0) * std::strtod(digits.c_str(), nullptr), begin, i};
}

std::optional<Found> first_number_from(std::string_view s, size_t from) {
    for (size_t i = from; i < s.size(); ++i)
        if (is_digit(s[i])) return number_at(s, i);
    return std::nullopt;
}

std::optional<Found> last_number(std::string_view s) {
    std::optional<Found> last;
    for (size_t i = 0; i < s.size();) {
        if (!is_digit(s[i])) {
            ++i;
            continue;
        }
        last = number_at(s, i);
        i = last->end;
    }
    return last;
}

Result<json> parse_json(std::string_view line) {
    json j = json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return error("not a JSON object");
    return j;
}

json signal_json(const TokenSignal& s) {
    json top = json::array();
    for (float v : s.top)
        top.push_back(std::round(v * 1e4) / 1e4);
    return json::array({std::round(s.logprob * 1e4) / 1e4, std::move(top)});
}

// Percentile (0..1) of an unsorted sample.
double percentile(std::vector<double> v, double q) {
    if (v.empty()) return 0;
    std::sort(v.begin(), v.end());
    return v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size() - 1) + 0.5))];
}

} // namespace

Result<std::vector<Question>> read_question_set(const std::string& path) {
    std::ifstream f(path);
    if (!f) return error(Code::NotFound, "cannot open " + path);
    std::vector<Question> out;
    std::set<int64_t> ids;
    std::string line;
    for (int lineno = 1; std::getline(f, line); ++lineno) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        auto j = parse_json(line);
        const auto where = path + ":" + std::to_string(lineno);
        if (!j) return error(Code::BadField, where + ": not a JSON object");
        Question q;
        try {
            q.id = j->at("id").get<int64_t>();
            q.question = j->at("question").get<std::string>();
            const json& a = j->at("answer");
            q.answer = a.is_string() ? a.get<std::string>() : a.dump();
            q.weak_correct = j->value("weak_correct", false);
            q.strong_correct = j->at("strong_correct").get<bool>();
        } catch (const json::exception& e) {
            return error(Code::BadField, where + ": " + e.what());
        }
        if (!ids.insert(q.id).second) return error(Code::BadField, where + ": duplicate id " + std::to_string(q.id));
        out.push_back(std::move(q));
    }
    return out;
}

namespace {
std::optional<Found> find_final_number(std::string_view text) {
    const std::string low = lower(text);
    for (const char* marker : {"answer is", "answer:"}) {
        const size_t at = low.rfind(marker);
        if (at == std::string::npos) continue;
        // The number must come soon after the marker (not a number in a later sentence).
        const auto f = first_number_from(text, at + std::strlen(marker));
        if (f && f->begin - at < 40) return f;
    }
    if (const size_t at = low.rfind("\\boxed{"); at != std::string::npos)
        if (const auto f = first_number_from(text, at + 7)) return f;
    if (const size_t at = low.rfind("####"); at != std::string::npos)
        if (const auto f = first_number_from(text, at + 4)) return f;
    return last_number(text);
}
} // namespace

std::optional<double> final_number(std::string_view text) {
    const auto f = find_final_number(text);
    return f ? std::optional<double>(f->value) : std::nullopt;
}

std::vector<double> answer_features(const Record& r) {
    const std::span<const TokenSignal> sig(r.signals);
    const auto wf = window_features(sig);
    std::vector<double> x(wf.begin(), wf.end());
    x.push_back(std::log1p(static_cast<double>(r.completion_tokens)));
    x.push_back(lower(r.text).find("answer is") != std::string::npos ? 1.0 : 0.0);
    // The tokens that wrote the final number: those whose bytes overlap it.
    double sum = 0, lo = 0;
    int n = 0;
    if (const auto f = find_final_number(r.text); f && r.ends.size() == r.signals.size()) {
        size_t begin = 0;
        for (size_t i = 0; i < r.ends.size(); ++i) {
            const auto end = static_cast<size_t>(r.ends[i]);
            if (end > f->begin && begin < f->end) {
                const double lp = std::isfinite(r.signals[i].logprob) ? r.signals[i].logprob : -30.0;
                sum += lp;
                lo = n == 0 ? lp : std::min(lo, lp);
                ++n;
            }
            begin = end;
        }
    }
    x.push_back(n ? sum / n : -30.0);
    x.push_back(n ? lo : -30.0);
    return x;
}

bool answer_matches(std::string_view text, std::string_view expected) {
    const auto got = final_number(text);
    const auto want = final_number(expected);
    if (!got || !want) return false;
    return std::abs(*got - *want) <= 1e-6 * std::max(1.0, std::abs(*want));
}

std::string eval_prompt(std::string_view question) {
    // "Step by step" makes the small models reason before answering; plain text, because they otherwise write
    // LaTeX displays that double the tokens.
    return "Solve this math word problem step by step. Write each calculation on its own short line in plain text "
           "(no LaTeX), then end with the line \"The answer is N.\" where N is a single number.\n\nProblem: " +
           std::string(question);
}

std::string record_to_line(const Record& r) {
    json sig = json::array();
    for (const auto& s : r.signals)
        sig.push_back(signal_json(s));
    json j = {{"id", r.id},
              {"model", r.model},
              {"prompt_version", r.prompt_version},
              {"text", r.text},
              {"extracted", r.extracted ? json(*r.extracted) : json(nullptr)},
              {"correct", r.correct},
              {"completion_tokens", r.completion_tokens},
              {"seconds", std::round(r.seconds * 1e3) / 1e3},
              {"prompt",
               {{"chars", r.prompt.chars},
                {"words", r.prompt.words},
                {"numbers", r.prompt.numbers},
                {"sentences", r.prompt.sentences},
                {"cues", r.prompt.cues},
                {"questions", r.prompt.questions}}},
              {"signals", std::move(sig)},
              {"ends", r.ends}};
    return j.dump(-1, ' ', false, json::error_handler_t::replace) + "\n";
}

Result<Record> record_from_line(std::string_view line) {
    auto j = parse_json(line);
    if (!j) return j.status();
    Record r;
    try {
        r.id = j->at("id").get<int64_t>();
        r.model = j->at("model").get<std::string>();
        r.prompt_version = j->value("prompt_version", 1);
        r.text = j->at("text").get<std::string>();
        if (!j->at("extracted").is_null()) r.extracted = j->at("extracted").get<double>();
        r.correct = j->at("correct").get<bool>();
        r.completion_tokens = j->at("completion_tokens").get<int32_t>();
        r.seconds = j->at("seconds").get<double>();
        const json& p = j->at("prompt");
        r.prompt = {p.at("chars").get<int32_t>(),     p.at("words").get<int32_t>(), p.at("numbers").get<int32_t>(),
                    p.at("sentences").get<int32_t>(), p.at("cues").get<int32_t>(),  p.at("questions").get<int32_t>()};
        for (const json& s : j->at("signals")) {
            TokenSignal ts;
            ts.logprob = s.at(0).get<float>();
            ts.top = s.at(1).get<std::vector<float>>();
            r.signals.push_back(std::move(ts));
        }
        if (const auto e = j->find("ends"); e != j->end()) {
            r.ends = e->get<std::vector<int32_t>>();
            if (r.ends.size() != r.signals.size())
                return error(Code::BadField, "checkpoint record: 'ends' and 'signals' differ in length");
        }
    } catch (const json::exception& e) {
        return error(Code::BadField, std::string("checkpoint record: ") + e.what());
    }
    return r;
}

Result<std::vector<Record>> load_checkpoint(const std::string& path, const std::string& model) {
    std::vector<Record> out;
    std::ifstream f(path, std::ios::binary);
    if (!f) return out; // nothing yet
    std::string line, good;
    bool dropped = false, last_had_newline = true;
    std::set<int64_t> ids;
    while (std::getline(f, line)) {
        last_had_newline = !f.eof();
        auto r = last_had_newline ? record_from_line(line) : Result<Record>(error("torn line"));
        if (!r || !ids.insert(r->id).second) {
            dropped = true;
            continue;
        }
        if (r->model != model)
            return error(Code::BadField, path + " holds answers of model '" + r->model + "', not '" + model +
                                             "': use another --out folder");
        if (r->prompt_version != kEvalPromptVersion)
            return error(Code::BadField, path + " holds answers to prompt version " +
                                             std::to_string(r->prompt_version) + ", not " +
                                             std::to_string(kEvalPromptVersion) + ": use another --out folder");
        good += line + "\n";
        out.push_back(std::move(*r));
    }
    if (dropped) {
        const std::string tmp = path + ".tmp";
        {
            std::ofstream w(tmp, std::ios::binary | std::ios::trunc);
            w << good;
            if (!w.flush()) return error("cannot write " + tmp);
        }
        std::error_code ec;
        std::filesystem::rename(tmp, path, ec);
        if (ec) return error("cannot replace " + path + ": " + ec.message());
    }
    return out;
}

Status answer_questions(engine::Engine& engine, const std::vector<Question>& todo, const AnswerOptions& opts,
                        const std::string& path, const Progress& progress, const std::atomic<bool>* stop) {
    std::ofstream out(path, std::ios::binary | std::ios::app);
    if (!out) return error("cannot open " + path + " for appending");
    std::mutex mu; // guards out, done, first_error
    size_t done = 0;
    Status first_error;
    std::atomic<size_t> next{0};
    std::atomic<bool> failed{false};
    auto worker = [&] {
        for (;;) {
            if (failed || (stop && *stop)) return;
            const size_t i = next++;
            if (i >= todo.size()) return;
            const Question& q = todo[i];
            engine::Request req;
            req.model = opts.model;
            req.messages = {{"user", eval_prompt(q.question)}};
            req.sampling.temperature = 0;
            req.sampling.top_k = 1;
            req.sampling.logprobs = true;
            req.sampling.top_logprobs = opts.top_logprobs;
            req.seed_set = true;
            req.max_tokens = opts.max_tokens;
            req.num_ctx = opts.num_ctx;
            Record rec;
            rec.id = q.id;
            rec.model = opts.model;
            rec.prompt = prompt_info(q.question);
            const auto t0 = std::chrono::steady_clock::now();
            auto on_event = [&](const engine::TokenEvent& ev) {
                rec.text += ev.text;
                if (rec.signals.size() < static_cast<size_t>(opts.window)) {
                    TokenSignal s;
                    s.logprob = ev.logprob;
                    for (const auto& t : ev.top)
                        s.top.push_back(t.logprob);
                    rec.signals.push_back(std::move(s));
                    rec.ends.push_back(static_cast<int32_t>(rec.text.size()));
                }
                return true;
            };
            auto res = engine.generate(req, on_event, stop);
            rec.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
            if (const auto* f = std::get_if<Status>(&res)) {
                std::lock_guard lock(mu);
                if (first_error) first_error = error("question " + std::to_string(q.id) + ": " + f->message());
                failed = true;
                return;
            }
            const auto& c = std::get<engine::Completion>(res);
            if (c.finish == engine::Finish::Cancelled) return;
            rec.completion_tokens = c.completion_tokens;
            rec.extracted = final_number(rec.text);
            rec.correct = answer_matches(rec.text, q.answer);
            const std::string line = record_to_line(rec);
            std::lock_guard lock(mu);
            out << line;
            out.flush();
            if (!out) {
                if (first_error) first_error = error("cannot append to " + path);
                failed = true;
                return;
            }
            ++done;
            if (progress) progress(done, todo.size(), rec);
        }
    };
    std::vector<std::thread> threads;
    const int n = std::max(1, std::min<int>(opts.parallel, static_cast<int>(todo.size())));
    for (int t = 0; t < n; ++t)
        threads.emplace_back(worker);
    for (auto& t : threads)
        t.join();
    return first_error;
}

std::vector<double> accuracy_by_count(std::span<const double> scores, std::span<const Outcome> outcomes) {
    const size_t n = outcomes.size();
    std::vector<size_t> order(n);
    std::iota(order.begin(), order.end(), size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return scores[a] > scores[b]; });
    double correct = 0;
    for (const auto& o : outcomes)
        correct += o.local_correct;
    std::vector<double> acc(n + 1);
    const double dn = std::max<double>(1, static_cast<double>(n));
    acc[0] = correct / dn;
    for (size_t k = 0; k < n; ++k) {
        const Outcome& o = outcomes[order[k]];
        correct += static_cast<double>(o.cloud_correct) - static_cast<double>(o.local_correct);
        acc[k + 1] = correct / dn;
    }
    return acc;
}

std::vector<double> two_stage_accuracy(std::span<const double> pre_scores, std::span<const double> cascade_scores,
                                       std::span<const Outcome> outcomes, double pre_fraction) {
    const size_t n = outcomes.size();
    auto by = [n](std::span<const double> s) {
        std::vector<size_t> order(n);
        std::iota(order.begin(), order.end(), size_t{0});
        std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return s[a] > s[b]; });
        return order;
    };
    const std::vector<size_t> pre_order = by(pre_scores), cas_order = by(cascade_scores);
    double local = 0;
    for (const auto& o : outcomes)
        local += o.local_correct;
    std::vector<double> acc(n + 1);
    const double dn = std::max<double>(1, static_cast<double>(n));
    std::vector<uint8_t> sent(n);
    for (size_t k = 0; k <= n; ++k) {
        std::fill(sent.begin(), sent.end(), 0);
        const auto k_pre =
            static_cast<size_t>(std::llround(static_cast<double>(k) * std::clamp(pre_fraction, 0.0, 1.0)));
        double correct = local;
        auto send = [&](size_t i) {
            sent[i] = 1;
            correct += static_cast<double>(outcomes[i].cloud_correct) - static_cast<double>(outcomes[i].local_correct);
        };
        for (size_t j = 0; j < k_pre; ++j)
            send(pre_order[j]);
        size_t left = k - k_pre;
        for (size_t j = 0; j < n && left > 0; ++j)
            if (!sent[cas_order[j]]) {
                send(cas_order[j]);
                --left;
            }
        acc[k] = correct / dn;
    }
    return acc;
}

std::vector<double> oracle_accuracy(std::span<const Outcome> outcomes) {
    // Gains first (+1), then neutral (0), then losses (-1).
    std::vector<double> gain;
    for (const auto& o : outcomes)
        gain.push_back(static_cast<double>(o.cloud_correct) - static_cast<double>(o.local_correct));
    return accuracy_by_count(gain, outcomes);
}

std::vector<double> random_accuracy(std::span<const Outcome> outcomes) {
    const size_t n = outcomes.size();
    double local = 0, cloud = 0;
    for (const auto& o : outcomes) {
        local += o.local_correct;
        cloud += o.cloud_correct;
    }
    std::vector<double> acc(n + 1);
    const double dn = std::max<double>(1, static_cast<double>(n));
    for (size_t k = 0; k <= n; ++k)
        acc[k] = (local + (cloud - local) * static_cast<double>(k) / dn) / dn;
    return acc;
}

CurveSummary summarize(std::span<const double> accuracy) {
    CurveSummary s;
    if (accuracy.size() < 2) return s;
    const size_t n = accuracy.size() - 1;
    const double lo = accuracy.front(), hi = accuracy.back();
    if (!(hi > lo)) return s; // no gap to recover
    auto pgr = [&](size_t k) { return (accuracy[k] - lo) / (hi - lo); };
    for (size_t k = 0; k < n; ++k)
        s.apgr += (pgr(k) + pgr(k + 1)) / 2 / static_cast<double>(n);
    for (size_t k = 0; k <= n; ++k) {
        const double share = static_cast<double>(k) / static_cast<double>(n);
        if (!s.share_50 && pgr(k) >= 0.5 - 1e-12) s.share_50 = share;
        if (!s.share_80 && pgr(k) >= 0.8 - 1e-12) s.share_80 = share;
    }
    return s;
}

Result<std::vector<double>> cross_validated_scores(std::span<const std::vector<double>> x, std::span<const uint8_t> y,
                                                   int folds, const FitOptions& fit_opts) {
    if (folds < 2) return error(Code::BadField, "--folds: at least 2");
    if (x.size() < static_cast<size_t>(folds)) return error(Code::BadField, "fewer examples than folds");
    std::vector<double> scores(x.size());
    for (int f = 0; f < folds; ++f) {
        std::vector<std::vector<double>> tx;
        std::vector<uint8_t> ty;
        for (size_t i = 0; i < x.size(); ++i)
            if (static_cast<int>(i % static_cast<size_t>(folds)) != f) {
                tx.push_back(x[i]);
                ty.push_back(y[i]);
            }
        auto m = fit(tx, ty, fit_opts);
        if (!m) return m.status();
        for (size_t i = static_cast<size_t>(f); i < x.size(); i += static_cast<size_t>(folds))
            scores[i] = stage_score(*m, x[i]);
    }
    return scores;
}

// A checkpoint serves a window only where every answer kept the signals of min(window, its length) tokens:
// otherwise features over "the window" would silently cover fewer tokens than the live router reads. The
// end-of-generation token counts in completion_tokens but has no event (no signal), hence one token of slack.
Status check_window(const std::vector<Record>& records, int32_t window) {
    for (const auto& r : records) {
        const size_t need =
            std::min(static_cast<size_t>(window), static_cast<size_t>(std::max(0, r.completion_tokens)));
        if (r.signals.size() + 1 < need)
            return Status::error(Code::BadField, "--window " + std::to_string(window) +
                                                     ": the checkpoint kept the signals of " +
                                                     std::to_string(r.signals.size()) + " tokens for question " +
                                                     std::to_string(r.id) + " (" + std::to_string(r.completion_tokens) +
                                                     " generated); use a window up to what was kept, or answer again "
                                                     "with --keep-signals >= the window into a new --out");
    }
    return Status::ok();
}

Result<EvalReport> evaluate(const std::vector<Record>& records, const std::vector<Question>& questions, int32_t window,
                            int folds) {
    if (Status s = check_window(records, window); !s) return s;
    std::unordered_map<int64_t, const Question*> by_id;
    for (const auto& q : questions)
        by_id[q.id] = &q;
    // In the set's order, so the folds do not depend on the order answers finished in.
    std::unordered_map<int64_t, const Record*> rec_by_id;
    for (const auto& r : records)
        rec_by_id[r.id] = &r;
    std::vector<const Record*> recs;
    std::vector<Outcome> outcomes;
    for (const auto& q : questions)
        if (auto it = rec_by_id.find(q.id); it != rec_by_id.end()) {
            recs.push_back(it->second);
            outcomes.push_back({it->second->correct, q.strong_correct});
        }
    if (recs.empty()) return error("no answered questions of this set in the checkpoint");

    EvalReport rep;
    rep.n = recs.size();
    std::vector<std::vector<double>> x_pre, x_win, x_comb;
    std::vector<uint8_t> y;
    std::vector<double> lat_us;
    const DecisionModel dm = [&] {
        DecisionModel d = default_decision_model();
        d.window = window;
        return d;
    }();
    for (const Record* r : recs) {
        const std::span<const TokenSignal> sig(r->signals);
        const auto first = sig.empty() ? TokenSignal{} : sig.front();
        const auto win = sig.first(std::min(sig.size(), static_cast<size_t>(window)));
        x_pre.push_back(pre_features(r->prompt, first));
        const auto wf = window_features(win);
        x_win.emplace_back(wf.begin(), wf.end());
        x_comb.push_back(cascade_features(r->prompt, win));
        y.push_back(r->correct ? 0 : 1);
        // The decision's cost at request time: both stages from the raw signals.
        const auto t0 = std::chrono::steady_clock::now();
        volatile double sink = pre_score(dm, r->prompt, first) + cascade_score(dm, r->prompt, win);
        (void)sink;
        lat_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - t0).count());
    }
    rep.score_p50_us = percentile(lat_us, 0.5);
    rep.score_p99_us = percentile(lat_us, 0.99);
    rep.acc_local = random_accuracy(outcomes).front();
    rep.acc_cloud = random_accuracy(outcomes).back();

    auto add = [&](std::string name, std::vector<double> acc) {
        RouterCurve c{std::move(name), std::move(acc), {}};
        c.summary = summarize(c.accuracy);
        rep.routers.push_back(std::move(c));
    };
    add("random", random_accuracy(outcomes));
    add("oracle", oracle_accuracy(outcomes));
    // Single raw signals (no fitting: a fixed direction, so in-sample is fine).
    auto raw = [&](std::string name, auto f) {
        std::vector<double> s;
        for (size_t i = 0; i < recs.size(); ++i)
            s.push_back(f(i));
        add(std::move(name), accuracy_by_count(s, outcomes));
    };
    raw("signal: first-token entropy", [&](size_t i) { return x_pre[i][kPromptFeatures + 1]; });
    raw("signal: -mean logprob (window)", [&](size_t i) { return -x_win[i][0]; });
    raw("signal: mean entropy (window)", [&](size_t i) { return x_win[i][2]; });
    raw("signal: low-margin share", [&](size_t i) { return x_win[i][5]; });
    raw("signal: prompt length", [&](size_t i) { return x_pre[i][0]; });
    std::vector<double> by_default;
    for (const Record* r : recs) {
        const std::span<const TokenSignal> sig(r->signals);
        by_default.push_back(cascade_score(dm, r->prompt, sig));
    }
    add("default model, cascade stage (uncalibrated)", accuracy_by_count(by_default, outcomes));
    const std::string cv = " [" + std::to_string(folds) + "-fold CV]";
    std::vector<std::vector<double>> cv_scores;
    for (auto [name, xs] : {std::pair{"pre-generation (prompt + first token)", &x_pre},
                            {"cascade (window tokens)", &x_win},
                            {"combined (prompt + window)", &x_comb}}) {
        auto s = cross_validated_scores(*xs, y, folds);
        if (!s) return s.status();
        add(name + cv, accuracy_by_count(*s, outcomes));
        cv_scores.push_back(std::move(*s));
    }
    add("two-stage (pre 1/2, then combined)" + cv, two_stage_accuracy(cv_scores[0], cv_scores[2], outcomes, 0.5));

    // Whole-answer variants, when the checkpoint kept the signals of every generated token (--keep-signals >=
    // the answers' length): what a router that holds back the whole local answer before deciding could do.
    const bool whole = std::all_of(recs.begin(), recs.end(), [](const Record* r) {
        // (the end-of-turn token counts in completion_tokens but makes no event)
        return static_cast<int32_t>(r->signals.size()) + 1 >= r->completion_tokens &&
               r->ends.size() == r->signals.size();
    });
    if (whole) {
        std::vector<std::vector<double>> x_ans, x_ver;
        for (const Record* r : recs) {
            x_ans.push_back(answer_features(*r));
            const auto pf = prompt_features(r->prompt);
            std::vector<double> v(pf.begin(), pf.end());
            v.insert(v.end(), x_ans.back().begin(), x_ans.back().end());
            x_ver.push_back(std::move(v));
        }
        raw("signal: -mean logprob (whole answer)", [&](size_t i) { return -x_ans[i][0]; });
        raw("signal: -logprob of the final number", [&](size_t i) { return -x_ans[i][kWindowFeatures + 2]; });
        for (auto [name, xs] : {std::pair{"whole answer (uncertainty + length + final number)", &x_ans},
                                {"verify (prompt + whole answer)", &x_ver}}) {
            auto s = cross_validated_scores(*xs, y, folds);
            if (!s) return s.status();
            add(name + cv, accuracy_by_count(*s, outcomes));
        }
    }
    return rep;
}

std::string format_report(const EvalReport& r) {
    std::ostringstream os;
    char buf[256];
    std::snprintf(buf, sizeof buf, "questions: %zu   always-local accuracy: %.3f   always-cloud accuracy: %.3f\n", r.n,
                  r.acc_local, r.acc_cloud);
    os << buf;
    auto share = [](const std::optional<double>& s) {
        char b[32];
        if (!s) return std::string("  -  ");
        std::snprintf(b, sizeof b, "%5.1f%%", *s * 100);
        return std::string(b);
    };
    std::snprintf(buf, sizeof buf, "%-50s %6s %9s %9s   accuracy at cloud share 10%% 20%% 30%% 50%%\n", "router",
                  "APGR", "share@50%", "share@80%");
    os << buf;
    for (const auto& c : r.routers) {
        const size_t n = c.accuracy.size() - 1;
        auto at = [&](double s) { return c.accuracy[static_cast<size_t>(std::llround(s * static_cast<double>(n)))]; };
        std::snprintf(buf, sizeof buf, "%-50s %6.3f %9s %9s   %.3f %.3f %.3f %.3f\n", c.name.c_str(), c.summary.apgr,
                      share(c.summary.share_50).c_str(), share(c.summary.share_80).c_str(), at(0.1), at(0.2), at(0.3),
                      at(0.5));
        os << buf;
    }
    std::snprintf(buf, sizeof buf, "decision cost (features + both stages, per request): p50 %.2f us, p99 %.2f us\n",
                  r.score_p50_us, r.score_p99_us);
    os << buf;
    return os.str();
}

std::string curves_svg(const EvalReport& r) {
    const double w = 800, h = 480, ml = 60, mr = 380, mt = 30, mb = 50;
    const double pw = w - ml - mr, ph = h - mt - mb;
    double lo = std::min(r.acc_local, r.acc_cloud), hi = std::max(r.acc_local, r.acc_cloud);
    for (const auto& c : r.routers)
        for (double a : c.accuracy) {
            lo = std::min(lo, a);
            hi = std::max(hi, a);
        }
    lo = std::floor(lo * 20) / 20;
    hi = std::ceil(hi * 20) / 20;
    if (hi <= lo) hi = lo + 0.05;
    auto px = [&](double share) { return ml + share * pw; };
    auto py = [&](double acc) { return mt + (1 - (acc - lo) / (hi - lo)) * ph; };
    // random (dashed), oracle, the raw signals and the default model (light), the learned routers (bold).
    static const char* colors[] = {"#888888", "#000000", "#bbbbbb", "#c7a0d8", "#a0c4d8", "#d8c4a0",
                                   "#d8a0a0", "#a0d8a8", "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728",
                                   "#e0c0c0", "#c0a0a0", "#9467bd", "#8c564b"};
    std::ostringstream os;
    char buf[512];
    std::snprintf(buf, sizeof buf,
                  "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" font-family=\"sans-serif\" "
                  "font-size=\"12\">\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                  w, h);
    os << buf;
    std::snprintf(
        buf, sizeof buf,
        "<text x=\"%.0f\" y=\"18\" font-size=\"14\">Accuracy vs cloud share (n = %zu, out-of-sample)</text>\n", ml,
        r.n);
    os << buf;
    // Axes, grid and ticks.
    for (int i = 0; i <= 10; ++i) {
        const double s = i / 10.0;
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%d%%</text>\n",
                      px(s), mt, px(s), mt + ph, px(s), mt + ph + 16, i * 10);
        os << buf;
    }
    const int steps = static_cast<int>(std::lround((hi - lo) / 0.05));
    for (int i = 0; i <= steps; ++i) {
        const double a = lo + i * 0.05;
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#eee\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%.2f</text>\n",
                      ml, py(a), ml + pw, py(a), ml - 6, py(a) + 4, a);
        os << buf;
    }
    std::snprintf(
        buf, sizeof buf,
        "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"none\" stroke=\"#333\"/>\n"
        "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">share of questions sent to the cloud</text>\n"
        "<text x=\"14\" y=\"%.1f\" transform=\"rotate(-90 14 %.1f)\" text-anchor=\"middle\">accuracy</text>\n",
        ml, mt, pw, ph, ml + pw / 2, h - 12, mt + ph / 2, mt + ph / 2);
    os << buf;
    for (size_t ci = 0; ci < r.routers.size(); ++ci) {
        const auto& c = r.routers[ci];
        const size_t n = c.accuracy.size() - 1;
        const char* color = colors[ci % std::size(colors)];
        os << "<polyline fill=\"none\" stroke=\"" << color << "\" stroke-width=\"" << (ci >= 8 ? 2 : 1) << "\""
           << (ci == 0 ? " stroke-dasharray=\"4 3\"" : "") << " points=\"";
        for (size_t k = 0; k <= n; ++k) {
            std::snprintf(buf, sizeof buf, "%.1f,%.1f ", px(static_cast<double>(k) / static_cast<double>(n)),
                          py(c.accuracy[k]));
            os << buf;
        }
        os << "\"/>\n";
        std::string label = c.name;
        for (auto [from, to] : {std::pair{'&', "&amp;"}, {'<', "&lt;"}, {'>', "&gt;"}}) {
            std::string out;
            for (char ch : label)
                out += ch == from ? std::string(to) : std::string(1, ch);
            label = out;
        }
        std::snprintf(buf, sizeof buf,
                      "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"%s\" stroke-width=\"2\"/>"
                      "<text x=\"%.1f\" y=\"%.1f\" font-size=\"10\">%s (APGR %.3f)</text>\n",
                      ml + pw + 10, mt + 10 + ci * 18.0, ml + pw + 28, mt + 10 + ci * 18.0, color, ml + pw + 32,
                      mt + 14 + ci * 18.0, label.c_str(), c.summary.apgr);
        os << buf;
    }
    os << "</svg>\n";
    return os.str();
}

Result<DecisionModel> calibrate(const std::vector<Record>& records, int32_t window, int32_t top_logprobs,
                                double target_share, double pre_fraction) {
    if (records.size() < 10) return error(Code::BadField, "calibrate: need at least 10 answered questions");
    if (Status s = check_window(records, window); !s) return s;
    std::vector<std::vector<double>> x_pre, x_cas;
    std::vector<uint8_t> y;
    for (const auto& r : records) {
        const std::span<const TokenSignal> sig(r.signals);
        x_pre.push_back(pre_features(r.prompt, sig.empty() ? TokenSignal{} : sig.front()));
        x_cas.push_back(cascade_features(r.prompt, sig.first(std::min(sig.size(), static_cast<size_t>(window)))));
        y.push_back(r.correct ? 0 : 1);
    }
    auto pre = fit(x_pre, y);
    if (!pre) return pre.status();
    auto cas = fit(x_cas, y);
    if (!cas) return cas.status();
    DecisionModel m;
    m.window = window;
    m.top_logprobs = top_logprobs;
    m.pre = std::move(*pre);
    m.cascade = std::move(*cas);
    // Pre stage: its share of the target; cascade: the rest among those the pre stage kept.
    std::vector<double> s_pre, s_rest;
    for (const auto& x : x_pre)
        s_pre.push_back(stage_score(m.pre, x));
    const double share = std::clamp(target_share, 0.0, 1.0);
    m.pre.threshold = std::clamp(threshold_for_share(s_pre, share * std::clamp(pre_fraction, 0.0, 1.0)), 0.0, 1.0);
    size_t early = 0;
    for (size_t i = 0; i < x_cas.size(); ++i) {
        if (s_pre[i] > m.pre.threshold)
            ++early;
        else
            s_rest.push_back(stage_score(m.cascade, x_cas[i]));
    }
    const double want_rest = share * static_cast<double>(records.size()) - static_cast<double>(early);
    const double rest_share = s_rest.empty() ? 0 : std::max(0.0, want_rest) / static_cast<double>(s_rest.size());
    m.cascade.threshold = std::clamp(threshold_for_share(s_rest, rest_share), 0.0, 1.0);
    return m;
}

} // namespace hearth::router
