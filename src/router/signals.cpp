// router/signals.cpp: see signals.h.
#include "router/signals.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <unistd.h>

namespace hearth::router {
namespace {

constexpr std::array<std::string_view, kPreFeatures> kPreNames = {
    "log_chars", "log_words", "log_numbers", "sentences", "cues", "first_logprob", "first_entropy", "first_margin"};
constexpr std::array<std::string_view, kCascadeFeatures> kCascadeNames = {
    "log_chars",    "log_words",   "log_numbers", "sentences",        "cues",     "mean_logprob", "min_logprob",
    "mean_entropy", "max_entropy", "mean_margin", "low_margin_share", "mean_tail"};

// Words that mark multi-step arithmetic or bookkeeping in a task (matched as whole lower-case words).
constexpr std::array<std::string_view, 22> kCueWords = {
    "each",       "per",   "percent", "twice", "half",     "times",  "remaining", "total",
    "average",    "every", "rate",    "ratio", "fraction", "profit", "discount",  "interest",
    "difference", "left",  "more",    "less",  "after",    "then"};

double sigmoid(double z) {
    return z >= 0 ? 1.0 / (1.0 + std::exp(-z)) : std::exp(z) / (1.0 + std::exp(z));
}

// Solves a x = b for a symmetric positive definite a (n x n, row-major) by Cholesky; false when not SPD.
bool solve_spd(std::vector<double> a, std::vector<double>& b, size_t n) {
    for (size_t j = 0; j < n; ++j) {
        double d = a[j * n + j];
        for (size_t k = 0; k < j; ++k)
            d -= a[j * n + k] * a[j * n + k];
        if (!(d > 0)) return false;
        d = std::sqrt(d);
        a[j * n + j] = d;
        for (size_t i = j + 1; i < n; ++i) {
            double s = a[i * n + j];
            for (size_t k = 0; k < j; ++k)
                s -= a[i * n + k] * a[j * n + k];
            a[i * n + j] = s / d;
        }
    }
    for (size_t i = 0; i < n; ++i) { // L y = b
        double s = b[i];
        for (size_t k = 0; k < i; ++k)
            s -= a[i * n + k] * b[k];
        b[i] = s / a[i * n + i];
    }
    for (size_t i = n; i-- > 0;) { // L^T x = y
        double s = b[i];
        for (size_t k = i + 1; k < n; ++k)
            s -= a[k * n + i] * b[k];
        b[i] = s / a[i * n + i];
    }
    return true;
}

Result<std::vector<double>> read_doubles(const toml::table& t, std::string_view key, size_t n,
                                         const std::string& where) {
    const toml::array* arr = t[key].as_array();
    if (!arr) return error(Code::BadField, where + "." + std::string(key) + ": missing or not an array");
    if (arr->size() != n)
        return error(Code::BadField, where + "." + std::string(key) + ": " + std::to_string(arr->size()) +
                                         " values, expected " + std::to_string(n));
    std::vector<double> out;
    for (const auto& v : *arr) {
        const std::optional<double> d = v.value<double>();
        if (!d || !std::isfinite(*d))
            return error(Code::BadField, where + "." + std::string(key) + ": not a finite number");
        out.push_back(*d);
    }
    return out;
}

Result<StageModel> stage_from_toml(const toml::table* t, std::span<const std::string_view> names,
                                   const std::string& where) {
    if (!t) return error(Code::BadField, where + ": missing table");
    const toml::array* feats = (*t)["features"].as_array();
    if (!feats || feats->size() != names.size())
        return error(Code::BadField, where + ".features: expected " + std::to_string(names.size()) + " names");
    for (size_t i = 0; i < names.size(); ++i) {
        const std::optional<std::string_view> n = (*feats)[i].value<std::string_view>();
        if (!n || *n != names[i])
            return error(Code::BadField,
                         where + ".features[" + std::to_string(i) + "]: expected '" + std::string(names[i]) + "'");
    }
    StageModel m;
    for (auto [key, dst] : {std::pair{"mean", &m.mean}, {"scale", &m.scale}, {"weights", &m.weights}}) {
        auto v = read_doubles(*t, key, names.size(), where);
        if (!v) return v.status();
        *dst = std::move(*v);
    }
    for (double s : m.scale)
        if (!(s > 0)) return error(Code::BadField, where + ".scale: values must be > 0");
    const std::optional<double> bias = (*t)["bias"].value<double>();
    const std::optional<double> thr = (*t)["threshold"].value<double>();
    if (!bias || !std::isfinite(*bias)) return error(Code::BadField, where + ".bias: missing or not a number");
    if (!thr || !(*thr >= 0 && *thr <= 1)) return error(Code::BadField, where + ".threshold: must be in [0, 1]");
    m.bias = *bias;
    m.threshold = *thr;
    return m;
}

toml::table stage_to_toml(const StageModel& m, std::span<const std::string_view> names) {
    toml::table t;
    toml::array feats;
    for (auto n : names)
        feats.push_back(std::string(n));
    t.insert("features", std::move(feats));
    for (auto [key, src] : {std::pair{"mean", &m.mean}, {"scale", &m.scale}, {"weights", &m.weights}}) {
        toml::array a;
        for (double v : *src)
            a.push_back(v);
        t.insert(key, std::move(a));
    }
    t.insert("bias", m.bias);
    t.insert("threshold", m.threshold);
    return t;
}

} // namespace

PromptInfo prompt_info(std::string_view text) {
    PromptInfo p;
    p.chars = static_cast<int32_t>(text.size());
    std::string word;
    bool in_sentence = false;
    auto end_word = [&] {
        if (word.empty()) return;
        ++p.words;
        if (std::find(kCueWords.begin(), kCueWords.end(), word) != kCueWords.end()) ++p.cues;
        word.clear();
    };
    for (size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        if (std::isdigit(c)) {
            // A numeral: digits with inner ',' or '.' followed by a digit.
            end_word();
            ++p.numbers;
            ++p.words;
            in_sentence = true;
            while (i + 1 < text.size() && (std::isdigit(static_cast<unsigned char>(text[i + 1])) ||
                                           ((text[i + 1] == ',' || text[i + 1] == '.') && i + 2 < text.size() &&
                                            std::isdigit(static_cast<unsigned char>(text[i + 2])))))
                ++i;
            continue;
        }
        if (std::isalpha(c) || c == '\'' || c >= 0x80) {
            word += static_cast<char>(std::tolower(c));
            in_sentence = true;
            continue;
        }
        end_word();
        if (c == '.' || c == '!' || c == '?') {
            if (in_sentence) ++p.sentences;
            in_sentence = false;
            if (c == '?') ++p.questions;
        }
    }
    end_word();
    if (in_sentence) ++p.sentences;
    return p;
}

TokenStats token_stats(const TokenSignal& s) {
    TokenStats st;
    st.logprob = s.logprob;
    if (s.top.empty()) {
        // Only the sampled token: its own mass, the rest as one outcome.
        const double p = std::exp(static_cast<double>(s.logprob));
        st.tail = std::max(0.0, 1.0 - p);
        st.entropy = (p > 0 ? -p * std::log(p) : 0) + (st.tail > 0 ? -st.tail * std::log(st.tail) : 0);
        st.margin = std::max(0.0, 2 * p - 1); // p2 <= 1 - p
        return st;
    }
    double sum = 0;
    for (float lp : s.top) {
        const double p = std::exp(static_cast<double>(lp));
        sum += p;
        if (p > 0) st.entropy -= p * static_cast<double>(lp);
    }
    st.tail = std::clamp(1.0 - sum, 0.0, 1.0);
    if (st.tail > 1e-12) st.entropy -= st.tail * std::log(st.tail);
    const double p1 = std::exp(static_cast<double>(s.top[0]));
    const double p2 = s.top.size() > 1 ? std::exp(static_cast<double>(s.top[1])) : 0.0;
    st.margin = p1 - p2;
    return st;
}

std::span<const std::string_view> pre_feature_names() {
    return kPreNames;
}
std::span<const std::string_view> cascade_feature_names() {
    return kCascadeNames;
}

std::array<double, kPromptFeatures> prompt_features(const PromptInfo& p) {
    return {std::log1p(p.chars), std::log1p(p.words), std::log1p(p.numbers), static_cast<double>(p.sentences),
            static_cast<double>(p.cues)};
}

std::array<double, kWindowFeatures> window_features(std::span<const TokenSignal> window) {
    std::array<double, kWindowFeatures> f{};
    if (window.empty()) {
        f[4] = 1; // mean margin: certain
        return f;
    }
    double min_lp = std::numeric_limits<double>::infinity(), max_h = 0;
    double sum_lp = 0, sum_h = 0, sum_m = 0, sum_tail = 0;
    int low = 0;
    for (const TokenSignal& s : window) {
        const TokenStats st = token_stats(s);
        const double lp = std::isfinite(st.logprob) ? st.logprob : -30.0; // a -inf logprob would poison the mean
        sum_lp += lp;
        min_lp = std::min(min_lp, lp);
        sum_h += st.entropy;
        max_h = std::max(max_h, st.entropy);
        sum_m += st.margin;
        sum_tail += st.tail;
        if (st.margin < kLowMargin) ++low;
    }
    const auto n = static_cast<double>(window.size());
    f = {sum_lp / n, min_lp, sum_h / n, max_h, sum_m / n, low / n, sum_tail / n};
    return f;
}

std::vector<double> pre_features(const PromptInfo& p, const TokenSignal& first) {
    const auto pf = prompt_features(p);
    const TokenStats st = token_stats(first);
    std::vector<double> x(pf.begin(), pf.end());
    x.push_back(std::isfinite(st.logprob) ? st.logprob : -30.0);
    x.push_back(st.entropy);
    x.push_back(st.margin);
    return x;
}

std::vector<double> cascade_features(const PromptInfo& p, std::span<const TokenSignal> first_n) {
    const auto pf = prompt_features(p);
    const auto wf = window_features(first_n);
    std::vector<double> x(pf.begin(), pf.end());
    x.insert(x.end(), wf.begin(), wf.end());
    return x;
}

double stage_score(const StageModel& m, std::span<const double> x) {
    double z = m.bias;
    const size_t n = std::min({x.size(), m.weights.size(), m.mean.size(), m.scale.size()});
    for (size_t i = 0; i < n; ++i)
        z += m.weights[i] * (x[i] - m.mean[i]) / m.scale[i];
    return sigmoid(z);
}

DecisionModel default_decision_model() {
    DecisionModel d;
    // Means and spreads: Qwen2.5-Coder-0.5B-Instruct answering GSM8K questions (K = 8). Weights: unit-ish, on the
    // uncertainty features and the prompt's length only; bias 0 (score 0.5 at the typical request).
    d.pre.mean = {5.4, 3.8, 1.4, 3.5, 1.5, -0.9, 1.6, 0.16};
    d.pre.scale = {0.4, 0.4, 0.3, 1.0, 1.1, 0.2, 0.15, 0.1};
    d.pre.weights = {0, 0.5, 0, 0, 0, 0, 0.5, 0};
    d.pre.bias = 0;
    d.pre.threshold = 0.8; // only clear outliers escalate before generation
    d.cascade.mean = {5.4, 3.8, 1.4, 3.5, 1.5, -0.32, -1.1, 0.63, 1.75, 0.65, 0.34, 0.02};
    d.cascade.scale = {0.4, 0.4, 0.3, 1.0, 1.1, 0.12, 0.27, 0.2, 0.2, 0.09, 0.11, 0.013};
    d.cascade.weights = {0, 0.5, 0, 0, 0, -0.5, 0, 1.0, 0, 0, 0.5, 0};
    d.cascade.bias = 0;
    d.cascade.threshold = 0.7; // about the most uncertain quarter
    return d;
}

double pre_score(const DecisionModel& m, const PromptInfo& p, const TokenSignal& first) {
    return stage_score(m.pre, pre_features(p, first));
}

double cascade_score(const DecisionModel& m, const PromptInfo& p, std::span<const TokenSignal> first_n) {
    const size_t n = std::min(first_n.size(), static_cast<size_t>(std::max(m.window, 0)));
    return stage_score(m.cascade, cascade_features(p, first_n.first(n)));
}

Result<StageModel> fit(std::span<const std::vector<double>> x, std::span<const uint8_t> y, const FitOptions& opts) {
    if (x.empty() || x.size() != y.size()) return error(Code::BadField, "fit: need as many labels as rows, >= 1");
    const size_t n = x.size(), d = x[0].size();
    for (const auto& row : x)
        if (row.size() != d) return error(Code::BadField, "fit: rows of different lengths");
    StageModel m;
    m.mean.assign(d, 0);
    m.scale.assign(d, 1);
    for (const auto& row : x)
        for (size_t j = 0; j < d; ++j)
            m.mean[j] += row[j] / static_cast<double>(n);
    for (size_t j = 0; j < d; ++j) {
        double v = 0;
        for (const auto& row : x)
            v += (row[j] - m.mean[j]) * (row[j] - m.mean[j]);
        const double sd = std::sqrt(v / static_cast<double>(n));
        m.scale[j] = sd > 1e-9 ? sd : 1.0;
    }
    // z[i] = (1, standardized x[i]); parameters beta = (bias, weights).
    const size_t p = d + 1;
    std::vector<double> z(n * p);
    for (size_t i = 0; i < n; ++i) {
        z[i * p] = 1;
        for (size_t j = 0; j < d; ++j)
            z[i * p + 1 + j] = (x[i][j] - m.mean[j]) / m.scale[j];
    }
    std::vector<double> beta(p, 0), grad(p), hess(p * p);
    for (int it = 0; it < opts.max_iter; ++it) {
        std::fill(grad.begin(), grad.end(), 0);
        std::fill(hess.begin(), hess.end(), 0);
        for (size_t i = 0; i < n; ++i) {
            const double* zi = &z[i * p];
            double eta = 0;
            for (size_t j = 0; j < p; ++j)
                eta += beta[j] * zi[j];
            const double mu = sigmoid(eta);
            const double w = std::max(mu * (1 - mu), 1e-10);
            const double r = mu - (y[i] ? 1.0 : 0.0);
            for (size_t j = 0; j < p; ++j) {
                grad[j] += r * zi[j];
                for (size_t k = 0; k <= j; ++k)
                    hess[j * p + k] += w * zi[j] * zi[k];
            }
        }
        for (size_t j = 0; j < p; ++j)
            for (size_t k = 0; k < j; ++k)
                hess[k * p + j] = hess[j * p + k];
        for (size_t j = 1; j < p; ++j) {
            grad[j] += opts.l2 * beta[j];
            hess[j * p + j] += opts.l2;
        }
        hess[0] += 1e-9; // the bias is unpenalized: keep the system definite on degenerate data
        std::vector<double> step = grad;
        if (!solve_spd(hess, step, p)) return error("fit: singular system (degenerate data)");
        double change = 0;
        for (size_t j = 0; j < p; ++j) {
            beta[j] -= step[j];
            change = std::max(change, std::abs(step[j]));
        }
        if (change < 1e-10) break;
    }
    m.bias = beta[0];
    m.weights.assign(beta.begin() + 1, beta.end());
    m.threshold = 1;
    return m;
}

double threshold_for_share(std::span<const double> scores, double share) {
    if (scores.empty()) return 1;
    std::vector<double> s(scores.begin(), scores.end());
    std::sort(s.begin(), s.end(), std::greater<>());
    const double want = std::clamp(share, 0.0, 1.0) * static_cast<double>(s.size());
    const auto k = static_cast<size_t>(std::llround(want)); // how many should be above
    if (k == 0) return s.front();
    if (k >= s.size()) return std::nextafter(s.back(), -std::numeric_limits<double>::infinity());
    // Above: s[0..k); the threshold sits between s[k-1] and s[k]. With ties at the boundary, take the side
    // whose count is closer to k.
    if (s[k - 1] > s[k]) return s[k - 1] - (s[k - 1] - s[k]) / 2;
    const double tie = s[k];
    const size_t above_hi =
        static_cast<size_t>(std::upper_bound(s.begin(), s.end(), tie, std::greater<>()) - s.begin());
    const size_t above_lo =
        static_cast<size_t>(std::lower_bound(s.begin(), s.end(), tie, std::greater<>()) - s.begin());
    // Threshold just below the tie: above_hi are above; just at the tie: above_lo are above.
    if (above_hi - k < k - above_lo) return std::nextafter(tie, -std::numeric_limits<double>::infinity());
    return tie;
}

Result<DecisionModel> decision_from_toml(const toml::table& t) {
    DecisionModel m;
    const std::optional<int64_t> window = t["window"].value<int64_t>();
    const std::optional<int64_t> k = t["top_logprobs"].value<int64_t>();
    if (!window || *window < 1 || *window > 4096)
        return error(Code::BadField, "decision.window: an integer in [1, 4096]");
    if (!k || *k < 0 || *k > 20) return error(Code::BadField, "decision.top_logprobs: an integer in [0, 20]");
    m.window = static_cast<int32_t>(*window);
    m.top_logprobs = static_cast<int32_t>(*k);
    auto pre = stage_from_toml(t["pre"].as_table(), kPreNames, "decision.pre");
    if (!pre) return pre.status();
    auto cas = stage_from_toml(t["cascade"].as_table(), kCascadeNames, "decision.cascade");
    if (!cas) return cas.status();
    m.pre = std::move(*pre);
    m.cascade = std::move(*cas);
    return m;
}

void decision_to_toml(const DecisionModel& m, toml::table& t) {
    toml::table d;
    d.insert("window", static_cast<int64_t>(m.window));
    d.insert("top_logprobs", static_cast<int64_t>(m.top_logprobs));
    d.insert("pre", stage_to_toml(m.pre, kPreNames));
    d.insert("cascade", stage_to_toml(m.cascade, kCascadeNames));
    t.insert_or_assign("decision", std::move(d));
}

Status write_decision_file(const std::string& path, const DecisionModel& m) {
    toml::table root;
    std::error_code ec;
    if (std::filesystem::exists(path, ec)) {
        try {
            root = toml::parse_file(path);
        } catch (const toml::parse_error& e) {
            return error(path + ": " + std::string(e.description()) + " (line " +
                         std::to_string(e.source().begin.line) + "); not rewritten");
        }
    }
    decision_to_toml(m, root);
    std::ostringstream os;
    os << root << "\n";
    const std::filesystem::path target(path);
    const std::filesystem::path dir = target.has_parent_path() ? target.parent_path() : ".";
    std::filesystem::create_directories(dir, ec);
    const std::string tmp = (dir / ("." + target.filename().string() + ".tmp" + std::to_string(getpid()))).string();
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        f << os.str();
        f.flush();
        if (!f) {
            std::filesystem::remove(tmp, ec);
            return error("cannot write " + tmp);
        }
    }
    std::filesystem::rename(tmp, target, ec);
    if (ec) {
        std::filesystem::remove(tmp, ec);
        return error("cannot replace " + path + ": " + ec.message());
    }
    return Status::ok();
}

Result<DecisionModel> read_decision_file(const std::string& path) {
    toml::table root;
    try {
        root = toml::parse_file(path);
    } catch (const toml::parse_error& e) {
        return error(path + ": " + std::string(e.description()) + " (line " + std::to_string(e.source().begin.line) +
                     ")");
    }
    const toml::table* d = root["decision"].as_table();
    if (!d) return error(Code::NotFound, path + ": no [decision] table");
    return decision_from_toml(*d);
}

} // namespace hearth::router
