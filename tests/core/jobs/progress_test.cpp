#include <gtest/gtest.h>

#include "jobs/progress.h"

using namespace basin::jobs;

TEST(Progress, ThrottlesToOnePercentStepsAndStageChanges) {
  std::vector<std::pair<double, std::string>> seen;
  CallbackProgress p([&](double f, const std::string& s) {
    seen.emplace_back(f, s);
    return true;
  });
  for (int i = 0; i <= 1000; ++i)
    p.report(i / 1000.0, "work");
  EXPECT_EQ(seen.size(), 101u);
  p.report(1.0, "other");
  EXPECT_EQ(seen.back().second, "other");
}

TEST(Progress, CallbackReturningFalseCancels) {
  CallbackProgress p([](double f, const std::string&) { return f < 0.5; });
  p.report(0.2, "x");
  EXPECT_FALSE(p.cancelled());
  p.report(0.6, "x");
  EXPECT_TRUE(p.cancelled());
  EXPECT_THROW(p.check_cancelled(), Cancelled);
}
