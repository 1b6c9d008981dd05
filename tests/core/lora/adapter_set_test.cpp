#include <gtest/gtest.h>

#include "lora/adapter_set.h"
#include "lora/peft_io.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;

TEST(AdapterSet, RefusesShapeMismatchNamingModuleAndShapes) {
  test::TempDir dir;
  test::write_peft_adapter(
      dir / "a",
      {{"model.layers.0.self_attn.q_proj", test::randn({8, 16}, 1), test::randn({16, 8}, 2)}}, "");
  test::write_peft_adapter(
      dir / "b",
      {{"model.layers.0.self_attn.q_proj", test::randn({8, 32}, 1), test::randn({16, 8}, 2)}}, "");
  AdapterSet s;
  s.add(load_peft_adapter(dir / "a"));
  try {
    s.add(load_peft_adapter(dir / "b"));
    FAIL();
  } catch (const IncompatibleError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'b'"), std::string::npos) << m;
    EXPECT_NE(m.find("model.layers.0.self_attn.q_proj"), std::string::npos) << m;
    EXPECT_NE(m.find("[16, 32]"), std::string::npos) << m;
    EXPECT_NE(m.find("[16, 16]"), std::string::npos) << m;
  }
  EXPECT_EQ(s.size(), 1u);
  // The same folder name twice is told apart by its parent folder, then a counter.
  s.add(load_peft_adapter(dir / "a"));
  s.add(load_peft_adapter(dir / "a"));
  EXPECT_EQ(s[1].name, dir.path().filename().string() + "/a");
  EXPECT_EQ(s[2].name, "a #2");
}

TEST(AdapterSet, UnionOfModulesInNaturalOrderAndBaseModelWarning) {
  test::TempDir dir;
  test::write_peft_adapter(
      dir / "a",
      {{"model.layers.10.self_attn.q_proj", test::randn({2, 4}, 1), test::randn({4, 2}, 2)}},
      R"({"r": 2})");
  test::write_peft_adapter(
      dir / "b",
      {{"model.layers.2.self_attn.q_proj", test::randn({2, 4}, 1), test::randn({4, 2}, 2)}},
      R"({"r": 2, "base_model_name_or_path": "other/model"})");
  AdapterSet s;
  s.add(load_peft_adapter(dir / "a"));
  const auto warnings = s.add(load_peft_adapter(dir / "b"));
  ASSERT_EQ(s.modules().size(), 2u);
  EXPECT_EQ(s.modules()[0].name, "model.layers.2.self_attn.q_proj");
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("other/model"), std::string::npos);
}
