// Metrics against scikit-learn / NLTK fixtures (tests/fixtures/metrics) and hand-computed cases.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "eval/metrics.h"
#include "util/errors.h"

using namespace basin;

namespace {
nlohmann::json fixtures() {
  std::ifstream in(std::string(BASIN_FIXTURES) + "/metrics/metrics.json");
  EXPECT_TRUE(in.good()) << "missing tests/fixtures/metrics/metrics.json";
  return nlohmann::json::parse(in);
}
}  // namespace

TEST(Metrics, ClassificationMatchesScikitLearn) {
  for (const auto& c : fixtures()["classification"]) {
    const auto pred = c["pred"].get<std::vector<std::string>>(),
               ref = c["ref"].get<std::vector<std::string>>();
    EXPECT_NEAR(accuracy(pred, ref), c["accuracy"].get<double>(), 1e-12);
    EXPECT_NEAR(macro_f1(pred, ref), c["macro_f1"].get<double>(), 1e-12);
  }
  // By hand: labels {a, b, c}; a: tp1 fp1 fn1 -> 0.5; b: tp1 fp0 fn1 -> 2/3; c: tp0 fp1 fn0 -> 0.
  EXPECT_NEAR(macro_f1({"a", "a", "b", "c"}, {"a", "b", "b", "a"}), (0.5 + 2.0 / 3.0 + 0.0) / 3.0,
              1e-15);
  EXPECT_THROW(accuracy({"a"}, {"a", "b"}), InputError);
}

TEST(Metrics, CorpusBleuMatchesNltk) {
  for (const auto& c : fixtures()["bleu_whitespace"]) {
    const auto r =
        corpus_bleu(c["hyps"].get<std::vector<std::string>>(),
                    c["refs"].get<std::vector<std::vector<std::string>>>(), /*tokenize_13a=*/false);
    EXPECT_NEAR(r.score, c["bleu"].get<double>(), 1e-12) << c["hyps"].dump();
  }
  // By hand: a perfect single match of 4+ tokens is 1; hyp "a b c d" vs ref "a b c d e f g h":
  // all precisions 1, BP = exp(1 - 8/4) = e^-1.
  EXPECT_NEAR(corpus_bleu({"a b c d"}, {{"a b c d"}}, false).score, 1.0, 1e-15);
  const auto short_hyp = corpus_bleu({"a b c d"}, {{"a b c d e f g h"}}, false);
  EXPECT_NEAR(short_hyp.brevity_penalty, std::exp(-1.0), 1e-15);
  EXPECT_NEAR(short_hyp.score, std::exp(-1.0), 1e-15);
}

TEST(Metrics, Tokenize13aLikeSacreBleu) {
  EXPECT_EQ(tokenize_13a("Hello, world!"), "Hello , world !");
  EXPECT_EQ(tokenize_13a("It costs $3.50, or 3,000 yen."), "It costs $ 3.50 , or 3,000 yen .");
  EXPECT_EQ(tokenize_13a("&quot;Quoted&quot; &amp; (paren) 1990-2000"),
            "\" Quoted \" & ( paren ) 1990 - 2000");
  EXPECT_EQ(tokenize_13a("e-mail a/b"), "e-mail a / b");
  // 13a makes punctuation-only differences count like words: with it, "world!" matches "world !".
  EXPECT_NEAR(corpus_bleu({"Hello, big world!"}, {{"Hello , big world !"}}).score, 1.0, 1e-15);
}

TEST(Metrics, RougeLByHand) {
  // pred "the cat was found under the bed" (7), ref "the cat was under the bed" (6):
  // LCS = "the cat was under the bed" = 6; P = 6/7, R = 1, F = 2·(6/7)/(13/7) = 12/13.
  EXPECT_NEAR(rouge_l_f("the cat was found under the bed", "the cat was under the bed"),
              12.0 / 13.0, 1e-15);
  // Case and punctuation are ignored; no overlap gives 0.
  EXPECT_NEAR(rouge_l_f("The Cat!", "the cat"), 1.0, 1e-15);
  EXPECT_EQ(rouge_l_f("abc", "xyz"), 0.0);
  // LCS of "a b c d" vs "b a d c": 2 (e.g. "a c"); P = R = 1/2; F = 1/2.
  EXPECT_NEAR(rouge_l_f("a b c d", "b a d c"), 0.5, 1e-15);
  EXPECT_NEAR(mean_rouge_l_f({"a b", "x"}, {"a b", "y"}), 0.5, 1e-15);
}

TEST(Metrics, ExactMatchPerplexityAndMultitaskScore) {
  EXPECT_EQ(normalize_answer("  The  Nile, river! "), "nile river");
  EXPECT_NEAR(exact_match({"the Paris", "Lyon", "x"}, {{"Paris"}, {"Marseille", "lyon."}, {"y"}}),
              2.0 / 3.0, 1e-15);
  EXPECT_NEAR(perplexity_from_nll(std::log(4.0) * 10, 10), 4.0, 1e-12);
  // The oracle scores 1; half the oracle on one task and equal on the other gives 0.75.
  EXPECT_NEAR(multitask_score({0.8, 0.3}, {0.8, 0.3}), 1.0, 1e-15);
  EXPECT_NEAR(multitask_score({0.4, 0.3}, {0.8, 0.3}), 0.75, 1e-15);
  EXPECT_THROW(multitask_score({0.4}, {0.0}), InputError);
}

TEST(Metrics, ChrfMatchesSacrebleuAndHandCounts) {
  // sacreBLEU CHRF() defaults (char_order 6, beta 2), values from the chrF metric card of
  // huggingface/datasets (metrics/chrf/README.md), which runs sacreBLEU; sacreBLEU prints ×100.
  EXPECT_NEAR(corpus_chrf({"The relationship between Obama and Netanyahu is not exactly friendly."},
                          {"The ties between Obama and Netanyahu are not particularly friendly."}),
              0.61576379378113785, 1e-12);
  EXPECT_NEAR(corpus_chrf({"The relationship between cats and dogs is not exactly friendly.",
                           "a good bookshop is just a genteel black hole that knows how to read."},
                          {"The relationship between dogs and cats is not exactly friendly.",
                           "A good bookshop is just a genteel Black Hole that knows how to read."}),
              0.8464214891738334, 1e-12);
  // By hand: "ab" vs "abc". 1-grams P 2/2 R 2/3; 2-grams P 1/1 R 1/2; orders 3..6 have no
  // hypothesis n-grams and leave the average. P = 1, R = 7/12, F2 = 5PR / (4P + R) = 7/11.
  EXPECT_NEAR(corpus_chrf({"ab"}, {"abc"}), 7.0 / 11.0, 1e-15);
  // Whitespace is ignored; characters are code points: "äb" vs "ab" matches 1 of 2 unigrams
  // and no bigram, P = R = (1/2 + 0) / 2.
  EXPECT_NEAR(corpus_chrf({"a b c"}, {"abc"}), 1.0, 1e-15);
  EXPECT_NEAR(corpus_chrf({"\xc3\xa4"
                           "b"},
                          {"ab"}),
              0.25, 1e-15);
  EXPECT_EQ(corpus_chrf({"xyz"}, {"abc"}), 0.0);
  EXPECT_EQ(corpus_chrf({""}, {"abc"}), 0.0);
  // A generation cut inside a character: the stray byte is one U+FFFD, which matches nothing
  // but "a" and "b" still do: 1-grams P 2/3 R 2/2, 2-grams P 0/2 R 0/1 → P = 1/3, R = 1/2,
  // F2 = 5 (1/6) / (4/3 + 1/2) = 5/11.
  EXPECT_NEAR(corpus_chrf({"a\xc3"
                           "b"},
                          {"ab"}),
              5.0 / 11.0, 1e-15);
  EXPECT_THROW(corpus_chrf({"a"}, {"a", "b"}), InputError);
}
