// Every JSON reader Basin has, given the files a careless or hostile user can give it: a bomb
// per reader (300,000-deep nesting, a 10 MB string, 1e999, invalid UTF-8, a duplicate key at a
// key the reader checks) and a wrong value of every JSON type at every key. Each must end in an
// InputError with a short message naming the file (and the key where there is one), never a
// crash or another exception.
#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <limits>

#include <nlohmann/json.hpp>

#include "data/task.h"
#include "eval/oracle_scores.h"
#include "gate/gate_folder.h"
#include "io/json_file.h"
#include "io/safetensors.h"
#include "lora/peft_config.h"
#include "lora/peft_io.h"
#include "model/model_config.h"
#include "naive_lm.h"
#include "report/oracle_vs_base.h"
#include "study/study.h"
#include "test_support.h"
#include "text/tokenizer.h"
#include "train/gate_training.h"
#include "util/errors.h"

using namespace basin;
using nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr size_t kMaxMessage = 600;  // whatever the input, a message quotes only excerpts

// A reader under test: `load` reads `text` as the reader's file (written under `dir`) and
// returns normally or throws. `file` is the name its messages must quote.
struct ReaderCase {
  std::string name;
  std::string file;
  std::function<void(const test::TempDir& dir, const std::string& text)> load;
};

// Runs `f`; an InputError is fine when its message is short and holds `parts`; success is fine
// when `ok_allowed`; anything else (another exception) fails the test naming `what`.
void expect_input_error(const std::string& what, const std::function<void()>& f,
                        const std::vector<std::string>& parts, bool ok_allowed = false) {
  try {
    f();
    if (!ok_allowed) ADD_FAILURE() << what << ": accepted";
  } catch (const InputError& e) {
    const std::string m = e.what();
    EXPECT_LE(m.size(), kMaxMessage) << what << ": " << m.substr(0, 2000);
    for (const auto& p : parts)
      EXPECT_NE(m.find(p), std::string::npos) << what << ": " << m << "\nlacks: " << p;
  } catch (const std::exception& e) {
    ADD_FAILURE() << what << ": not an InputError: " << std::string(e.what()).substr(0, 300);
  }
}

// ---------------------------------------------------------------- valid files of each reader

const char* kAdapterConfig =
    R"({"peft_type": "LORA", "r": @V@, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
        "rank_pattern": {"q_proj": 4}, "alpha_pattern": {"v_proj": 8}, "use_rslora": false,
        "fan_in_fan_out": false, "bias": "none", "task_type": "CAUSAL_LM",
        "base_model_name_or_path": "base"})";
const char* kAdapterValue = "8";

const char* kModelConfig =
    R"({"model_type": "qwen2", "vocab_size": @V@, "hidden_size": 16, "intermediate_size": 32,
        "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
        "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
        "tie_word_embeddings": false, "bos_token_id": 1, "eos_token_id": [2, 3]})";
const char* kModelValue = "64";

// A tiny byte-level BPE (as tests/core/text/tokenizer_test.cpp builds it).
const char* kTokenizer = R"({
  "added_tokens": [{"id": 10, "content": "<s>", "special": true},
                   {"id": 11, "content": "<sep>", "special": false}],
  "normalizer": {"type": "NFC"},
  "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
      {"type": "Split", "pattern": {"String": "-"}, "behavior": "Removed", "invert": false},
      {"type": "ByteLevel", "add_prefix_space": false, "use_regex": false}]},
  "post_processor": {"type": "TemplateProcessing",
      "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
      "special_tokens": {"<s>": {"id": "<s>", "ids": [10], "tokens": ["<s>"]}}},
  "decoder": {"type": "ByteLevel"},
  "model": {"type": "BPE", "byte_fallback": false, "ignore_merges": false,
            "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": @V@, "<s>": 10},
            "merges": [["a", "b"], "b c", ["ab", "c"]]}})";
const char* kTokenizerValue = "5";

const char* kTaskSpec =
    R"({"name": "qa", "prompt": "Q: {question}\nA:", "target": "answer", "metric": "exact_match",
        "max_new_tokens": @V@, "splits": {"test": "qa.jsonl"}})";
const char* kTaskValue = "12";

const char* kJsonl = R"({"question": "2+2?", "answer": @V@, "id": 7})";
const char* kJsonlValue = "\"4\"";

const char* kStudyHead = R"({"basin_study": @V@, )";
const char* kStudyValue = "1";

const char* kKit =
    R"({"size": "tiny", "tasks": ["t"], "scores": {"t": {"metric": "accuracy", "base": 0.5,
        "oracle": 0.75, "n": @V@, "diff": 0.25, "diff_ci95": [0.1, 0.4]}}})";
const char* kKitValue = "40";

const char* kSafetensorsHeader =
    R"({"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [1], "data_offsets": @V@}})";
const char* kSafetensorsValue = "[0, 4]";

std::string with(const std::string& templ, const std::string& value) {
  std::string s = templ;
  s.replace(s.find("@V@"), 3, value);
  return s;
}

// A study with every section the format has, from the structs' own writers.
json study_json() {
  Study s;
  s.adapters = {{"adapters/a", true, std::nullopt}, {"adapters/b", false, 0.5}};
  MergeRecord r;
  r.inputs = {"a", "b"};
  r.saved_to = "merged";
  s.merges = {r};
  SimilarityResult sim;
  sim.labels = {"a", "b"};
  sim.modules = {"m.q_proj"};
  sim.gram = {Eigen::MatrixXd::Identity(2, 2)};
  s.similarity = sim;
  s.landscape = LandscapeSetup{"model", {"tasks/t.json"}, "validation", 8};
  Curve c;
  c.a = "a";
  c.b = "b";
  c.alpha = {0.0, 0.5, 1.0};
  c.loss = {1.0, 1.5, 1.2};
  c.token_error = {0.5, 0.6, 0.55};
  s.sweeps = {c};
  ConnectivityResult cr;
  cr.labels = {"a", "b"};
  cr.alphas = c.alpha;
  cr.curves = {c};
  s.connectivity = cr;
  return s.to_json(fs::current_path());
}

std::string study_text(const std::string& version) {
  std::string body = study_json().dump();
  body.erase(0, 1);  // "{"
  json j = json::parse("{" + body);
  j.erase("basin_study");
  body = j.dump();
  body.erase(0, 1);
  return with(kStudyHead, version) + body;
}

// A saved Arrow gate over two experts, and its gate.json text.
struct GateFixture {
  test::TempDir dir;
  std::string text;
  GateFixture() {
    const ModelConfig config = test::tiny_decoder_config();
    const CausalLM base = test::tiny_decoder(config, 21);
    std::vector<std::shared_ptr<const Adapter>> experts;
    fs::create_directories(dir / "adapters");
    for (const char* name : {"a", "b"}) {
      save_peft_adapter(*test::random_lora(base, name, 2, 4.0, 100 + name[0]),
                        dir / "adapters" / name);
      experts.push_back(load_peft_adapter(dir / "adapters" / name));
    }
    save_gate(build_arrow_gate(experts, ArrowOptions{1, 1.0}), dir / "gate");
    text = test::read_bytes(dir / "gate" / kGateConfigFile);
  }
};

// Made once per process and removed at its exit (a leaked one left a folder per run in /tmp).
GateFixture& gate_fixture() {
  static GateFixture g;
  return g;
}

std::vector<ReaderCase> readers() {
  std::vector<ReaderCase> r;
  r.push_back({"adapter_config.json", "adapter_config.json", [](auto& dir, const std::string& t) {
                 fs::create_directories(dir / "ad");
                 test::write_bytes(dir / "ad/adapter_config.json", t);
                 test::write_bytes(dir / "ad/adapter_model.safetensors", "x");
                 try {
                   (void)load_peft_adapter(dir / "ad");
                 } catch (const InputError& e) {  // the config was read; the weights are fake
                   if (std::string(e.what()).find("adapter_model.safetensors") == std::string::npos)
                     throw;
                 }
               }});
  r.push_back({"config.json", "config.json", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "config.json", t);
                 (void)ModelConfig::load(dir.path());
               }});
  r.push_back({"tokenizer.json", "tokenizer.json", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "tokenizer.json", t);
                 const Tokenizer tok = Tokenizer::from_file(dir / "tokenizer.json");
                 (void)tok.decode(tok.encode("abc-cab<s>ab", true));
               }});
  r.push_back({"task spec", "qa.json", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "qa.json", t);
                 (void)TaskSpec::load(dir / "qa.json");
               }});
  r.push_back({"JSONL line", "qa.jsonl:2", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "qa.jsonl",
                                   "{\"question\": \"q\", \"answer\": \"a\"}\n" + t);
                 (void)read_jsonl(dir / "qa.jsonl");
               }});
  r.push_back({"study", "s.basin", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "s.basin", t);
                 (void)Study::load(dir / "s.basin");
               }});
  r.push_back({"gate.json", "gate.json", [](auto&, const std::string& t) {
                 const auto& g = gate_fixture();
                 test::write_bytes(g.dir / "gate" / kGateConfigFile, t);
                 (void)load_gate(g.dir / "gate");
               }});
  r.push_back({"kit.json scores", "kit.json", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "kit.json", t);
                 (void)OracleVsBase::from_kit(read_json_file(dir / "kit.json"), dir / "kit.json");
               }});
  r.push_back({"safetensors header", "w.safetensors", [](auto& dir, const std::string& t) {
                 test::write_bytes(dir / "w.safetensors",
                                   test::raw_with_header(t, std::string(4, '\0')));
                 (void)SafetensorsReader(dir / "w.safetensors");
               }});
  return r;
}

// Each reader's file with `@V@` at one checked key, the key's name and a valid value for it.
struct Template {
  std::string templ, key, valid;
  bool string_ok = false;  // the key takes strings (a giant one is read, not refused)
};

Template template_of(const std::string& reader) {
  if (reader == "adapter_config.json") return {kAdapterConfig, "r", kAdapterValue};
  if (reader == "config.json") return {kModelConfig, "vocab_size", kModelValue};
  if (reader == "tokenizer.json") return {kTokenizer, "abc", kTokenizerValue};
  if (reader == "task spec") return {kTaskSpec, "max_new_tokens", kTaskValue};
  if (reader == "JSONL line") return {kJsonl, "answer", kJsonlValue, true};
  if (reader == "study") return {study_text("@V@"), "basin_study", kStudyValue};
  if (reader == "gate.json") {
    std::string t = gate_fixture().text;
    const std::string v = "\"version\": 1";
    t.replace(t.find(v), v.size(), "\"version\": @V@");
    return {t, "version", "1"};
  }
  if (reader == "kit.json scores") return {kKit, "n", kKitValue};
  return {kSafetensorsHeader, "data_offsets", kSafetensorsValue};
}

}  // namespace

// The valid files load: the bombs below change one value only.
TEST(JsonReaders, ValidFilesLoad) {
  for (const auto& r : readers()) {
    test::TempDir dir;
    const Template t = template_of(r.name);
    try {
      r.load(dir, with(t.templ, t.valid));
    } catch (const std::exception& e) {
      ADD_FAILURE() << r.name << ": " << e.what();
    }
  }
}

TEST(JsonReaders, BombsGiveShortInputErrorsNamingFileAndKey) {
  for (const auto& r : readers()) {
    SCOPED_TRACE(r.name);
    const Template t = template_of(r.name);
    const auto run = [&](const std::string& what, const std::string& value,
                         const std::vector<std::string>& parts, bool ok_allowed = false) {
      test::TempDir dir;
      const std::string text = with(t.templ, value);
      expect_input_error(
          r.name + " / " + what, [&] { r.load(dir, text); }, parts, ok_allowed);
    };
    const std::string deep = std::string(300000, '[') + std::string(300000, ']');
    run("300,000-deep array", deep, {r.file, "nesting deeper", t.key});
    run("1,000,000-deep array", std::string(1000000, '[') + std::string(1000000, ']'),
        {r.file, "nesting deeper"});
    run("1e999", "1e999", {r.file, "out of range", t.key});
    run("-1e999", "-1e999", {r.file, "out of range", t.key});
    run("invalid UTF-8", "\"\xff\xfe\"", {r.file, "not valid UTF-8", "0xFF"});
    run("duplicate key", t.valid + ", \"" + t.key + "\": " + t.valid,
        {r.file, "duplicate key", t.key});
    run("10 MB string", "\"" + std::string(10 << 20, 'z') + "\"", {r.file, t.key}, t.string_ok);
  }
}

// "Wrong types at every key": every value of each reader's valid file (the first few elements
// of each array or object) replaced by each kind of wrong value, and each key removed.
TEST(JsonReaders, WrongValueAtEveryKeyIsAnInputError) {
  const std::vector<std::pair<std::string, json>> wrong = {
      {"null", nullptr},
      {"true", true},
      {"0", 0},
      {"-1", -1},
      {"int64 max", std::numeric_limits<int64_t>::max()},
      {"int64 min", std::numeric_limits<int64_t>::min()},
      {"uint64 max", std::numeric_limits<uint64_t>::max()},
      {"1e300", 1e300},
      {"-0.5", -0.5},
      {"\"\"", ""},
      {"\"x\"", "x"},
      {"100 kB string", std::string(100000, 'w')},
      {"[]", json::array()},
      {"{}", json::object()},
      {"[1, \"x\", {}]", json::array({1, "x", json::object()})},
      {"{\"k\": [[]]}", json{{"k", json::array({json::array()})}}},
  };
  for (const auto& r : readers()) {
    const Template t = template_of(r.name);
    const std::string valid = with(t.templ, t.valid);
    const json doc = json::parse(valid);
    // Pointers to every value, at most 4 children per container.
    std::vector<json::json_pointer> ptrs;
    std::vector<std::pair<json::json_pointer, const json*>> todo = {{json::json_pointer(), &doc}};
    while (!todo.empty()) {
      auto [p, v] = todo.back();
      todo.pop_back();
      if (!p.empty()) ptrs.push_back(p);
      if (!v->is_structured()) continue;
      int n = 0;
      for (auto it = v->begin(); it != v->end() && n < 4; ++it, ++n)
        todo.push_back({v->is_object() ? p / it.key() : p / size_t(n), &*it});
    }
    for (const auto& p : ptrs) {
      const auto try_doc = [&](const std::string& what, const json& d) {
        test::TempDir dir;
        expect_input_error(
            r.name + " " + p.to_string() + " = " + what, [&] { r.load(dir, d.dump()); }, {}, true);
      };
      for (const auto& [what, value] : wrong) {
        json d = doc;
        d[p] = value;
        try_doc(what, d);
      }
      json d = doc;
      json& parent = d[p.parent_pointer()];
      if (parent.is_object()) parent.erase(p.back());
      if (parent.is_array()) parent.erase(std::stoul(p.back()));
      try_doc("(removed)", d);
    }
  }
}
