#include "test_support.h"

#include <unistd.h>

#include <fstream>
#include <random>
#include <sstream>

#include <nlohmann/json.hpp>

namespace fs = std::filesystem;

namespace basin::test {

TempDir::TempDir() {
  static std::mt19937_64 rng{std::random_device{}()};
  path_ = fs::temp_directory_path() /
          ("basin-test-" + std::to_string(::getpid()) + "-" + std::to_string(rng()));
  fs::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

RawTensor raw_f32(const std::string& name, const at::Tensor& t_in) {
  const auto t = t_in.to(torch::kFloat32).contiguous();
  RawTensor r;
  r.name = name;
  r.dtype = "F32";
  r.shape.assign(t.sizes().begin(), t.sizes().end());
  r.bytes.assign(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()) * 4);
  return r;
}

std::string raw_with_header(const std::string& header, const std::string& data) {
  std::string out(8, '\0');
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i)
    out[static_cast<size_t>(i)] = static_cast<char>((n >> (8 * i)) & 0xff);
  return out + header + data;
}

std::string raw_safetensors_bytes(const std::vector<RawTensor>& tensors,
                                  const std::map<std::string, std::string>& metadata) {
  // Hand-built JSON, tensors in the given order, no padding: a different layout from Basin's
  // writer, which the reader must accept all the same.
  std::ostringstream h;
  h << "{";
  bool first = true;
  if (!metadata.empty()) {
    h << "\"__metadata__\":{";
    bool f2 = true;
    for (const auto& [k, v] : metadata) {
      h << (f2 ? "" : ",") << nlohmann::json(k).dump() << ":" << nlohmann::json(v).dump();
      f2 = false;
    }
    h << "}";
    first = false;
  }
  std::string data;
  for (const auto& t : tensors) {
    h << (first ? "" : ",") << nlohmann::json(t.name).dump() << ":{\"dtype\":\"" << t.dtype
      << "\",\"shape\":[";
    for (size_t i = 0; i < t.shape.size(); ++i)
      h << (i ? "," : "") << t.shape[i];
    h << "],\"data_offsets\":[" << data.size() << "," << data.size() + t.bytes.size() << "]}";
    data += t.bytes;
    first = false;
  }
  h << "}";
  return raw_with_header(h.str(), data);
}

void write_bytes(const fs::path& path, const std::string& bytes) {
  std::ofstream f(path, std::ios::binary);
  f.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
}

std::string read_bytes(const fs::path& path) {
  std::ifstream f(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(f), {});
}

void write_peft_adapter(const fs::path& dir, const std::vector<TestModule>& modules,
                        const std::string& config_json) {
  fs::create_directories(dir);
  nlohmann::json cfg = {{"peft_type", "LORA"},
                        {"task_type", "CAUSAL_LM"},
                        {"r", 8},
                        {"lora_alpha", 16},
                        {"lora_dropout", 0.05},
                        {"bias", "none"},
                        {"fan_in_fan_out", false},
                        {"use_rslora", false},
                        {"use_dora", false},
                        {"rank_pattern", nlohmann::json::object()},
                        {"alpha_pattern", nlohmann::json::object()},
                        {"target_modules", {"q_proj", "v_proj"}},
                        {"base_model_name_or_path", "Qwen/Qwen2-0.5B"},
                        {"inference_mode", true}};
  if (!config_json.empty()) cfg.update(nlohmann::json::parse(config_json));
  std::ofstream(dir / "adapter_config.json") << cfg.dump(2);
  std::vector<RawTensor> raw;
  for (const auto& m : modules) {
    raw.push_back(raw_f32("base_model.model." + m.name + ".lora_A.weight", m.A));
    raw.push_back(raw_f32("base_model.model." + m.name + ".lora_B.weight", m.B));
  }
  write_bytes(dir / "adapter_model.safetensors", raw_safetensors_bytes(raw, {{"format", "pt"}}));
}

at::Tensor randn(std::vector<int64_t> shape, uint64_t seed) {
  auto g = at::detail::createCPUGenerator(seed);
  return torch::randn(shape, g, torch::kFloat32);
}

std::vector<std::string> list_files(const fs::path& dir) {
  std::vector<std::string> out;
  if (!fs::exists(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

double rel_err(const at::Tensor& a, const at::Tensor& b) {
  const auto A = a.to(torch::kFloat64), B = b.to(torch::kFloat64);
  const double denom = std::max(1e-30, B.abs().max().item<double>());
  return (A - B).abs().max().item<double>() / denom;
}

at::Tensor dense_truncate(const at::Tensor& M, int64_t k) {
  auto [U, S, Vh] = torch::linalg_svd(M.to(torch::kFloat64), false);
  k = std::min<int64_t>(k, S.size(0));
  return U.narrow(1, 0, k).mm(torch::diag(S.narrow(0, 0, k))).mm(Vh.narrow(0, 0, k));
}

}  // namespace basin::test
