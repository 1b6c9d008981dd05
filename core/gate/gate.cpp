#include "gate/gate.h"

#include "util/errors.h"
#include "util/strings.h"

namespace basin {

const char* gate_kind_name(GateKind kind) {
  switch (kind) {
    case GateKind::Mole:
      return "mole";
    case GateKind::Moa:
      return "moa";
    case GateKind::Arrow:
      return "arrow";
  }
  return "?";
}

GateKind parse_gate_kind(const std::string& name) {
  if (name == "mole") return GateKind::Mole;
  if (name == "moa") return GateKind::Moa;
  if (name == "arrow") return GateKind::Arrow;
  throw InputError("unknown gate kind '" + excerpt(name) + "' (expected mole, moa or arrow)");
}

std::vector<std::string> Gate::expert_names() const {
  std::vector<std::string> out;
  for (const auto& e : experts)
    out.push_back(e->name);
  return out;
}

LoraGate* Gate::token_gate() const {
  if (mole) return mole.get();
  if (arrow) return arrow.get();
  return nullptr;
}

int64_t Gate::trainable_parameters() const {
  if (mole) return mole->parameter_count();
  if (router) return router->weight().numel() + router->bias().numel();
  return 0;
}

void Gate::check_model(const CausalLM& model, const std::string& label) const {
  if (model.lora_bank_size() != size())
    throw InputError(label + ": the gate has " + std::to_string(size()) +
                     " experts but the model's LoRA bank holds " +
                     std::to_string(model.lora_bank_size()));
  if (mole) mole->check_model(model, label);
  if (arrow) arrow->check_model(model, label);
  if (router) router->check_model(model, label);
  if (!mole && !arrow && !router) throw Error("internal: an empty gate");
}

Routing Gate::route(const CausalLM& model, const at::Tensor& ids,
                    const at::Tensor& prompt_mask) const {
  Routing r;
  if (router) {
    r.coeffs = router->coefficients(router->logits(router->features(model, ids, prompt_mask)));
  } else {
    r.gate = token_gate();
  }
  return r;
}

}  // namespace basin
