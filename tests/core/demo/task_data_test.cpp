#include "demo/task_data.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>

#include "data/task.h"
#include "demo/text_sources.h"
#include "test_support.h"
#include "util/errors.h"

using namespace basin;
namespace fs = std::filesystem;

namespace {

const std::vector<std::string> kTaskNames = {"headline",   "translate", "qa",     "sentiment",
                                             "entailment", "topic",     "antonym"};

// Builds into `dir`; a missing source package fails the test with the builder's install hint
// (CI installs them through scripts/setup.sh and scripts/fetch-test-data.sh).
TaskDataReport build_or_fail(const fs::path& dir, size_t max, uint64_t seed) {
  TaskDataOptions o;
  o.out_dir = dir;
  o.max_per_task = max;
  o.seed = seed;
  jobs::NullProgress progress;
  try {
    return build_task_data(o, progress);
  } catch (const InputError& e) {
    ADD_FAILURE() << e.what();
    throw;
  }
}

std::string slurp(const fs::path& f) {
  std::ifstream in(f, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::map<std::string, std::string> all_files(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out[e.path().filename().string()] = slurp(e.path());
  return out;
}

void put_u32(std::string& s, uint32_t v, bool big) {
  for (int i = 0; i < 4; ++i)
    s += static_cast<char>(big ? (v >> (24 - 8 * i)) & 0xff : (v >> (8 * i)) & 0xff);
}

// A GNU .mo catalog written byte by byte: header (magic, revision, N, table offsets, hash
// size/offset), the msgid table, the msgstr table, then the NUL-terminated strings.
std::string mo_bytes(const std::vector<std::pair<std::string, std::string>>& entries, bool big) {
  const uint32_t n = static_cast<uint32_t>(entries.size());
  const uint32_t orig = 28, trans = orig + 8 * n;
  std::string head, strings;
  uint32_t pos = trans + 8 * n;
  std::string otab, ttab;
  for (int side = 0; side < 2; ++side)
    for (const auto& e : entries) {
      const std::string& s = side == 0 ? e.first : e.second;
      put_u32(side == 0 ? otab : ttab, static_cast<uint32_t>(s.size()), big);
      put_u32(side == 0 ? otab : ttab, pos, big);
      strings += s + '\0';
      pos += static_cast<uint32_t>(s.size() + 1);
    }
  for (uint32_t v : {0x950412deu, 0u, n, orig, trans, 0u, 0u})
    put_u32(head, v, big);
  return head + otab + ttab + strings;
}

}  // namespace

TEST(TaskData, BuildsLoadableDisjointSplitsWithDistinctPrompts) {
  test::TempDir dir;
  const auto report = build_or_fail(dir.path(), 50, 7);
  EXPECT_EQ(report.tasks, kTaskNames);
  std::set<std::string> templates;
  for (const auto& name : kTaskNames) {
    SCOPED_TRACE(name);
    const TaskSpec spec = TaskSpec::load(dir / (name + ".json"));
    EXPECT_EQ(spec.name, name);
    templates.insert(spec.prompt);
    std::map<std::string, std::set<std::string>> prompts;
    size_t total = 0;
    for (const char* split : {"train", "validation", "test"}) {
      const auto examples = spec.load_split(split);
      EXPECT_FALSE(examples.empty()) << split;
      total += examples.size();
      for (const auto& ex : examples) {
        EXPECT_FALSE(spec.target_of(ex).empty());
        // Only the template's fields and the target, plus qa's fact metadata (the kit states
        // each fact in pre-training from its subject and relation).
        for (const auto& [field, value] : ex)
          EXPECT_TRUE(field == spec.target ||
                      spec.prompt.find("{" + field + "}") != std::string::npos ||
                      (name == "qa" && (field == "subject" || field == "relation")))
              << field;
        prompts[split].insert(spec.render_prompt(ex));
      }
      EXPECT_EQ(prompts[split].size(), examples.size()) << split << " repeats a prompt";
    }
    EXPECT_EQ(total, report.examples.at(name));
    EXPECT_LE(total, 50u);
    EXPECT_GE(total, 40u);
    for (const auto& p : prompts["test"]) {
      EXPECT_EQ(prompts["train"].count(p), 0u) << p;
      EXPECT_EQ(prompts["validation"].count(p), 0u) << p;
    }
    for (const auto& p : prompts["validation"])
      EXPECT_EQ(prompts["train"].count(p), 0u) << p;
  }
  EXPECT_EQ(templates.size(), kTaskNames.size()) << "prompt formats must differ per task";
  EXPECT_EQ(TaskSpec::load(dir / "translate.json").metric, TaskMetric::Chrf);
  EXPECT_EQ(TaskSpec::load(dir / "headline.json").metric, TaskMetric::RougeL);
  EXPECT_EQ(TaskSpec::load(dir / "entailment.json").metric, TaskMetric::MacroF1);
}

TEST(TaskData, SameSeedSameFilesOtherSeedDiffers) {
  test::TempDir a, b, c;
  build_or_fail(a.path(), 50, 1);
  build_or_fail(b.path(), 50, 1);
  build_or_fail(c.path(), 50, 2);
  const auto fa = all_files(a.path());
  EXPECT_EQ(fa.size(), kTaskNames.size() * 4);
  EXPECT_EQ(fa, all_files(b.path()));
  EXPECT_NE(fa, all_files(c.path()));
}

TEST(TaskData, HandCheckedFactsInFullBuild) {
  test::TempDir dir;
  const auto report = build_or_fail(dir.path(), 600, 0);
  auto all = [&](const std::string& task) {
    const TaskSpec spec = TaskSpec::load(dir / (task + ".json"));
    std::vector<Example> out;
    for (const char* split : {"train", "validation", "test"})
      for (auto& ex : spec.load_split(split))
        out.push_back(std::move(ex));
    return out;
  };
  auto find = [](const std::vector<Example>& list, const std::string& key,
                 const std::string& value) -> const Example* {
    for (const auto& ex : list)
      if (ex.at(key) == value) return &ex;
    return nullptr;
  };
  // bsdgames quiz: europe "France:Paris", state "Alabama|Ala|AL:Montgomery:...",
  // elements "He:2:4.003:Helium", pres "{G{eorge} }Washington:...:{J{ohn} }Adams".
  const auto qa = all("qa");
  const std::map<std::string, std::string> facts = {
      {"What is the capital of France?", "Paris"},
      {"What is the capital of the US state of Alabama?", "Montgomery"},
      {"What is the chemical symbol of Helium?", "He"},
      {"What is the atomic number of Helium?", "2"},
      {"Who succeeded George Washington as President of the United States?", "Adams"}};
  for (const auto& [q, a] : facts) {
    const Example* ex = find(qa, "question", q);
    ASSERT_NE(ex, nullptr) << q;
    EXPECT_EQ(ex->at("answer"), a) << q;
  }
  // The pre-training statements of a fact name its subject and answer.
  const auto paris =
      task_fact_statements("qa", *find(qa, "question", "What is the capital of France?"));
  ASSERT_EQ(paris.size(), 3u);
  EXPECT_EQ(paris.front(), "The capital of France is Paris.");
  EXPECT_EQ(
      task_fact_statements("qa", *find(qa, "question", "What is the atomic number of Helium?"))[0],
      "The atomic number of Helium is 2.");
  EXPECT_TRUE(task_fact_statements("sentiment", {{"sentence", "x"}}).empty());
  // bsdgames posneg "on:off" comes first, in both directions.
  const auto antonyms = all("antonym");
  ASSERT_NE(find(antonyms, "word", "on"), nullptr);
  EXPECT_EQ(find(antonyms, "word", "on")->at("antonym"), "off");
  EXPECT_EQ(find(antonyms, "word", "off")->at("antonym"), "on");
  // Balanced labels where the builder balances them.
  auto count = [&](const std::string& task, const std::string& field) {
    std::map<std::string, size_t> n;
    for (const auto& ex : all(task))
      ++n[ex.at(field)];
    return n;
  };
  const auto sentiment = count("sentiment", "sentiment");
  ASSERT_EQ(sentiment.size(), 2u);
  EXPECT_EQ(sentiment.at("positive"), 300u);
  EXPECT_EQ(sentiment.at("negative"), 300u);
  const auto relations = count("entailment", "relation");
  ASSERT_EQ(relations.size(), 3u);
  EXPECT_EQ(relations.at("entails"), relations.at("neutral"));
  EXPECT_EQ(relations.at("entails"), relations.at("contradicts"));
  const auto topics = count("topic", "topic");
  ASSERT_EQ(topics.size(), 4u);
  for (const char* t : {"computers", "food", "law", "politics"})
    EXPECT_EQ(topics.at(t), 150u) << t;
  // Translations: no format specifiers, no plural or context entries, short messages.
  for (const auto& ex : all("translate")) {
    EXPECT_EQ(ex.at("english").find('%'), std::string::npos) << ex.at("english");
    EXPECT_LE(ex.at("english").size(), 80u);
  }
  for (const auto& [task, n] : report.examples)
    EXPECT_LE(n, 600u) << task;
}

TEST(TaskData, ReadsHandBuiltMoCatalogInBothByteOrders) {
  const std::vector<std::pair<std::string, std::string>> entries = {
      {"", "Content-Type: text/plain; charset=UTF-8\n"},
      {"File", "Datei"},
      {"Hello, world", "Hallo, Welt"},
      {std::string("one file\0%d files", 17), std::string("eine Datei\0%d Dateien", 21)}};
  test::TempDir dir;
  for (bool big : {false, true}) {
    SCOPED_TRACE(big ? "big endian" : "little endian");
    const fs::path f = dir / (big ? "be.mo" : "le.mo");
    test::write_bytes(f, mo_bytes(entries, big));
    const auto pairs = read_mo_file(f);
    ASSERT_EQ(pairs.size(), 4u);
    EXPECT_EQ(pairs[0].first, "");
    EXPECT_EQ(pairs[1], (std::pair<std::string, std::string>{"File", "Datei"}));
    EXPECT_EQ(pairs[2], (std::pair<std::string, std::string>{"Hello, world", "Hallo, Welt"}));
    EXPECT_EQ(pairs[3].second.size(), 21u);  // plural forms stay NUL-separated
  }
  test::write_bytes(dir / "bad.mo", std::string(40, 'x'));
  try {
    read_mo_file(dir / "bad.mo");
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find("bad.mo"), std::string::npos) << e.what();
  }
  std::string truncated = mo_bytes(entries, false);
  truncated.resize(truncated.size() - 10);
  test::write_bytes(dir / "short.mo", truncated);
  EXPECT_THROW(read_mo_file(dir / "short.mo"), InputError);
}

TEST(TaskData, QuizAnswersTakeFirstAlternativeAndDropOptionalParts) {
  EXPECT_EQ(quiz_canonical("[Paris|paris]", false), "Paris");
  EXPECT_EQ(quiz_canonical("{the }Nile", false), "Nile");
  EXPECT_EQ(quiz_canonical("{the }Nile", true), "the Nile");
  EXPECT_EQ(quiz_canonical("Andorra la V[ell|iej]a", false), "Andorra la Vella");
  EXPECT_EQ(quiz_canonical("Vienna|Wien", false), "Vienna");
  EXPECT_EQ(quiz_canonical("{G{eorge} }Washington", true), "George Washington");
  EXPECT_EQ(quiz_canonical("{G{eorge} }Washington", false), "Washington");
  EXPECT_EQ(quiz_canonical("Cal{if{ornia}}|CA", true), "California");
  EXPECT_EQ(quiz_canonical("1789-{17}97", true), "1789-1797");
  EXPECT_EQ(quiz_canonical("{A{braham|be} }Lincoln", true), "Abraham Lincoln");
  EXPECT_EQ(quiz_canonical("ratio 2\\:1", false), "ratio 2:1");
  EXPECT_EQ(quiz_canonical("  New   York ", false), "New York");
}

TEST(TaskData, MissingNpmPackageNamesPathAndPackage) {
  test::TempDir dir;
  TaskDataOptions o;
  o.out_dir = dir / "out";
  o.npm_dir = dir / "no_node_modules";
  jobs::NullProgress progress;
  try {
    build_task_data(o, progress);
    FAIL() << "expected InputError";
  } catch (const InputError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("no_node_modules/sentiment/test/fixtures"), std::string::npos) << msg;
    EXPECT_NE(msg.find("sentiment@5.0.2"), std::string::npos) << msg;
  }
}

TEST(TaskData, RejectsBadOptionsAndHonoursCancel) {
  test::TempDir dir;
  TaskDataOptions o;
  o.out_dir = dir.path();
  jobs::NullProgress progress;
  o.test_fraction = 0.95;
  EXPECT_THROW(build_task_data(o, progress), InputError);
  o.test_fraction = 0.2;
  o.max_per_task = 2;
  EXPECT_THROW(build_task_data(o, progress), InputError);
  o.max_per_task = 50;
  progress.request_cancel();
  EXPECT_THROW(build_task_data(o, progress), jobs::Cancelled);
  EXPECT_FALSE(fs::exists(dir / "headline.json"));
}
