#!/usr/bin/env python3
"""Writes the fuzz seed corpus, tests/fuzz/corpus/<target>/, from the shapes Basin's tests use.

Run from the repository root:  python3 tests/fuzz/make_seeds.py  (deterministic; the output is
checked in). Sources: the valid files of tests/core/io/json_readers_test.cpp, the files the
tiny demo kit of tests/ui/tiny_kit.h writes (config.json, adapter_config.json, task specs and
JSONL; its trained tokenizer.json is tokenizer/tiny_kit), safetensors laid out as
write_safetensors writes them, and a study with every section in the layout Study::to_json
writes. Each seed is small: libFuzzer's default -max_len is the largest seed.
"""
import json
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus"


def put(target, name, data):
    d = OUT / target
    d.mkdir(parents=True, exist_ok=True)
    (d / name).write_bytes(data.encode() if isinstance(data, str) else data)


def js(v):
    return json.dumps(v, ensure_ascii=False)


# ---------------------------------------------------------------- safetensors
def safetensors(tensors, metadata=None):
    """tensors: [(name, dtype, shape, bytes)], stored in name order like write_safetensors."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in sorted(tensors):
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)  # padded to 8 bytes, as encode_safetensors_header does
    return struct.pack("<Q", len(h)) + h + data


f32 = lambda *v: struct.pack("<%df" % len(v), *v)
put("safetensors", "lora_pair", safetensors(
    [("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "F32", [2, 4], f32(*range(8))),
     ("base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight", "F32", [4, 2], f32(*range(8)))],
    {"format": "pt", "basin.merge": "ties"}))
put("safetensors", "dtypes", safetensors(
    [("a", "BF16", [3], b"\x80\x3f" * 3), ("b", "F16", [1, 2], b"\x00\x3c" * 2),
     ("c", "I64", [1], struct.pack("<q", -1)), ("d", "BOOL", [2], b"\x01\x00"),
     ("e", "U8", [0], b""), ("f", "F64", [], struct.pack("<d", 0.5))]))
put("safetensors", "empty", safetensors([]))
put("safetensors", "json_readers_test",
    struct.pack("<Q", 96) + b'{"__metadata__": {"format": "pt"}, "w": {"dtype": "F32", "shape": [1], '
    b'"data_offsets": [0, 4]}}'.ljust(96) + f32(1.0))

# ---------------------------------------------------------------- adapter_config.json
tiny_kit_adapter = {
    "alpha_pattern": {}, "auto_mapping": None, "base_model_name_or_path": "../model", "bias": "none",
    "fan_in_fan_out": False, "inference_mode": True, "init_lora_weights": True,
    "layers_pattern": None, "layers_to_transform": None, "lora_alpha": 16, "lora_dropout": 0.0,
    "modules_to_save": None, "peft_type": "LORA", "r": 8, "rank_pattern": {}, "revision": None,
    "target_modules": ["down_proj", "gate_proj", "k_proj", "o_proj", "q_proj", "up_proj", "v_proj"],
    "task_type": "CAUSAL_LM", "use_dora": False, "use_rslora": False}
put("adapter_config", "tiny_kit", js(tiny_kit_adapter))
put("adapter_config", "json_readers_test", js({
    "peft_type": "LORA", "r": 8, "lora_alpha": 16, "target_modules": ["q_proj", "v_proj"],
    "rank_pattern": {"q_proj": 4}, "alpha_pattern": {"v_proj": 8}, "use_rslora": False,
    "fan_in_fan_out": False, "bias": "none", "task_type": "CAUSAL_LM",
    "base_model_name_or_path": "base"}))
put("adapter_config", "patterns_regex", js({
    "r": 16, "lora_alpha": 32.5, "use_rslora": True,
    "rank_pattern": {"model.layers.0.self_attn.q_proj": 4, "layers\\.1[0-9]\\..*": 2},
    "alpha_pattern": {"^mlp\\.(up|down)_proj$": 7.5},
    "target_modules": ".*\\.(q|k|v|o)_proj", "fan_in_fan_out": True}))
put("adapter_config", "all_linear", js({"r": 4, "target_modules": "all-linear"}))

# ---------------------------------------------------------------- config.json
tiny_kit_model = {
    "architectures": ["Qwen2ForCausalLM"], "bos_token_id": 510, "eos_token_id": 510, "head_dim": 16,
    "hidden_act": "silu", "hidden_size": 64, "intermediate_size": 128,
    "max_position_embeddings": 1024, "model_type": "qwen2", "num_attention_heads": 4,
    "num_hidden_layers": 2, "num_key_value_heads": 2, "pad_token_id": 511, "rms_norm_eps": 1e-06,
    "rope_theta": 10000.0, "tie_word_embeddings": True, "torch_dtype": "float32", "vocab_size": 512}
put("model_config", "tiny_kit", js(tiny_kit_model))
put("model_config", "json_readers_test", js({
    "model_type": "qwen2", "vocab_size": 64, "hidden_size": 16, "intermediate_size": 32,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2,
    "max_position_embeddings": 128, "rms_norm_eps": 1e-6, "rope_theta": 10000.0,
    "tie_word_embeddings": False, "bos_token_id": 1, "eos_token_id": [2, 3]}))
put("model_config", "llama3_rope", js({
    "model_type": "llama", "vocab_size": 128, "hidden_size": 32, "intermediate_size": 64,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 1,
    "attention_bias": False, "mlp_bias": True, "rms_norm_eps": 1e-5, "rope_theta": 500000.0,
    "max_position_embeddings": 4096,
    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                     "high_freq_factor": 4.0, "original_max_position_embeddings": 1024}}))
put("model_config", "mistral_window", js({
    "model_type": "mistral", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 3, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 8,
    "sliding_window": 16, "rope_scaling": {"type": "linear", "factor": 2.0}}))
put("model_config", "qwen3", js({
    "model_type": "qwen3", "vocab_size": 64, "hidden_size": 32, "intermediate_size": 48,
    "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "attention_bias": False, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0},
    "use_sliding_window": True, "sliding_window": 8, "max_window_layers": 1}))

# ---------------------------------------------------------------- tokenizer.json NUL text
texts = ["Hello, world! How are you today?",
         "I'm sure they'll say it's what we'd've done, isn't it?",
         "Grüße aus Köln — ça va? ¿Qué tal?  \t\n\r\n 12345 你好世界 안녕 Привет 👩‍👩‍👧👍🏽",
         "<s>a-b-c<sep>abcabc</s> <|endoftext|>"]
json_readers_tokenizer = {
    "added_tokens": [{"id": 10, "content": "<s>", "special": True},
                     {"id": 11, "content": "<sep>", "special": False}],
    "normalizer": {"type": "NFC"},
    "pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"String": "-"}, "behavior": "Removed", "invert": False},
        {"type": "ByteLevel", "add_prefix_space": False, "use_regex": False}]},
    "post_processor": {"type": "TemplateProcessing",
                       "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}},
                                  {"Sequence": {"id": "A", "type_id": 0}}],
                       "special_tokens": {"<s>": {"id": "<s>", "ids": [10], "tokens": ["<s>"]}}},
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "byte_fallback": False, "ignore_merges": False,
              "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "<s>": 10},
              "merges": [["a", "b"], "b c", ["ab", "c"]]}}
for i, t in enumerate(texts):
    put("tokenizer", "json_readers_test_%d" % i, js(json_readers_tokenizer) + "\0" + t)
# GPT-2's layout: legacy "a b" merges, ByteLevel with its own regex, prefix space.
gpt2_like = {
    "added_tokens": [{"id": 8, "content": "<|endoftext|>", "special": True}],
    "normalizer": None,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True,
                      "use_regex": True},
    "post_processor": {"type": "ByteLevel"}, "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"Ġ": 0, "h": 1, "e": 2, "l": 3, "o": 4, "Ġh": 5, "el": 6,
                                       "Ġhel": 7},
              "merges": ["Ġ h", "e l", "Ġh el"]}}
put("tokenizer", "gpt2_like", js(gpt2_like) + "\0" + texts[0])
# Qwen's layout: a regex Split before ByteLevel (without "use_regex"), ignore_merges.
qwen_like = dict(gpt2_like)
qwen_like["pre_tokenizer"] = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|\\s+(?!\\S)|\\s+"},
     "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": False, "use_regex": False}]}
qwen_like["normalizer"] = {"type": "NFC"}
qwen_like["model"] = dict(gpt2_like["model"], ignore_merges=True,
                          merges=[["Ġ", "h"], ["e", "l"], ["Ġh", "el"]])
put("tokenizer", "qwen_like", js(qwen_like) + "\0" + texts[2])

# ---------------------------------------------------------------- task spec NUL JSONL
qa_spec = {"max_new_tokens": 12, "metric": "exact_match", "name": "qa",
           "prompt": "Question: {question}\nAnswer:",
           "splits": {"test": "qa.test.jsonl", "train": "qa.train.jsonl",
                      "validation": "qa.validation.jsonl"}, "target": "answer"}
qa_lines = ('{"answer":"Sacramento","question":"What is the capital of the US state of California?",'
            '"relation":"state capital","subject":"California"}\n'
            '{"answer":"Ge","question":"What is the chemical symbol of Germanium?",'
            '"relation":"symbol","subject":"Germanium"}\n')
put("task", "tiny_kit_qa", js(qa_spec) + "\0" + qa_lines)
put("task", "tiny_kit_loss", js(dict(qa_spec, metric="loss")) + "\0" + qa_lines)
put("task", "json_readers_test", js({
    "name": "qa", "prompt": "Q: {question}\nA:", "target": "answer", "metric": "exact_match",
    "max_new_tokens": 12, "splits": {"test": "qa.jsonl"}}) + "\0" +
    '{"question": "2+2?", "answer": "4", "id": 7}\r\n\n  \t\n{"question": "x", "answer": 1.5, "ok": true}')
put("task", "braces_metrics", js({
    "name": "sentiment", "prompt": "{{literal}} {text} -> {{{label}}}", "target": "label",
    "metric": "macro_f1", "max_new_tokens": 2, "splits": {"train": "/abs/train.jsonl"}}) + "\0" +
    '{"text": "great", "label": "positive"}\n{"text": "bad"}\n')
put("task", "spec_only", js(dict(qa_spec, metric="chrf")))

# ---------------------------------------------------------------- study file
curve = {"a": "a", "b": "b", "alpha": [0.0, 0.5, 1.0], "loss": [1.0, 1.5, 1.2],
         "token_error": [0.5, 0.6, 0.55], "convexity_gap": 0.4, "barrier": 0.4,
         "error_barrier": 0.075, "metric": "accuracy", "metric_value": [0.5, None, 0.7]}
pm = lambda metric: {"metric": metric, "labels": ["a", "b"], "values": [[None, 0.4], [0.4, None]]}
study = {
    "basin_study": 1,
    "adapters": [{"path": "adapters/a", "included": True, "weight": None},
                 {"path": "/abs/adapters/b", "included": False, "weight": 0.5}],
    "merge_recipe": {"method": "ties", "weights": [1.0, 0.5], "rank": 8, "density": 0.2,
                     "majority_sign": "total", "seed": 42, "clamp": None, "peft_compat": False,
                     "name": "m"},
    "merges": [{"recipe": {"method": "svd", "weights": [], "rank": 4},
                "inputs": ["a", "b"], "saved_to": "merged", "modules": 2, "rank_min": 4,
                "rank_max": 4, "delta_norm": 1.5, "seconds": 0.25}],
    "similarity": {"labels": ["a", "b"], "modules": ["m.q_proj"], "gram": [[[1.0, 0.2], [0.2, 1.0]]]},
    "landscape": {"model": "model", "tasks": ["tasks/t.json"], "split": "validation", "limit": 8},
    "connectivity": {"labels": ["a", "b"], "alphas": [0.0, 0.5, 1.0], "curves": [curve],
                     "convexity_gap": pm("convexity_gap"), "barrier": pm("barrier"),
                     "error_barrier": pm("error_barrier")},
    "sweeps": [curve],
    "cka": {"metric": "cka", "labels": ["a", "b"], "values": [[1.0, 0.3], [0.3, 1.0]]},
    "multitask": {"tasks": ["t1", "t2"], "metrics": ["accuracy", "loss"], "tables": [
        {"task_count": 2, "rows": [
            {"method": "moa", "scores": [0.8, 0.7], "multitask_score": 0.75, "share_of_moa": 1.0},
            {"method": "ties", "scores": [0.5, None], "multitask_score": None}]}]},
    "soup": {"labels": ["a", "b"], "single_loss": [1.0, 1.2], "order": [0, 1],
             "coeffs": [1.0, 0.0], "loss": 1.0,
             "steps": [{"candidate": "b", "tried": [0.0, 0.5], "accepted_k": 0, "loss": 1.0,
                        "coeffs": [1.0, 0.0]}],
             "uniform_coeffs": [0.5, 0.5], "uniform_loss": 1.1},
    "surface": {"labels": ["a", "b", "c"], "anchor_x": [0.0, 1.0, 0.5],
                "anchor_y": [0.0, 0.0, 1.0], "x": [0.0, 1.0], "y": [0.0, 1.0],
                "loss": [[1.0, 2.0], [None, 1.5]], "token_error": [[0.1, 0.2], [0.3, 0.4]]},
    "gates": {"kind": "mole", "experts": ["a", "b"], "tasks": ["t1", "t2"],
              "usage": [{"label": "layer 0", "values": [[0.9, 0.1], [0.2, 0.8]]}],
              "routing_accuracy": [1.0, 0.5], "trainable_parameters": 1024,
              "train_seconds": 2.5, "losses": [2.0, 1.0, None]},
}
put("study", "every_section", js(study))
put("study", "minimal", js({"basin_study": 1, "adapters": []}))
put("study", "adapters_only", js({"basin_study": 1, "adapters": [
    {"path": "a", "included": True, "weight": 2}, {"path": "b"}], "merges": []}))

# ---------------------------------------------------------------- kit.json
# The fields demo_kit writes (core/demo/demo_kit.cpp), values from a small kit.
kit = {"version": 4, "size": "small", "seed": 1, "basin_version": "0.1.0",
       "tasks": ["headline", "translate", "qa", "sentiment"],
       "adapters": ["headline", "translate", "qa", "sentiment", "sentiment-seed2", "sentiment-r4"],
       "adapter_details": [{"name": "sentiment", "seed": 1, "loss_first": 3.2, "loss_last": 0.4}],
       "parameters": 1234567, "pretrain_loss_first": 8.3, "pretrain_loss_last": 2.1,
       "scores": {"qa": {"metric": "exact_match", "base": 0.0, "oracle": 0.235, "n": 98}},
       "seconds": 499.1, "phase_seconds": {"pretrain": 300.5}}
put("kit_manifest", "small_kit", js(kit))
put("kit_manifest", "minimal", js({"version": 4, "size": "tiny", "seed": 7, "tasks": [],
                                   "adapters": []}))
