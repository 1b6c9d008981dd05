#include "eval/metrics.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include "util/errors.h"

namespace basin {
namespace {

void check_sizes(size_t a, size_t b, const char* what) {
  if (a != b)
    throw InputError(std::string(what) + ": " + std::to_string(a) + " predictions but " +
                     std::to_string(b) + " references");
  if (a == 0) throw InputError(std::string(what) + ": no items");
}

std::vector<std::string> split_ws(std::string_view s) {
  std::vector<std::string> out;
  std::istringstream in{std::string(s)};
  std::string w;
  while (in >> w)
    out.push_back(w);
  return out;
}

std::map<std::vector<std::string>, size_t> ngram_counts(const std::vector<std::string>& toks,
                                                        size_t n) {
  std::map<std::vector<std::string>, size_t> c;
  for (size_t i = 0; i + n <= toks.size(); ++i)
    ++c[std::vector<std::string>(toks.begin() + static_cast<long>(i),
                                 toks.begin() + static_cast<long>(i + n))];
  return c;
}

}  // namespace

double accuracy(const std::vector<std::string>& pred, const std::vector<std::string>& ref) {
  check_sizes(pred.size(), ref.size(), "accuracy");
  size_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i)
    ok += pred[i] == ref[i];
  return double(ok) / double(pred.size());
}

double macro_f1(const std::vector<std::string>& pred, const std::vector<std::string>& ref) {
  check_sizes(pred.size(), ref.size(), "macro_f1");
  std::set<std::string> labels(ref.begin(), ref.end());
  labels.insert(pred.begin(), pred.end());
  double sum = 0;
  for (const auto& l : labels) {
    size_t tp = 0, fp = 0, fn = 0;
    for (size_t i = 0; i < pred.size(); ++i) {
      tp += pred[i] == l && ref[i] == l;
      fp += pred[i] == l && ref[i] != l;
      fn += pred[i] != l && ref[i] == l;
    }
    const size_t denom = 2 * tp + fp + fn;
    sum += denom ? 2.0 * double(tp) / double(denom) : 0.0;
  }
  return sum / double(labels.size());
}

std::string normalize_answer(std::string_view s) {
  std::string lower;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 128 && std::ispunct(u)) continue;
    lower += static_cast<char>(u < 128 ? std::tolower(u) : u);
  }
  std::string out;
  for (const auto& w : split_ws(lower)) {
    if (w == "a" || w == "an" || w == "the") continue;
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

double exact_match(const std::vector<std::string>& pred,
                   const std::vector<std::vector<std::string>>& refs) {
  check_sizes(pred.size(), refs.size(), "exact_match");
  size_t ok = 0;
  for (size_t i = 0; i < pred.size(); ++i) {
    const auto p = normalize_answer(pred[i]);
    for (const auto& r : refs[i])
      if (p == normalize_answer(r)) {
        ++ok;
        break;
      }
  }
  return double(ok) / double(pred.size());
}

std::string tokenize_13a(std::string_view in) {
  std::string line(in);
  auto replace_all = [&](const std::string& from, const std::string& to) {
    for (size_t p = line.find(from); p != std::string::npos; p = line.find(from, p + to.size()))
      line.replace(p, from.size(), to);
  };
  replace_all("<skipped>", "");
  replace_all("-\n", "");
  replace_all("\n", " ");
  if (line.find('&') != std::string::npos) {
    replace_all("&quot;", "\"");
    replace_all("&amp;", "&");
    replace_all("&lt;", "<");
    replace_all("&gt;", ">");
  }
  // Symbols and punctuation ({|}~ [\]^_` space!"#$%& ()*+ :;<=>?@ /) get spaces around them.
  std::string spaced;
  for (char c : line) {
    const bool sym = (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
                     (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
    if (sym) {
      spaced += ' ';
      spaced += c;
      spaced += ' ';
    } else {
      spaced += c;
    }
  }
  static const std::regex period_after_non_digit(R"(([^0-9])([\.,]))");
  static const std::regex period_before_non_digit(R"(([\.,])([^0-9]))");
  static const std::regex dash_after_digit(R"(([0-9])(-))");
  spaced = std::regex_replace(spaced, period_after_non_digit, "$1 $2 ");
  spaced = std::regex_replace(spaced, period_before_non_digit, " $1 $2");
  spaced = std::regex_replace(spaced, dash_after_digit, "$1 $2 ");
  std::string out;
  for (const auto& w : split_ws(spaced)) {
    if (!out.empty()) out += ' ';
    out += w;
  }
  return out;
}

BleuResult corpus_bleu(const std::vector<std::string>& hyps,
                       const std::vector<std::vector<std::string>>& refs, bool tok13a) {
  check_sizes(hyps.size(), refs.size(), "corpus_bleu");
  auto toks = [&](const std::string& s) { return split_ws(tok13a ? tokenize_13a(s) : s); };
  std::array<double, 4> num{}, den{};
  BleuResult r;
  for (size_t i = 0; i < hyps.size(); ++i) {
    if (refs[i].empty())
      throw InputError("corpus_bleu: item " + std::to_string(i + 1) + " has no reference");
    const auto h = toks(hyps[i]);
    std::vector<std::vector<std::string>> rs;
    for (const auto& ref : refs[i])
      rs.push_back(toks(ref));
    // Closest reference length; ties go to the shorter reference.
    size_t best = rs.front().size();
    for (const auto& ref : rs) {
      const auto d = std::abs(double(ref.size()) - double(h.size()));
      const auto bd = std::abs(double(best) - double(h.size()));
      if (d < bd || (d == bd && ref.size() < best)) best = ref.size();
    }
    r.hyp_len += h.size();
    r.ref_len += best;
    for (size_t n = 1; n <= 4; ++n) {
      const auto hc = ngram_counts(h, n);
      std::map<std::vector<std::string>, size_t> max_ref;
      for (const auto& ref : rs)
        for (const auto& [g, c] : ngram_counts(ref, n))
          max_ref[g] = std::max(max_ref[g], c);
      size_t clipped = 0, total = 0;
      for (const auto& [g, c] : hc) {
        total += c;
        const auto it = max_ref.find(g);
        clipped += std::min(c, it == max_ref.end() ? size_t(0) : it->second);
      }
      num[n - 1] += double(clipped);
      den[n - 1] += double(std::max<size_t>(1, total));  // as NLTK's modified_precision
    }
  }
  for (size_t n = 0; n < 4; ++n)
    r.precisions[n] = num[n] / den[n];
  const double c = double(r.hyp_len), rl = double(r.ref_len);
  r.brevity_penalty = c > rl ? 1.0 : (c == 0 ? 0.0 : std::exp(1.0 - rl / c));
  if (*std::min_element(num.begin(), num.end()) == 0) return r;  // no smoothing: BLEU = 0
  double log_sum = 0;
  for (double p : r.precisions)
    log_sum += 0.25 * std::log(p);
  r.score = r.brevity_penalty * std::exp(log_sum);
  return r;
}

double rouge_l_f(std::string_view pred, std::string_view ref) {
  auto toks = [](std::string_view s) {
    std::string t;
    for (char c : s) {
      const auto u = static_cast<unsigned char>(c);
      t += (u < 128 && std::isalnum(u)) ? static_cast<char>(std::tolower(u)) : ' ';
    }
    return split_ws(t);
  };
  const auto p = toks(pred), r = toks(ref);
  if (p.empty() || r.empty()) return 0.0;
  std::vector<std::vector<size_t>> L(p.size() + 1, std::vector<size_t>(r.size() + 1, 0));
  for (size_t i = 1; i <= p.size(); ++i)
    for (size_t j = 1; j <= r.size(); ++j)
      L[i][j] = p[i - 1] == r[j - 1] ? L[i - 1][j - 1] + 1 : std::max(L[i - 1][j], L[i][j - 1]);
  const double lcs = double(L[p.size()][r.size()]);
  if (lcs == 0) return 0.0;
  const double prec = lcs / double(p.size()), rec = lcs / double(r.size());
  return 2 * prec * rec / (prec + rec);
}

double mean_rouge_l_f(const std::vector<std::string>& pred, const std::vector<std::string>& ref) {
  check_sizes(pred.size(), ref.size(), "rouge_l");
  double s = 0;
  for (size_t i = 0; i < pred.size(); ++i)
    s += rouge_l_f(pred[i], ref[i]);
  return s / double(pred.size());
}

namespace {

// UTF-8 → code points, whitespace dropped (sacreBLEU's chrF ignores whitespace by default). A
// byte that does not start a valid sequence becomes U+FFFD, as Python's decode(errors="replace")
// does: greedy decoding can stop inside a multi-byte character.
std::u32string chrf_chars(std::string_view s) {
  std::u32string out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : c >> 5 == 6 ? 2 : c >> 4 == 14 ? 3 : c >> 3 == 30 ? 4 : 0;
    bool ok = len > 0 && i + len <= s.size();
    for (size_t k = 1; ok && k < len; ++k)
      ok = (static_cast<unsigned char>(s[i + k]) & 0xc0) == 0x80;
    if (!ok) {
      out += U'\ufffd';
      ++i;
      continue;
    }
    char32_t cp = len == 1 ? c : c & (0x7f >> len);
    for (size_t k = 1; k < len; ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    i += len;
    if (cp == U' ' || cp == U'\t' || cp == U'\n' || cp == U'\r' || cp == U'\v' || cp == U'\f')
      continue;
    out += cp;
  }
  return out;
}

std::map<std::u32string, size_t> char_ngrams(const std::u32string& s, size_t n) {
  std::map<std::u32string, size_t> out;
  for (size_t i = 0; i + n <= s.size(); ++i)
    ++out[s.substr(i, n)];
  return out;
}

}  // namespace

double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                   const ChrfOptions& o) {
  check_sizes(hyps.size(), refs.size(), "chrF");
  if (o.char_order < 1 || !(o.beta > 0))
    throw InputError("chrF: char_order must be >= 1 and beta > 0");
  const size_t N = size_t(o.char_order);
  std::vector<double> hyp_count(N), ref_count(N), match(N);
  for (size_t i = 0; i < hyps.size(); ++i) {
    const auto h = chrf_chars(hyps[i]), r = chrf_chars(refs[i]);
    for (size_t n = 1; n <= N; ++n) {
      const auto hg = char_ngrams(h, n), rg = char_ngrams(r, n);
      for (const auto& [g, c] : hg) {
        hyp_count[n - 1] += double(c);
        if (const auto it = rg.find(g); it != rg.end())
          match[n - 1] += double(std::min(c, it->second));
      }
      for (const auto& [g, c] : rg)
        ref_count[n - 1] += double(c);
    }
  }
  // Orders a side lacks count with precision/recall ~0 but do not enter the average's divisor
  // (sacreBLEU's "effective order").
  double prec = 0, rec = 0;
  size_t effective = 0;
  for (size_t n = 0; n < N; ++n) {
    prec += hyp_count[n] > 0 ? match[n] / hyp_count[n] : 0.0;
    rec += ref_count[n] > 0 ? match[n] / ref_count[n] : 0.0;
    effective += hyp_count[n] > 0 && ref_count[n] > 0;
  }
  if (effective == 0) return 0.0;
  prec /= double(effective);
  rec /= double(effective);
  const double b2 = o.beta * o.beta;
  return prec + rec > 0 ? (1 + b2) * prec * rec / (b2 * prec + rec) : 0.0;
}

double perplexity_from_nll(double total_nll, size_t tokens) {
  if (tokens == 0) throw InputError("perplexity: no tokens");
  return std::exp(total_nll / double(tokens));
}

double multitask_score(const std::vector<double>& scores, const std::vector<double>& oracle) {
  if (scores.size() != oracle.size() || scores.empty())
    throw InputError("multitask score: " + std::to_string(scores.size()) + " scores but " +
                     std::to_string(oracle.size()) + " oracle scores");
  double s = 0;
  for (size_t i = 0; i < scores.size(); ++i) {
    if (!(oracle[i] > 0))
      throw InputError("multitask score: oracle score of task " + std::to_string(i + 1) +
                       " is not positive");
    s += scores[i] / oracle[i];
  }
  return s / double(scores.size());
}

}  // namespace basin
