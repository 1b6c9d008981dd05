// json_integer: integer fields read without the undefined float-to-int cast nlohmann's get<int>()
// does (UBSan findings of tests/fuzz, regressions/study/*), and the study sections that use it.
#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <iterator>
#include <limits>

#include <nlohmann/json.hpp>

#include "io/json_numbers.h"
#include "study/study.h"
#include "util/errors.h"

using namespace basin;
using nlohmann::json;

TEST(JsonInteger, AcceptsIntegersAndIntegralFloatsThatFit) {
  EXPECT_EQ(json_integer<int>(json(8), "k"), 8);
  EXPECT_EQ(json_integer<int>(json(8.0), "k"), 8);
  EXPECT_EQ(json_integer<int>(json(-3), "k"), -3);
  EXPECT_EQ(json_integer<int>(json(2147483647), "k"), 2147483647);
  EXPECT_EQ(json_integer<int64_t>(json(std::numeric_limits<int64_t>::min()), "k"),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json_integer<int64_t>(json(-9223372036854775808.0), "k"),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(json_integer<size_t>(json(uint64_t{18446744073709551615u}), "k"),
            std::numeric_limits<size_t>::max());
}

TEST(JsonInteger, RefusesWhatDoesNotFitOrIsNotAnInteger) {
  for (const json& v :
       {json(1e300), json(-1e300), json(2147483648), json(-2147483649), json(2147483648.0),
        json(8.5), json("8"), json(nullptr), json(true), json::array({1})}) {
    try {
      (void)json_integer<int>(v, "soup order");
      ADD_FAILURE() << "accepted " << v.dump();
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find("'soup order' must be an integer"), std::string::npos)
          << e.what();
    }
  }
  EXPECT_THROW((void)json_integer<size_t>(json(-1), "k"), InputError);
  EXPECT_THROW((void)json_integer<int64_t>(json(9223372036854775808.0), "k"), InputError);
  EXPECT_THROW((void)json_integer<int64_t>(json(uint64_t{9223372036854775808u}), "k"), InputError);
}

namespace {

// The study seed with every section (tests/fuzz/corpus/study/every_section).
json every_section() {
  std::ifstream in(std::string(BASIN_FUZZ_DIR) + "/corpus/study/every_section", std::ios::binary);
  return json::parse(std::string(std::istreambuf_iterator<char>(in), {}));
}

}  // namespace

// Each of these was 1e300 (or beyond the type) in a study file, converted with undefined
// behaviour to whatever the machine gave; now each is an InputError naming the field.
TEST(JsonInteger, StudySectionsRefuseHugeCounts) {
  const json ok = every_section();
  ASSERT_NO_THROW((void)Study::from_json(ok, "/s", "study.basin.json"));
  const std::vector<std::pair<json::json_pointer, std::string>> cases = {
      {json::json_pointer("/merges/0/modules"), "merges.modules"},
      {json::json_pointer("/soup/order/0"), "soup order"},
      {json::json_pointer("/soup/steps/0/accepted_k"), "soup accepted_k"},
      {json::json_pointer("/multitask/tables/0/task_count"), "multitask task_count"},
      {json::json_pointer("/landscape/limit"), "landscape limit"},
      {json::json_pointer("/gates/trainable_parameters"), "gates trainable_parameters"}};
  for (const auto& [where, key] : cases) {
    json j = ok;
    j[where] = 1e300;
    try {
      (void)Study::from_json(j, "/s", "study.basin.json");
      ADD_FAILURE() << where.to_string() << " = 1e300 accepted";
    } catch (const InputError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
}
