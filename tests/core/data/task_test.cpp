#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "input_error.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;

TEST(Task, LoadsSpecRendersPromptsAndReadsJsonl) {
  test::TempDir dir;
  test::write_bytes(dir / "qa.json",
                    R"({"name": "qa", "prompt": "Q: {question}\nA ({{short}}):", "target": "answer",
                                         "metric": "exact_match", "max_new_tokens": 12, "splits": {"test": "qa.jsonl"}})");
  test::write_bytes(dir / "qa.jsonl",
                    "{\"question\": \"Capital of France?\", \"answer\": \"Paris\", \"id\": 7}\n\n"
                    "{\"question\": \"2+2?\", \"answer\": 4, \"id\": 18446744073709551615,"
                    " \"n\": -9223372036854775808}\r\n");
  const auto spec = TaskSpec::load(dir / "qa.json");
  EXPECT_EQ(spec.metric, TaskMetric::ExactMatch);
  EXPECT_EQ(spec.max_new_tokens, 12);
  const auto ex = spec.load_split("test");
  ASSERT_EQ(ex.size(), 2u);
  EXPECT_EQ(spec.render_prompt(ex[0]), "Q: Capital of France?\nA ({short}):");
  EXPECT_EQ(spec.target_of(ex[1]), "4");
  EXPECT_EQ(ex[0].at("id"), "7");
  // Integers print as written at both ends of their range (2^64 - 1 once read as -1).
  EXPECT_EQ(ex[1].at("id"), "18446744073709551615");
  EXPECT_EQ(ex[1].at("n"), "-9223372036854775808");
  write_jsonl(dir / "copy.jsonl", ex);
  EXPECT_EQ(read_jsonl(dir / "copy.jsonl"), ex);
}

TEST(Task, ErrorsNameFileLineAndField) {
  test::TempDir dir;
  test::write_bytes(dir / "d.jsonl", "{\"a\": \"x\"}\n{\"a\": \"y\",}\n");
  test::expect_input_error([&] { read_jsonl(dir / "d.jsonl"); }, {"d.jsonl:2", "not valid JSON"});
  test::write_bytes(dir / "e.jsonl", "{\"a\": [1]}\n");
  test::expect_input_error([&] { read_jsonl(dir / "e.jsonl"); }, {"e.jsonl:1", "'a'"});
  test::write_bytes(dir / "f.jsonl", "[1, 2]\n");
  test::expect_input_error([&] { read_jsonl(dir / "f.jsonl"); }, {"f.jsonl:1", "object"});
  test::expect_input_error(
      [&] {
        TaskSpec::from_json(
            nlohmann::json::parse(R"({"name":"t","prompt":"{x","target":"y","metric":"accuracy"})"),
            "t.json");
      },
      {"t.json", "unclosed"});
  test::expect_input_error(
      [&] {
        TaskSpec::from_json(
            nlohmann::json::parse(R"({"name":"t","prompt":"{x}","target":"y","metric":"bleurt"})"),
            "t.json");
      },
      {"bleurt"});
  const auto spec = TaskSpec::from_json(
      nlohmann::json::parse(R"({"name":"t","prompt":"{x}","target":"y","metric":"bleu"})"),
      "t.json");
  test::expect_input_error([&] { spec.render_prompt({{"z", "1"}}); }, {"'x'"});
  test::expect_input_error([&] { spec.load_split("train"); }, {"no 'train' split"});
}
