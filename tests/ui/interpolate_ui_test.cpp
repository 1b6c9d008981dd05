// The Interpolate view, offscreen (label ui): its loss curve at α = 0 and α = 1 is each endpoint
// evaluated alone — an adapter, the base model, a TIES merge — computed here independently
// through core's evaluator with a bank of that one adapter; the live answers follow the slider.
#include <ATen/ATen.h>  // before Qt: no macro clashes (slots, emit)
#include <gtest/gtest.h>

#include <QApplication>
#include <QSignalSpy>

#include <algorithm>
#include <cmath>

#include "adapter_panel.h"
#include "interpolate_view.h"
#include "landscape/workbench.h"
#include "lora/peft_io.h"
#include "merge/merge.h"
#include "merge_view.h"
#include "test_support.h"
#include "tiny_kit.h"

namespace fs = std::filesystem;
using namespace basin;
using basin::ui::MainWindow;
using namespace basin::test::uikit;

namespace {

// The loss of each of `points` over the setup's evaluation set, the bank holding only `bank`.
std::vector<double> reference_losses(const LandscapeSetup& setup,
                                     std::vector<std::shared_ptr<const Adapter>> bank,
                                     const std::vector<Point>& points) {
  jobs::NullProgress np;
  const auto bench = Workbench::open(setup, std::move(bank), np);
  std::vector<double> out;
  for (const auto& s : bench->evaluator().evaluate(points, np))
    out.push_back(s.loss);
  return out;
}

size_t index_of(const std::vector<double>& alphas, double a) {
  const auto it =
      std::find_if(alphas.begin(), alphas.end(), [a](double x) { return std::abs(x - a) < 1e-12; });
  EXPECT_NE(it, alphas.end()) << "α = " << a << " is not on the grid";
  return static_cast<size_t>(it - alphas.begin());
}

// The view evaluates θ(α) through a bank of every included adapter (plus merges) and batches
// many rows; the reference uses a bank of one adapter and other batches. Both are float32
// forward passes whose sums run in a different order, so they agree to a few float32 ulps per
// accumulation, ~1e-6 relative over a two-layer model: 1e-5 of the largest loss bounds that
// with room, and is far below any real difference between two endpoints (≥ 1e-2 here).
double tolerance(const Curve& c) {
  return 1e-5 * *std::max_element(c.loss.begin(), c.loss.end());
}

bool run_pair(MainWindow& w, const QString& a, const QString& b) {
  QSignalSpy done(&w, &MainWindow::interpolate_finished);
  EXPECT_TRUE(w.interpolate_view()->set_endpoints(a, b));
  if (!w.jobs()->busy()) w.run_interpolate();  // choosing the pair may have started it
  return done.wait(60000) && wait_idle(w);
}

}  // namespace

TEST(UiInterpolate, EndsOfTheCurveAreEachEndpointAloneAndAnswersFollowTheSlider) {
  test::TempDir dir;
  const TinyKit kit = make_kit(dir.path());
  fail_on_dialog();
  MainWindow w;
  w.show();
  QSignalSpy sim(&w, &MainWindow::similarity_updated);
  w.open_adapters(kit.adapters);
  ASSERT_TRUE(sim.wait(30000));
  ASSERT_TRUE(wait_idle(w));
  const LandscapeSetup setup = w.landscape_setup();
  ASSERT_EQ(setup.tasks.size(), 2u);

  auto* view = w.interpolate_view();
  w.show_view(7);
  view->set_intervals(4);  // α = −0.5, 0, 0.5, 1, 1.5
  QSignalSpy answers(view, &ui::InterpolateView::answers_shown);
  ASSERT_TRUE(run_pair(w, "adapter:copy", "base"));
  ASSERT_TRUE(view->curve().has_value());
  const Curve adapter_base = *view->curve();
  ASSERT_EQ(adapter_base.alpha.size(), 5u);

  AdapterSet set;
  for (const auto& p : kit.adapters)
    set.add(load_peft_adapter(p.toStdString()));
  const auto copy = set.ptr(0);
  ASSERT_EQ(copy->name, "copy");
  const auto ref = reference_losses(setup, {copy}, {Point{1.0}, Point{0.0}});
  const double tol = tolerance(adapter_base);
  EXPECT_NEAR(adapter_base.loss[index_of(adapter_base.alpha, 1.0)], ref[0], tol);  // A = copy
  EXPECT_NEAR(adapter_base.loss[index_of(adapter_base.alpha, 0.0)], ref[1], tol);  // B = base
  EXPECT_GT(std::abs(ref[0] - ref[1]), 100 * tol);  // the two ends really differ

  // The answers came for the slider's α: 2 prompts of each of the 2 tasks.
  if (answers.isEmpty()) ASSERT_TRUE(answers.wait(30000));
  EXPECT_EQ(view->answer_count(), 4);
  EXPECT_NEAR(view->answers_alpha(), view->alpha(), 1e-12);
  // Moving the slider several times answers only for where it stops.
  answers.clear();
  view->set_alpha(0.2);
  view->set_alpha(0.9);
  view->set_alpha(1.0);
  ASSERT_TRUE(answers.wait(30000));
  while (answers.wait(800)) {
  }
  EXPECT_NEAR(answers.back().at(0).toDouble(), 1.0, 1e-12);
  EXPECT_NEAR(view->answers_alpha(), 1.0, 1e-12);

  // Endpoint B a TIES merge of the set with the Merge view's parameters.
  ASSERT_TRUE(run_pair(w, "adapter:copy", "merge:ties"));
  ASSERT_TRUE(view->curve().has_value());
  const Curve adapter_ties = *view->curve();
  MergeRecipe recipe = w.merge_view()->recipe();
  recipe.method = MergeMethod::Ties;
  recipe.weights = w.adapter_panel()->included_weights();
  jobs::NullProgress np;
  const auto ties = std::make_shared<const Adapter>(merge(set, recipe, np));
  const auto ref_ties = reference_losses(setup, {ties}, {Point{1.0}});
  EXPECT_NEAR(adapter_ties.loss[index_of(adapter_ties.alpha, 0.0)], ref_ties[0],
              tolerance(adapter_ties));
  EXPECT_NEAR(adapter_ties.loss[index_of(adapter_ties.alpha, 1.0)], ref[0],
              tolerance(adapter_ties));
  EXPECT_GT(std::abs(ref_ties[0] - ref[1]), 100 * tolerance(adapter_ties));  // not the base
}
