// Gates over a LoRA bank (MoLE, Arrow, the Mixture-of-LoRAs router), checked against
// independent references: the naive float64 per-token decoder with the gated ΔW written out
// token by token, dense SVDs, hand-computed losses and merged weight copies.
#include <cmath>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "gate/gate_folder.h"
#include "jobs/progress.h"
#include "lora/peft_io.h"
#include "model/generate.h"
#include "naive_lm.h"
#include "test_support.h"
#include "train/gate_training.h"
#include "util/errors.h"

using namespace basin;

namespace {

// A hand-set gate: coefficients G[t, k] per token position, the same at every site (scaled
// by `layer_scale`^layer so the per-site path is exercised too).
class FixedGate : public LoraGate {
 public:
  FixedGate(at::Tensor table, bool via_experts, double layer_scale = 1.0)
      : table_(std::move(table)), via_experts_(via_experts), layer_scale_(layer_scale) {}
  int64_t experts() const override { return table_.size(1); }
  bool needs_expert_outputs() const override { return via_experts_; }
  double at(int64_t layer, int64_t t, int64_t k) const {
    return table_[t][k].item<double>() * std::pow(layer_scale_, double(layer));
  }

 protected:
  at::Tensor compute(const GateSite& site, const at::Tensor& x, const at::Tensor&) override {
    const int64_t T = x.size(1);
    return (table_.narrow(0, 0, T) * std::pow(layer_scale_, double(site.layer)))
        .unsqueeze(0)
        .expand({x.size(0), T, table_.size(1)})
        .to(x.device(), torch::kFloat32);
  }

 private:
  at::Tensor table_;
  bool via_experts_;
  double layer_scale_;
};

// Σ_k G[t,k] s_k B_k A_k at `module` for token t, in float64 (zero where no expert has it).
test::TokenDeltas gated_deltas(const std::vector<std::shared_ptr<Adapter>>& bank,
                               std::function<double(int64_t layer, int64_t t, int64_t k)> g) {
  return [bank, g](const std::string& module, int64_t t) {
    at::Tensor sum;
    const int64_t layer = std::stoll(module.substr(13, module.find('.', 13) - 13));
    for (size_t k = 0; k < bank.size(); ++k)
      if (const auto* m = bank[k]->find(module)) {
        const auto d = test::D(m->B).mm(test::D(m->A)) * (m->scale * g(layer, t, int64_t(k)));
        sum = sum.defined() ? sum + d : d;
      }
    return sum;
  };
}

struct Bank {
  ModelConfig config = test::tiny_decoder_config();
  CausalLM base = test::tiny_decoder(config, 21);
  std::vector<std::shared_ptr<Adapter>> bank = {
      test::random_lora(base, "a", 2, 4.0, 100), test::random_lora(base, "b", 3, 1.5, 200),
      test::random_lora(base, "c", 2, 2.0, 300, "v_proj")};
  CausalLM model = base;
  Bank() { model.set_lora_bank({bank.begin(), bank.end()}); }
  std::vector<std::shared_ptr<const Adapter>> experts() const { return {bank.begin(), bank.end()}; }
};

const std::vector<int64_t> kIds{4, 8, 15, 16, 23, 4, 2};

at::Tensor gated_logits(const CausalLM& m, LoraGate& gate, const std::vector<int64_t>& ids = kIds) {
  LmForwardOptions o;
  o.gate = &gate;
  torch::NoGradGuard ng;
  return m.logits(torch::tensor(ids).view({1, -1}), o)[0];
}

}  // namespace

// Per-token coefficients through the bank (Arrow's route) and through expert outputs (MoLE's
// route) both equal the naive decoder with ΔW_t = Σ_k G[t,k] ΔW_k written out per token.
TEST(LoraGate, HandSetGateEqualsNaivePerTokenWeightedSum) {
  Bank b;
  const auto table = torch::tensor(std::vector<float>{0.2f,  0.5f, 0.3f,  1.0f, 0.0f, 0.0f,  0.0f,
                                                      0.0f,  1.0f, -0.4f, 0.7f, 0.9f, 0.5f,  0.25f,
                                                      0.25f, 0.3f, 0.3f,  0.4f, 0.9f, 0.05f, 0.05f})
                         .view({7, 3});
  for (bool via_experts : {false, true}) {
    FixedGate gate(table, via_experts, /*layer_scale=*/-0.5);
    const auto got = gated_logits(b.model, gate);
    const auto want = test::naive_logits(
        b.config, b.base.parameters(), kIds,
        gated_deltas(b.bank, [&](int64_t l, int64_t t, int64_t k) { return gate.at(l, t, k); }));
    // float32 forward against float64 token by token: 1e-5 of the largest logit.
    EXPECT_LT(test::rel_err(got, want), 1e-5) << via_experts;
  }
  // A gate that ignores position would differ: the test sees per-token coefficients.
  FixedGate flat(table[0].unsqueeze(0).expand({7, 3}).contiguous(), false);
  FixedGate varying(table, false);
  EXPECT_GT(test::rel_err(gated_logits(b.model, flat), gated_logits(b.model, varying)), 1e-3);
}

// A gate over one expert is that expert: softmax over one logit is 1 (MoLE), top-1 of one
// prototype gets weight 1 (Arrow), the router has one class.
TEST(LoraGate, OneExpertGateEqualsTheExpertMerged) {
  const auto config = test::tiny_decoder_config();
  const CausalLM base = test::tiny_decoder(config, 5);
  const auto a = test::random_lora(base, "only", 2, 4.0, 40);
  CausalLM model = base;
  model.set_lora_bank({a});
  CausalLM merged = test::tiny_decoder(config, 5);
  merged.merge_adapter(*a, 1.0);
  torch::NoGradGuard ng;
  const auto want = merged.logits(torch::tensor(kIds).view({1, -1}))[0];
  auto mole = MoleGate::create(model, MoleGranularity::Module, 0.7, 3);
  EXPECT_LT(test::rel_err(gated_logits(model, *mole), want), 1e-5);
  auto block = MoleGate::create(model, MoleGranularity::Block, 1.0, 3);
  EXPECT_LT(test::rel_err(gated_logits(model, *block), want), 1e-5);
  auto arrow = ArrowGate::build({a}, ArrowOptions{1, 1.0});
  EXPECT_LT(test::rel_err(gated_logits(model, *arrow), want), 1e-5);
}

// MoLE's gate at one site, recomputed by hand: standardise concat(E), project, softmax / τ.
TEST(MoleGate, GateIsSoftmaxOfStandardisedExpertOutputs) {
  Bank b;
  auto gate = MoleGate::create(b.model, MoleGranularity::Module, 0.5, 9);
  const std::string site = "model.layers.1.mlp.up_proj";
  auto& W = gate->weights().at(site);
  W = 0.1 * test::randn(W.sizes().vec(), 77);  // a gate far from uniform, not saturated
  const auto E = test::randn({1, 2, 3, 24}, 78);
  const auto x = test::randn({1, 2, 16}, 79);
  const auto G = gate->coefficients({site, 1}, x, E);
  for (int64_t t = 0; t < 2; ++t) {
    const auto e = test::D(E[0][t]).flatten();
    const double mean = e.mean().item<double>();
    const double var = (e - mean).pow(2).mean().item<double>();
    const auto z = torch::matmul((e - mean) / std::sqrt(var + 1e-5), test::D(W)) / 0.5;
    const auto want = torch::softmax(z, 0);
    // float32 gate vs float64 here, over a 72-long dot product: 1e-5.
    EXPECT_LT(test::rel_err(test::D(G[0][t]), want), 1e-5) << t;
  }
  // Masked experts get 0 and the rest renormalise.
  gate->set_active({true, false, true});
  gate->begin_forward(torch::ones({1, 2}));
  const auto Gm = gate->coefficients({site, 1}, x, E);
  EXPECT_EQ(Gm[0][0][1].item<float>(), 0.0f);
  EXPECT_NEAR(Gm[0][0].sum().item<double>(), 1.0, 1e-6);
  const double g0 = G[0][0][0].item<double>(), g2 = G[0][0][2].item<double>();
  EXPECT_NEAR(Gm[0][0][0].item<double>(), g0 / (g0 + g2), 1e-6);
  EXPECT_NEAR(Gm[0][0][2].item<double>(), g2 / (g0 + g2), 1e-6);
  EXPECT_THROW(gate->set_active({false, false, false}), InputError);
  EXPECT_THROW(gate->set_active({true}), InputError);
  EXPECT_THROW(MoleGate::create(b.model, MoleGranularity::Module, 0.0, 1), InputError);
  EXPECT_THROW(MoleGate::create(b.model, MoleGranularity::Module, std::nan(""), 1), InputError);
}

// L_balance = −Σ_i log q_i with q the token mean of the gates (padding excluded), averaged
// over gates. Case: G = [[0.9, 0.1], [0.5, 0.5]].
TEST(MoleGate, BalanceLossByHand) {
  const auto g1 = torch::tensor(std::vector<float>{0.9f, 0.1f, 0.5f, 0.5f}).view({1, 2, 2});
  const auto g2 = torch::tensor(std::vector<float>{0.5f, 0.5f, 0.5f, 0.5f}).view({1, 2, 2});
  const auto all = torch::ones({1, 2});
  // q = (0.7, 0.3): −(ln 0.7 + ln 0.3) = 1.560647748
  EXPECT_NEAR(mole_balance_loss({g1}, all).item<double>(), 1.560647748, 1e-6);
  // Second token is padding: q = (0.9, 0.1): −(ln 0.9 + ln 0.1) = 2.407945609
  const auto first = torch::tensor(std::vector<float>{1, 0}).view({1, 2});
  EXPECT_NEAR(mole_balance_loss({g1}, first).item<double>(), 2.407945609, 1e-6);
  // Even use is the minimum: 2 ln 2 = 1.386294361; the mean over two gates.
  EXPECT_NEAR(mole_balance_loss({g2}, all).item<double>(), 1.386294361, 1e-6);
  EXPECT_NEAR(mole_balance_loss({g1, g2}, all).item<double>(), (1.560647748 + 1.386294361) / 2,
              1e-6);
}

// Arrow's prototype is the top right singular vector of the dense ΔW (up to sign).
TEST(ArrowGate, PrototypesAreTopRightSingularVectorsOfDenseDelta) {
  Bank b;
  auto gate = ArrowGate::build(b.experts(), ArrowOptions{2, 1.0});
  int checked = 0;
  for (size_t k = 0; k < b.bank.size(); ++k)
    for (const auto& m : b.bank[k]->modules) {
      const auto dense = test::D(m.B).mm(test::D(m.A)) * m.scale;
      const auto v = std::get<2>(torch::linalg_svd(dense, false))[0];
      const auto p = test::D(gate->prototypes().at(m.name)[int64_t(k)]);
      // Unit vectors stored in float32: |⟨p, v⟩| = 1 within a few 2⁻²⁴.
      EXPECT_NEAR(std::abs(p.dot(v).item<double>()), 1.0, 1e-5) << m.name << " " << k;
      ++checked;
    }
  EXPECT_GT(checked, 20);
  // Expert c has only v_proj: its prototype row elsewhere is zero.
  EXPECT_EQ(gate->prototypes().at("model.layers.0.self_attn.q_proj")[2].abs().sum().item<double>(),
            0.0);
}

// Routing by hand at one site: |cos| scores, top-k, softmax / τ over the kept ones.
TEST(ArrowGate, RoutesTokensToTopKByAbsoluteCosine) {
  const auto P = torch::tensor(std::vector<float>{1, 0, 0, 0, 1, 0, 0, 0, 1}).view({3, 3});
  ArrowGate gate(3, ArrowOptions{2, 0.5}, {{"m", P}});
  const auto x = torch::tensor(std::vector<float>{-3, 1, 0.5f}).view({1, 1, 3});
  const auto G = gate.coefficients({"m", 0}, x, {});
  const double n = std::sqrt(9 + 1 + 0.25);
  const double s0 = 3 / n, s1 = 1 / n;  // expert 2 (0.5 / n) is dropped
  const double e0 = std::exp(s0 / 0.5), e1 = std::exp(s1 / 0.5);
  EXPECT_NEAR(G[0][0][0].item<double>(), e0 / (e0 + e1), 1e-6);
  EXPECT_NEAR(G[0][0][1].item<double>(), e1 / (e0 + e1), 1e-6);
  EXPECT_EQ(G[0][0][2].item<double>(), 0.0);
  EXPECT_THROW(ArrowGate(3, ArrowOptions{4, 1.0}, {{"m", P}}), InputError);
  EXPECT_THROW(ArrowGate(3, ArrowOptions{0, 1.0}, {{"m", P}}), InputError);
  EXPECT_THROW(ArrowGate(3, ArrowOptions{1, -1.0}, {{"m", P}}), InputError);
}

// Training moves only W_g, lowers the loss on data one expert explains, and the balance term
// pulls the average gate towards even use.
TEST(MoleGate, TrainingLowersTheLossAndCancelLeavesTheModelUntouched) {
  Bank b;
  std::vector<TrainExample> data;
  for (int i = 0; i < 6; ++i) {
    TrainExample e;
    e.ids = {1, 2 + i, 3, 4 + i, 5, 6};
    e.target = {0, 0, 0, 1, 1, 1};
    data.push_back(e);
  }
  const auto before = b.model.parameters().at("model.layers.0.self_attn.q_proj.weight").clone();
  MoleTrainOptions o;
  o.train.steps = 30;
  o.train.batch_size = 6;
  o.train.lr = 0.05;
  jobs::NullProgress p;
  TrainReport rep;
  const Gate g = train_mole_gate(b.model, b.experts(), data, o, p, &rep);
  ASSERT_EQ(rep.losses.size(), 30u);
  EXPECT_LT(rep.losses.back(), rep.losses.front());
  EXPECT_TRUE(
      torch::equal(before, b.model.parameters().at("model.layers.0.self_attn.q_proj.weight")));
  EXPECT_EQ(g.trainable_parameters(), g.mole->parameter_count());
  for (const auto& w : g.mole->parameters())
    EXPECT_FALSE(w.requires_grad());
  // Cancel on the 3rd report: Cancelled, and nothing else changes.
  int reports = 0;
  jobs::CallbackProgress cancel([&](double, const std::string&) { return ++reports < 3; });
  EXPECT_THROW(train_mole_gate(b.model, b.experts(), data, o, cancel), jobs::Cancelled);
  o.balance_alpha = -1;
  EXPECT_THROW(train_mole_gate(b.model, b.experts(), data, o, p), InputError);
}

// Save → load gives identical outputs for every kind; a changed or moved expert is refused.
TEST(GateFolder, SaveLoadRoundTripAndChangedExperts) {
  Bank b;
  test::TempDir dir;
  std::filesystem::create_directories(dir / "adapters");
  std::filesystem::create_directories(dir / "gates");
  std::vector<std::shared_ptr<const Adapter>> experts;
  for (const auto& a : b.bank) {
    save_peft_adapter(*a, dir / ("adapters/" + a->name));
    experts.push_back(load_peft_adapter(dir / ("adapters/" + a->name)));
  }
  CausalLM model = b.base;
  model.set_lora_bank(experts);
  jobs::NullProgress p;
  std::vector<Gate> gates;
  {
    Gate m;
    m.kind = GateKind::Mole;
    m.experts = experts;
    m.mole = MoleGate::create(model, MoleGranularity::Block, 0.8, 4);
    gates.push_back(std::move(m));
  }
  gates.push_back(build_arrow_gate(experts, ArrowOptions{2, 0.3}));
  {
    Gate r;
    r.kind = GateKind::Moa;
    r.experts = experts;
    r.router = std::make_unique<TaskRouter>(RouterOptions{1, 2, 0.5}, test::randn({16, 3}, 5),
                                            test::randn({3}, 6), test::randn({16}, 7),
                                            1.0 + test::randn({16}, 8).abs());
    gates.push_back(std::move(r));
  }
  const auto ids = torch::tensor(kIds).view({1, -1});
  for (auto& g : gates) {
    const std::string name = gate_kind_name(g.kind);
    const auto path = dir / ("gates/" + name);
    save_gate(g, path);
    const Gate back = load_gate(path);
    EXPECT_EQ(back.kind, g.kind);
    EXPECT_EQ(back.expert_names(), g.expert_names());
    back.check_model(model, "test");
    const auto r1 = g.route(model, ids, torch::ones_like(ids));
    const auto r2 = back.route(model, ids, torch::ones_like(ids));
    LmForwardOptions o1, o2;
    o1.lora_coeffs = r1.coeffs;
    o1.gate = r1.gate;
    o2.lora_coeffs = r2.coeffs;
    o2.gate = r2.gate;
    torch::NoGradGuard ng;
    EXPECT_TRUE(torch::equal(model.logits(ids, o1), model.logits(ids, o2))) << name;
    EXPECT_THROW(save_gate(g, path), InputError);  // exists, no overwrite
  }
  // A changed expert: rewrite adapter "b" with other factors.
  save_peft_adapter(*test::random_lora(b.base, "b", 3, 1.5, 999), dir / "adapters/b",
                    SaveOptions{true});
  try {
    (void)load_gate(dir / "gates/arrow");
    ADD_FAILURE() << "a changed expert was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("'b'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("changed"), std::string::npos) << e.what();
  }
  // A moved expert.
  std::filesystem::rename(dir / "adapters/a", dir / "adapters/a-moved");
  try {
    (void)load_gate(dir / "gates/mole");
    ADD_FAILURE() << "a moved expert was accepted";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("missing"), std::string::npos) << e.what();
  }
  // A model whose bank does not fit.
  const Gate arrow = build_arrow_gate(experts, ArrowOptions{1, 1.0});
  CausalLM two = b.base;
  two.set_lora_bank({experts[0], experts[1]});
  EXPECT_THROW(arrow.check_model(two, "test"), InputError);
  // Unknown keys and a wrong format are refused with the key named.
  std::filesystem::create_directories(dir / "bad");
  test::write_bytes(
      dir / "bad/gate.json",
      R"({"format":"basin-gate","version":1,"kind":"arrow","experts":[],"settings":{},"extra":1})");
  try {
    (void)load_gate(dir / "bad");
    ADD_FAILURE();
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("extra"), std::string::npos) << e.what();
  }
}

// The router picks one expert per sequence (one-hot) or mixes its top k with a softmax.
TEST(TaskRouter, CoefficientsAreTopOneOrSoftTopK) {
  TaskRouter hard(RouterOptions{-1, 1, 1.0}, torch::zeros({4, 3}), torch::zeros({3}),
                  torch::zeros({4}), torch::ones({4}));
  const auto logits =
      torch::tensor(std::vector<float>{0.1f, 2.0f, 1.0f, 3.0f, -1.0f, 0.0f}).view({2, 3});
  const auto c = hard.coefficients(logits);
  EXPECT_TRUE(torch::equal(c, torch::tensor(std::vector<float>{0, 1, 0, 1, 0, 0}).view({2, 3})));
  TaskRouter soft(RouterOptions{-1, 2, 0.5}, torch::zeros({4, 3}), torch::zeros({3}),
                  torch::zeros({4}), torch::ones({4}));
  const auto s = soft.coefficients(logits);
  const double e2 = std::exp(2.0 / 0.5), e1 = std::exp(1.0 / 0.5);
  EXPECT_NEAR(s[0][1].item<double>(), e2 / (e1 + e2), 1e-6);
  EXPECT_NEAR(s[0][2].item<double>(), e1 / (e1 + e2), 1e-6);
  EXPECT_EQ(s[0][0].item<double>(), 0.0);
  EXPECT_THROW(TaskRouter(RouterOptions{-1, 4, 1.0}, torch::zeros({4, 3}), torch::zeros({3}),
                          torch::zeros({4}), torch::ones({4})),
               InputError);
}
