#include <gtest/gtest.h>

#include "test_support.h"
#include "text/bpe_trainer.h"
#include "text/tokenizer.h"
#include "util/errors.h"

using namespace basin;

TEST(BpeTrainer, TrainedTokenizerLoadsCompressesAndRoundTrips) {
  test::TempDir dir;
  std::vector<std::string> texts;
  for (int i = 0; i < 50; ++i)
    texts.push_back("the cat sat on the mat; the dog sat on the log. Ünïcödé " + std::to_string(i));
  BpeTrainOptions o;
  o.vocab_size = 280;
  jobs::NullProgress p;
  train_bpe_tokenizer(texts, o, dir / "tokenizer.json", p);
  const auto tok = Tokenizer::from_file(dir / "tokenizer.json");
  EXPECT_EQ(tok.vocab_size(), 280u);
  const std::string s = "the cat sat on the mat";
  const auto ids = tok.encode(s);
  EXPECT_LT(ids.size(), s.size() / 2) << "merges should compress frequent words";
  EXPECT_EQ(tok.decode(ids), s);
  // " the" is the most frequent word: it becomes one token.
  EXPECT_EQ(tok.encode(" the").size(), 1u);
  const std::string odd = "zebra Ω 🦓\n\tend";
  EXPECT_EQ(tok.decode(tok.encode(odd)), odd);
  ASSERT_TRUE(tok.token_to_id("<|endoftext|>").has_value());
  EXPECT_TRUE(tok.is_special(*tok.token_to_id("<|endoftext|>")));
  EXPECT_EQ(tok.encode("a<|endoftext|>").back(), *tok.token_to_id("<|endoftext|>"));
  // Deterministic.
  train_bpe_tokenizer(texts, o, dir / "again.json", p);
  EXPECT_EQ(test::read_bytes(dir / "tokenizer.json"), test::read_bytes(dir / "again.json"));
  o.vocab_size = 100;
  EXPECT_THROW(train_bpe_tokenizer(texts, o, dir / "small.json", p), InputError);
}
