#include "gate/gate_folder.h"

#include <cmath>
#include <set>

#include "io/json_file.h"
#include "io/json_numbers.h"
#include "io/safetensors.h"
#include "io/tensor_torch.h"
#include "lora/peft_io.h"
#include "util/atomic_file.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace basin {
namespace {

constexpr const char* kFormat = "basin-gate";
constexpr int kVersion = 1;

// Typed access to gate.json with errors naming the file and key.
struct Reader {
  std::string file;
  const json& field(const json& obj, const std::string& key, const std::string& where) const {
    if (!obj.is_object() || !obj.contains(key))
      throw InputError("'" + file + "': missing key '" + where + key + "'");
    return obj.at(key);
  }
  std::string str(const json& obj, const std::string& key, const std::string& where = "") const {
    const auto& v = field(obj, key, where);
    if (!v.is_string()) throw InputError("'" + file + "': '" + where + key + "' must be a string");
    return v.get<std::string>();
  }
  double num(const json& obj, const std::string& key, const std::string& where = "") const {
    const auto& v = field(obj, key, where);
    if (!v.is_number() || !std::isfinite(v.get<double>()))
      throw InputError("'" + file + "': '" + where + key + "' must be a finite number");
    return v.get<double>();
  }
  int64_t integer(const json& obj, const std::string& key, const std::string& where = "") const {
    const auto& v = field(obj, key, where);
    if (!v.is_number_integer())
      throw InputError("'" + file + "': '" + where + key + "' must be an integer");
    return v.get<int64_t>();
  }
  void only(const json& obj, const std::set<std::string>& keys, const std::string& where) const {
    if (!obj.is_object())
      throw InputError("'" + file + "': '" + (where.empty() ? "(top level)" : where) +
                       "' must be a JSON object");
    for (const auto& [k, v] : obj.items())
      if (!keys.count(k))
        throw InputError("'" + file + "': unknown key '" + where + excerpt(k) +
                         "' (this Basin does not implement it)");
  }
};

std::vector<double> numbers_of(const Reader& rd, const json& obj, const std::string& key) {
  std::vector<double> out;
  if (!obj.contains(key)) return out;
  const auto& a = obj.at(key);
  if (!a.is_array()) throw InputError("'" + rd.file + "': 'record." + key + "' must be an array");
  for (const auto& v : a)
    out.push_back(v.is_number() ? v.get<double>() : std::nan(""));
  return out;
}

}  // namespace

json gate_record_to_json(const GateRecord& r) {
  return {{"tasks", r.tasks},
          {"steps", r.steps},
          {"batch_size", r.batch_size},
          {"lr", r.lr},
          {"balance_alpha", r.balance_alpha},
          {"seed", r.seed},
          {"train_seconds", r.train_seconds},
          {"losses", json_numbers(r.losses)},
          {"routing_accuracy", json_numbers(r.routing_accuracy)}};
}

void save_gate(const Gate& gate, const fs::path& dir, bool overwrite) {
  if (gate.experts.empty()) throw InputError("a gate without experts cannot be saved");
  const fs::path target = fs::absolute(dir).lexically_normal();
  json experts = json::array();
  for (const auto& e : gate.experts) {
    if (e->path.empty() || e->content_hash.empty())
      throw InputError("expert '" + e->name +
                       "' was not loaded from a PEFT folder; save it first, then train the gate");
    experts.push_back({{"name", e->name},
                       {"path", fs::relative(fs::absolute(e->path), target).generic_string()},
                       {"sha256", e->content_hash}});
  }
  json settings;
  std::vector<at::Tensor> keep;
  std::vector<TensorBytes> tensors;
  const auto add = [&](const std::string& name, const at::Tensor& t) {
    keep.push_back(t.detach().to(torch::kCPU, torch::kFloat32).contiguous());
    tensors.push_back(tensor_bytes(name, keep.back()));
  };
  if (gate.mole) {
    settings = {{"granularity", granularity_name(gate.mole->granularity())},
                {"temperature", gate.mole->temperature()}};
    for (const auto& [key, w] : gate.mole->weights())
      add("mole." + key, w);
  } else if (gate.arrow) {
    settings = {{"top_k", gate.arrow->options().top_k},
                {"temperature", gate.arrow->options().temperature}};
    for (const auto& [module, p] : gate.arrow->prototypes())
      add("arrow." + module, p);
  } else if (gate.router) {
    const auto& r = *gate.router;
    settings = {{"layer", r.options().layer},
                {"top_k", r.options().top_k},
                {"temperature", r.options().temperature}};
    add("router.weight", r.weight());
    add("router.bias", r.bias());
    add("router.mean", r.mean());
    add("router.std", r.std());
  } else {
    throw Error("internal: saving an empty gate");
  }
  const json j = {
      {"format", kFormat},  {"version", kVersion},  {"kind", gate_kind_name(gate.kind)},
      {"experts", experts}, {"settings", settings}, {"record", gate_record_to_json(gate.record)}};
  write_folder_atomic(dir, overwrite, [&](const fs::path& tmp) {
    write_safetensors(tmp / kGateWeightsFile, tensors, {{"format", "pt"}, {"basin", kFormat}});
    write_json_file(tmp / kGateConfigFile, j);
  });
}

Gate load_gate(const fs::path& dir) {
  if (!fs::is_directory(dir)) throw InputError("gate folder '" + dir.string() + "' does not exist");
  const fs::path cfg = dir / kGateConfigFile;
  if (!fs::exists(cfg))
    throw InputError("'" + dir.string() + "' is not a gate folder (no " + kGateConfigFile + ")");
  const json j = read_json_file(cfg);
  const Reader rd{cfg.string()};
  if (!j.is_object()) throw InputError("'" + cfg.string() + "' is not a JSON object");
  rd.only(j, {"format", "version", "kind", "experts", "settings", "record"}, "");
  if (rd.str(j, "format") != kFormat)
    throw InputError("'" + cfg.string() + "': format is '" + excerpt(rd.str(j, "format")) +
                     "', expected '" + kFormat + "'");
  if (rd.integer(j, "version") != kVersion)
    throw InputError("'" + cfg.string() + "': gate format version " +
                     std::to_string(rd.integer(j, "version")) + " is not supported (expected " +
                     std::to_string(kVersion) + ")");
  Gate g;
  g.kind = parse_gate_kind(rd.str(j, "kind"));
  const auto& ex = rd.field(j, "experts", "");
  if (!ex.is_array() || ex.empty())
    throw InputError("'" + cfg.string() + "': 'experts' must be a non-empty array");
  for (size_t i = 0; i < ex.size(); ++i) {
    const std::string where = "experts[" + std::to_string(i) + "].";
    rd.only(ex[i], {"name", "path", "sha256"}, where);
    const std::string name = rd.str(ex[i], "name", where), rel = rd.str(ex[i], "path", where),
                      hash = rd.str(ex[i], "sha256", where);
    const fs::path p = (dir / rel).lexically_normal();
    std::error_code ec;  // a path too long for the system is "missing", not an exception
    if (!fs::is_directory(p, ec))
      throw InputError("gate '" + dir.string() + "': expert '" + excerpt(name) +
                       "' is missing (no folder at '" + excerpt(p.string(), 200) +
                       "'); was it moved?");
    auto a = load_peft_adapter(p);
    if (a->content_hash != hash)
      throw InputError("gate '" + dir.string() + "': expert '" + excerpt(name) + "' at '" +
                       p.string() + "' has changed since the gate was made (SHA-256 differs)");
    a->name = name;
    g.experts.push_back(std::move(a));
  }
  const auto K = static_cast<int64_t>(g.experts.size());
  const auto& st = rd.field(j, "settings", "");
  const SafetensorsReader weights(dir / kGateWeightsFile);
  const auto tensor = [&](const std::string& name) {
    const auto* t = weights.find(name);
    if (!t) throw InputError("'" + weights.path().string() + "' lacks tensor '" + name + "'");
    if (!is_floating(t->dtype))
      throw InputError("'" + weights.path().string() + "': tensor '" + name +
                       "' is not floating point");
    auto out = tensor_view(weights, *t).to(torch::kFloat32).clone();
    require_finite(out, "'" + weights.path().string() + "' tensor '" + name + "'");
    return out;
  };
  const auto prefixed = [&](const std::string& prefix) {
    std::map<std::string, at::Tensor> out;
    for (const auto& t : weights.tensors())
      if (t.name.compare(0, prefix.size(), prefix) == 0)
        out[t.name.substr(prefix.size())] = tensor(t.name);
    if (out.empty())
      throw InputError("'" + weights.path().string() + "' holds no '" + prefix + "*' tensors");
    return out;
  };
  switch (g.kind) {
    case GateKind::Mole:
      rd.only(st, {"granularity", "temperature"}, "settings.");
      g.mole =
          std::make_unique<MoleGate>(K, parse_granularity(rd.str(st, "granularity", "settings.")),
                                     rd.num(st, "temperature", "settings."), prefixed("mole."));
      break;
    case GateKind::Arrow: {
      rd.only(st, {"top_k", "temperature"}, "settings.");
      ArrowOptions o;
      o.top_k = rd.integer(st, "top_k", "settings.");
      o.temperature = rd.num(st, "temperature", "settings.");
      g.arrow = std::make_unique<ArrowGate>(K, o, prefixed("arrow."));
      break;
    }
    case GateKind::Moa: {
      rd.only(st, {"layer", "top_k", "temperature"}, "settings.");
      RouterOptions o;
      const auto layer = rd.integer(st, "layer", "settings.");
      if (layer < -1 || layer > 100000)
        throw InputError("'" + cfg.string() + "': settings.layer " + std::to_string(layer) +
                         " is out of range");
      o.layer = static_cast<int>(layer);
      o.top_k = rd.integer(st, "top_k", "settings.");
      o.temperature = rd.num(st, "temperature", "settings.");
      g.router = std::make_unique<TaskRouter>(o, tensor("router.weight"), tensor("router.bias"),
                                              tensor("router.mean"), tensor("router.std"));
      if (g.router->experts() != K)
        throw InputError("'" + weights.path().string() + "': the router has " +
                         std::to_string(g.router->experts()) + " outputs for " + std::to_string(K) +
                         " experts");
      break;
    }
  }
  if (j.contains("record")) {
    const auto& r = j.at("record");
    if (!r.is_object()) throw InputError("'" + cfg.string() + "': 'record' must be an object");
    try {
      if (r.contains("tasks")) g.record.tasks = r.at("tasks").get<std::vector<std::string>>();
      if (r.contains("steps")) g.record.steps = r.at("steps").get<int64_t>();
      if (r.contains("batch_size")) g.record.batch_size = r.at("batch_size").get<int64_t>();
      if (r.contains("lr")) g.record.lr = r.at("lr").get<double>();
      if (r.contains("balance_alpha")) g.record.balance_alpha = r.at("balance_alpha").get<double>();
      if (r.contains("seed")) g.record.seed = r.at("seed").get<uint64_t>();
      if (r.contains("train_seconds")) g.record.train_seconds = r.at("train_seconds").get<double>();
    } catch (const json::exception&) {
      throw InputError("'" + cfg.string() + "': a 'record' field has the wrong type");
    }
    g.record.losses = numbers_of(rd, r, "losses");
    g.record.routing_accuracy = numbers_of(rd, r, "routing_accuracy");
  }
  return g;
}

}  // namespace basin
