// basin-cli emit-docs (app/cli/cli_docs.cpp): the man page and bash completion cover every
// command and option that the real --help lists, the completion completes them in bash, and the
// page renders without a groff warning.
#include <gtest/gtest.h>

#include <cstdio>
#include <set>
#include <sstream>

#include "cli_run.h"
#include "test_support.h"

namespace fs = std::filesystem;
using namespace basin::test::cli;

namespace {

// What `basin-cli PATH --help` lists: subcommands, option names, positional names.
struct Help {
  std::vector<std::string> commands, options, positionals;
};

Help parse_help(const std::string& text) {
  Help h;
  std::istringstream in(text);
  std::string line, section;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == ':' && line[0] != ' ') {
      section = line;
      continue;
    }
    // Entries are indented by two; their continuation lines by many more.
    if (line.size() < 3 || line.compare(0, 2, "  ") != 0 || line[2] == ' ') continue;
    const std::string first = line.substr(2, line.find(' ', 2) - 2);
    if (section == "Subcommands:") {
      h.commands.push_back(first);
    } else if (section == "Positionals:") {
      h.positionals.push_back(first);
    } else if (section == "Options:") {
      std::istringstream names(first);
      std::string name;
      while (std::getline(names, name, ','))
        h.options.push_back(name);
    }
  }
  return h;
}

std::string roff_name(std::string s) {
  std::string out;
  for (char c : s)
    out += c == '-' ? std::string("\\-") : std::string(1, c);
  return out;
}

// COMPREPLY for the words typed so far (the last one is being completed).
std::string complete(const fs::path& script, const std::string& words) {
  const std::string cmd = "bash -c 'source " + script.string() + "; COMP_WORDS=(" + words +
                          "); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); _basin_cli; "
                          "echo \"${COMPREPLY[*]}\"'";
  std::string out = shell(cmd).out;
  while (!out.empty() && out.back() == '\n')
    out.pop_back();
  return out;
}

class CliDocs : public ::testing::Test {
 protected:
  void SetUp() override {
    auto r = run("emit-docs man -o " + man.string(), dir);
    ASSERT_EQ(r.code, 0) << r.err;
    r = run("emit-docs bash-completion -o " + completion.string(), dir);
    ASSERT_EQ(r.code, 0) << r.err;
  }
  basin::test::TempDir dir;
  fs::path man = dir / "basin-cli.1";
  fs::path completion = dir / "basin-cli.bash";
};

}  // namespace

// Drift guard: every command path, option and positional of the real --help is in the man page
// and among the completion's options for that command.
TEST_F(CliDocs, ManPageAndCompletionCoverEveryCommandAndOptionOfHelp) {
  const std::string page = basin::test::read_bytes(man);
  std::vector<std::string> paths = {""};
  size_t checked = 0;
  for (size_t i = 0; i < paths.size(); ++i) {
    const std::string path = paths[i];  // a copy: paths grows below
    const auto r = run(path + " --help", dir);
    ASSERT_EQ(r.code, 0) << path << ": " << r.err;
    const Help help = parse_help(r.out);
    for (const auto& c : help.commands) {
      const std::string sub = path.empty() ? c : path + " " + c;
      paths.push_back(sub);
      EXPECT_NE(page.find(".SS \"" + roff_name(sub) + "\""), std::string::npos) << sub;
    }
    const std::string options = complete(completion, "basin-cli " + path + " -");
    std::set<std::string> offered;
    std::istringstream words(options);
    for (std::string w; words >> w;)
      offered.insert(w);
    for (const auto& o : help.options) {
      EXPECT_TRUE(offered.count(o)) << "completion of '" << path << "' lacks " << o;
      if (o != "-h" && o != "--help")
        EXPECT_NE(page.find("\\fB" + roff_name(o) + "\\fR"), std::string::npos) << path << o;
      ++checked;
    }
    for (const auto& p : help.positionals)
      EXPECT_NE(page.find("\\fI" + roff_name(p) + "\\fR"), std::string::npos) << path << p;
  }
  EXPECT_GT(paths.size(), 20u);  // the program, its commands and gate's two
  EXPECT_GT(checked, 200u);
  // The hidden generator documents nothing of itself.
  EXPECT_EQ(page.find(".SS \"emit"), std::string::npos);
  EXPECT_EQ(complete(completion, "basin-cli emit"), "");
}

TEST_F(CliDocs, CompletionCompletesCommandsOptionsChoicesAndFiles) {
  EXPECT_EQ(complete(completion, "basin-cli mer"), "merge");
  EXPECT_EQ(complete(completion, "basin-cli gate \"\""), "train inspect");
  EXPECT_EQ(complete(completion, "basin-cli merge --meth"), "--method");
  EXPECT_EQ(complete(completion, "basin-cli merge -m t"), "task_arithmetic ties ties_svd");
  EXPECT_EQ(complete(completion, "basin-cli merge --dtype \"\""), "f32 f16 bf16 f64");
  // Global options fall through to commands; "--device=c" splits at '=' in bash.
  EXPECT_EQ(complete(completion, "basin-cli --threads 2 merge --dev"), "--device");
  EXPECT_EQ(complete(completion, "basin-cli merge --device = c"), "cpu cuda");
  // An option's value is not taken for a command ("gate" is --device's value here).
  const std::string after_value = complete(completion, "basin-cli --device gate \"\"");
  EXPECT_NE(after_value.find("merge"), std::string::npos) << after_value;
  // Other values and arguments are file names.
  fs::create_directories(dir / "adapter-one");
  EXPECT_EQ(complete(completion, "basin-cli merge " + (dir / "adapter-o").string()),
            (dir / "adapter-one").string());
  EXPECT_EQ(complete(completion, "basin-cli merge -o " + (dir / "adapter-o").string()),
            (dir / "adapter-one").string());
}

TEST_F(CliDocs, ManPageRendersWithoutWarnings) {
  if (shell("command -v groff").code != 0) GTEST_SKIP() << "groff is not installed";
  const auto r = shell("LC_ALL=C.UTF-8 groff -man -Tutf8 -ww -z " + man.string());
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "");
  const auto text = shell("LC_ALL=C.UTF-8 groff -man -Tutf8 -P-cbou " + man.string()).out;
  EXPECT_NE(text.find("basin-cli merge"), std::string::npos);
  EXPECT_NE(text.find("\u03a3 r_i"), std::string::npos);  // non-ASCII written as \[u03A3]
}

TEST_F(CliDocs, EmitDocsIsHiddenAndChecksItsFormat) {
  EXPECT_EQ(run("--help", dir).out.find("emit-docs"), std::string::npos);
  const auto r = run("emit-docs html", dir);
  EXPECT_EQ(r.code, 2);
  EXPECT_NE(r.err.find("html"), std::string::npos) << r.err;
}
