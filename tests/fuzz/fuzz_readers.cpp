#include "fuzz_readers.h"

#include <cstddef>
#include <cstdint>
#include <map>
#include <stdexcept>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "demo/kit_manifest.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "lora/peft_config.h"
#include "model/model_config.h"
#include "study/study.h"
#include "text/tokenizer.h"
#include "util/errors.h"

namespace basin::fuzz {
namespace {

// A property the reader promises about what it accepted; a broken one is a finding, reported
// as an exception that is not an InputError.
void require(bool ok, const std::string& what) {
  if (!ok) throw std::logic_error("broken promise: " + what);
}

// Two-part inputs (tokenizer + text, task spec + JSONL) split at the first NUL byte: JSON text
// never holds a raw NUL, so the first part is always the whole file.
std::pair<std::string_view, std::optional<std::string_view>> split_at_nul(std::string_view d) {
  const size_t nul = d.find('\0');
  if (nul == std::string_view::npos) return {d, std::nullopt};
  return {d.substr(0, nul), d.substr(nul + 1)};
}

// safetensors: the header parser on the whole file's bytes. What it accepts must be what the
// tensor views rely on: non-negative dims, offsets inside the data section, bytes = numel x size.
void read_safetensors(std::string_view d) {
  std::vector<TensorInfo> tensors;
  std::map<std::string, std::string> meta;
  size_t data_offset = 0;
  const auto* bytes = reinterpret_cast<const std::byte*>(d.data());
  SafetensorsReader::parse(bytes, d.size(), "fuzz/adapter_model.safetensors", tensors, meta,
                           data_offset);
  require(data_offset <= d.size(), "data section starts inside the file");
  unsigned sum = 0;
  for (const TensorInfo& t : tensors) {
    for (int64_t dim : t.shape)
      require(dim >= 0, "tensor dims are non-negative");
    require(t.begin <= t.end && t.end <= d.size() - data_offset, "tensor bytes in the file");
    require(static_cast<uint64_t>(t.numel()) * dtype_size(t.dtype) == t.nbytes(),
            "tensor bytes = numel x dtype size");
    for (uint64_t i = t.begin; i < t.end; ++i)  // touch every byte a tensor view would read
      sum += static_cast<unsigned>(bytes[data_offset + i]);
  }
  volatile unsigned sink = sum;
  (void)sink;
}

// adapter_config.json, then what loading an adapter asks of it for typical module paths.
void read_adapter_config(std::string_view d) {
  const std::string label = "fuzz/adapter_config.json";
  const PeftLoraConfig c = PeftLoraConfig::from_json(parse_json_text(d, label), label);
  for (const char* module : {"model.layers.0.self_attn.q_proj", "model.layers.11.mlp.down_proj",
                             "transformer.h.3.attn.c_attn", "lm_head"}) {
    require(c.rank_for(module) > 0, "ranks are positive");
    (void)c.alpha_for(module);
    (void)c.scale_for(module);
    (void)c.targets(module);
  }
  // What Basin writes for a config must read back.
  try {
    (void)PeftLoraConfig::from_json(nlohmann::json::parse(c.to_json().dump()), label);
  } catch (const InputError& e) {
    require(false, std::string("written adapter config reads back: ") + e.what());
  }
}

// config.json of a model; what Basin writes for it must read back.
void read_model_config(std::string_view d) {
  const std::string label = "fuzz/config.json";
  const ModelConfig c = ModelConfig::from_json(parse_json_text(d, label), label);
  try {
    (void)ModelConfig::from_json(c.to_json(), label);
  } catch (const InputError& e) {
    require(false, std::string("written model config reads back: ") + e.what());
  }
}

// tokenizer.json [NUL text]: load, then encode and decode the text (a fixed mixed-script text
// when there is none).
void read_tokenizer(std::string_view d) {
  const std::string label = "fuzz/tokenizer.json";
  const auto [file, text_part] = split_at_nul(d);
  const Tokenizer tok =
      Tokenizer::from_json(parse_json_text(file, label, {kMaxTokenizerJsonBytes}), label);
  const std::string_view text =
      text_part ? *text_part : std::string_view("Hello, wörld! 123 <s> 你好 \xF0\x9F\x98\x80\r\n");
  for (bool special : {false, true}) {
    const std::vector<int32_t> ids = tok.encode(text, special);
    for (int32_t id : ids)
      require(id >= 0 && static_cast<size_t>(id) < tok.vocab_size(), "ids below vocab_size");
    (void)tok.decode(ids, special);
    for (int32_t id : ids)
      (void)tok.token_to_id(tok.id_to_token(id));
  }
}

// task spec [NUL JSONL]: the spec, its examples, and each example's prompt and target.
void read_task(std::string_view d) {
  const std::string label = "fuzz/task.json";
  const auto [spec_text, jsonl] = split_at_nul(d);
  const TaskSpec spec = TaskSpec::from_json(parse_json_text(spec_text, label), label);
  try {
    (void)TaskSpec::from_json(spec.to_json(), label);
  } catch (const InputError& e) {
    require(false, std::string("written task spec reads back: ") + e.what());
  }
  if (!jsonl) return;
  for (const Example& ex : parse_jsonl(*jsonl, "fuzz/test.jsonl")) {
    try {
      (void)spec.render_prompt(ex);
      (void)spec.target_of(ex);
    } catch (const InputError& e) {  // an example without a field the prompt uses
      require(std::string_view(e.what()).size() <= kMaxMessage, "short example message");
    }
  }
}

// A study file (the GUI's File > Open).
void read_study(std::string_view d) {
  const std::string label = "fuzz/study.basin.json";
  (void)Study::from_json(parse_json_text(d, label), "/fuzz", label);
}

// kit.json of a demo kit (basin-cli demo --kit, the GUI's Demo kit button, demo-kit reuse).
void read_kit_manifest(std::string_view d) {
  const KitManifest m =
      KitManifest::from_json(parse_json_text(d, "fuzz/kit.json"), "fuzz/kit.json");
  for (const auto* names : {&m.tasks, &m.adapters})
    for (const std::string& n : *names)
      require(!n.empty() && n != "." && n != ".." && n.find('/') == std::string::npos,
              "kit names are plain folder names");
}

}  // namespace

const std::vector<FuzzReader>& fuzz_readers() {
  static const std::vector<FuzzReader> readers = {
      {"safetensors", read_safetensors},
      {"adapter_config", read_adapter_config},
      {"model_config", read_model_config},
      {"tokenizer", read_tokenizer},
      {"task", read_task},
      {"study", read_study},
      {"kit_manifest", read_kit_manifest},
  };
  return readers;
}

const FuzzReader* find_fuzz_reader(std::string_view name) {
  for (const FuzzReader& r : fuzz_readers())
    if (r.name == name) return &r;
  return nullptr;
}

std::optional<std::string> read_input(const FuzzReader& reader, std::string_view data) {
  try {
    reader.read(data);
    return std::nullopt;
  } catch (const InputError& e) {
    return std::string(e.what());
  }
}

}  // namespace basin::fuzz
