// Task metrics: accuracy, macro-F1, exact match, corpus BLEU, chrF, ROUGE-L, perplexity and the
// router-free study's multitask score. Plain C++ (no torch), checked against scikit-learn and
// NLTK on fixtures (tests/fixtures/metrics).
#pragma once

#include <array>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace basin {

// Fraction of items whose prediction equals the reference exactly.
double accuracy(const std::vector<std::string>& pred, const std::vector<std::string>& ref);

// Macro-averaged F1 over the sorted union of labels in pred and ref, 0 for a label with no
// true or predicted positives (scikit-learn f1_score(average="macro", zero_division=0)).
double macro_f1(const std::vector<std::string>& pred, const std::vector<std::string>& ref);

// SQuAD answer normalisation: lowercase, drop ASCII punctuation and the articles a/an/the,
// collapse whitespace (Rajpurkar et al. 2016, official evaluation script).
std::string normalize_answer(std::string_view s);
// Fraction of items whose normalised prediction equals any normalised reference.
double exact_match(const std::vector<std::string>& pred,
                   const std::vector<std::vector<std::string>>& refs);

struct BleuResult {
  double score = 0;                    // in [0, 1]
  std::array<double, 4> precisions{};  // modified n-gram precisions p_1..p_4
  double brevity_penalty = 0;          // exp(1 - r/c) when c <= r, else 1
  size_t hyp_len = 0, ref_len = 0;     // c and r (closest reference length per sentence)
};
// Corpus BLEU (Papineni et al. 2002): 4-grams, uniform weights, clipped counts, brevity penalty
// with the closest reference length (shorter on ties), no smoothing: a zero precision gives 0.
// With tokenize_13a the texts are tokenised as sacreBLEU's default "13a"; otherwise split on
// whitespace.
BleuResult corpus_bleu(const std::vector<std::string>& hyps,
                       const std::vector<std::vector<std::string>>& refs, bool tokenize_13a = true);
// sacreBLEU's 13a tokenisation (mteval-v13a): unescape &quot; &amp; &lt; &gt;, split punctuation
// and symbols, periods and commas except inside numbers, and a dash after a digit.
std::string tokenize_13a(std::string_view line);

// ROUGE-L F1 of one pair (Lin 2004): LCS over lowercased alphanumeric tokens (as the
// rouge-score package's default tokenizer), F = 2PR / (P + R).
double rouge_l_f(std::string_view pred, std::string_view ref);
double mean_rouge_l_f(const std::vector<std::string>& pred, const std::vector<std::string>& ref);

struct ChrfOptions {
  int char_order = 6;  // character n-grams 1..char_order
  double beta = 2.0;   // recall weighs beta times precision
};
// Corpus chrF (Popović 2015) as sacreBLEU's CHRF (char_order 6, word_order 0, beta 2, case
// kept, whitespace removed): n-gram statistics summed over the corpus, precision and recall
// averaged over the orders both sides have, then F_beta. In [0, 1] (sacreBLEU prints ×100).
// Characters are Unicode code points of UTF-8 text; an invalid byte counts as one U+FFFD.
double corpus_chrf(const std::vector<std::string>& hyps, const std::vector<std::string>& refs,
                   const ChrfOptions& options = {});

// exp(total NLL / tokens).
double perplexity_from_nll(double total_nll, size_t tokens);

// Multitask score of the router-free study: mean over tasks of score_t / oracle_t.
double multitask_score(const std::vector<double>& scores, const std::vector<double>& oracle_scores);

}  // namespace basin
