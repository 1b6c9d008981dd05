// basin-cli emit-docs: the man page and the bash completion, read off the CLI11 tree that main()
// builds, so a new command or option shows up in both without anyone editing them.
#include "cli_docs.h"

#include <cctype>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sstream>
#include <vector>

#include "cli_common.h"

namespace basin::cli {
namespace {

// One option or positional argument as the docs show it.
struct OptionDoc {
  std::vector<std::string> flags;    // "-o", "--output"; empty for a positional argument
  std::string positional;            // "ADAPTER"; empty for an option
  std::string type;                  // "TEXT", "INT", ...; empty for a flag
  std::vector<std::string> choices;  // the set of an IsMember check, if any
  std::string description;
  bool required = false;
  bool repeated = false;  // takes several values
  bool help = false;      // the -h,--help flag CLI11 gives every command
};

struct CommandDoc {
  std::vector<std::string> path;  // {"gate", "train"}; empty for the program itself
  std::string description;
  std::vector<OptionDoc> options;    // its own options and positionals
  std::vector<OptionDoc> inherited;  // parents' options that fall through to it
  std::vector<CommandDoc> commands;  // visible subcommands
};

bool visible(const CLI::App* a) {
  return !a->get_name().empty() && !a->get_group().empty() && !a->get_disabled();
}

// CLI11 shows an option's type as "TYPE" followed by ":DESCRIPTION" for each check; an IsMember
// check describes itself as "{a,b,c}".
void read_type(const std::string& full, OptionDoc& doc) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (true) {
    const size_t colon = full.find(':', start);
    parts.push_back(full.substr(start, colon - start));
    if (colon == std::string::npos) break;
    start = colon + 1;
  }
  doc.type = parts.front();
  for (size_t i = 1; i < parts.size(); ++i) {
    const std::string& p = parts[i];
    if (p.size() < 2 || p.front() != '{' || p.back() != '}') continue;
    std::string item;
    std::istringstream in(p.substr(1, p.size() - 2));
    while (std::getline(in, item, ','))
      if (!item.empty() && item.find_first_of(" \t'\"\\") == std::string::npos)
        doc.choices.push_back(item);
  }
}

OptionDoc describe(const CLI::App& app, const CLI::Option& opt) {
  OptionDoc d;
  for (const auto& s : opt.get_snames())
    d.flags.push_back("-" + s);
  for (const auto& l : opt.get_lnames())
    d.flags.push_back("--" + l);
  if (d.flags.empty()) d.positional = opt.get_name(true);
  d.description = opt.get_description();
  d.required = opt.get_required();
  d.help = &opt == app.get_help_ptr();
  if (opt.get_type_size_max() > 0) {
    read_type(opt.get_type_name(), d);
    d.repeated = opt.get_items_expected_max() > 1;
  }
  return d;
}

CommandDoc describe(const CLI::App& app, std::vector<std::string> path,
                    const std::vector<OptionDoc>& parent_options) {
  CommandDoc c;
  c.path = std::move(path);
  c.description = app.get_description();
  for (const CLI::Option* opt :
       app.get_options([](const CLI::Option* o) { return !o->get_group().empty(); }))
    c.options.push_back(describe(app, *opt));
  if (app.get_fallthrough())
    for (const OptionDoc& p : parent_options)
      if (!p.help && p.positional.empty()) c.inherited.push_back(p);
  std::vector<OptionDoc> for_children = c.options;
  for_children.insert(for_children.end(), c.inherited.begin(), c.inherited.end());
  for (const CLI::App* sub : app.get_subcommands(visible)) {
    std::vector<std::string> sub_path = c.path;
    sub_path.push_back(sub->get_name());
    c.commands.push_back(describe(*sub, std::move(sub_path), for_children));
  }
  return c;
}

std::string joined(const std::vector<std::string>& words, const std::string& sep) {
  std::string out;
  for (const auto& w : words)
    out += (out.empty() ? "" : sep) + w;
  return out;
}

// ---- man page ----------------------------------------------------------------------------

// Text as roff: '\' escaped, '-' as \- (an ASCII hyphen-minus that copies and pastes as typed),
// a leading '.' or '\'' guarded, and every non-ASCII character as \[uXXXX] so the page needs no
// input-encoding guess (groff_char(7)).
std::string roff(const std::string& text) {
  std::string out;
  bool line_start = true;
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    if (c < 0x80) {
      if (line_start && (c == '.' || c == '\'')) out += "\\&";
      if (c == '\\')
        out += "\\e";
      else if (c == '-')
        out += "\\-";
      else
        out += static_cast<char>(c);
      line_start = c == '\n';
      ++i;
      continue;
    }
    // UTF-8 sequence: lead byte gives its length; anything malformed becomes '?'.
    const int len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 0;
    uint32_t cp = len == 4 ? c & 0x07u : len == 3 ? c & 0x0Fu : c & 0x1Fu;
    bool ok = len > 0 && i + len <= text.size();
    for (int k = 1; ok && k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      ok = (b & 0xC0u) == 0x80u;
      cp = (cp << 6) | (b & 0x3Fu);
    }
    if (ok) {
      char buf[16];
      std::snprintf(buf, sizeof buf, "\\[u%04X]", static_cast<unsigned>(cp));
      out += buf;
      i += len;
    } else {
      out += '?';
      ++i;
    }
    line_start = false;
  }
  return out;
}

std::string sentence(std::string s) {
  if (!s.empty() && s.back() != '.') s += '.';
  return s;
}

void man_option(std::ostringstream& out, const OptionDoc& o) {
  out << ".TP\n";
  if (!o.positional.empty()) {
    out << "\\fI" << roff(o.positional) << "\\fR" << (o.repeated ? "..." : "") << "\n";
  } else {
    for (size_t i = 0; i < o.flags.size(); ++i)
      out << (i ? ", " : "") << "\\fB" << roff(o.flags[i]) << "\\fR";
    if (!o.type.empty()) out << " \\fI" << roff(o.type) << "\\fR" << (o.repeated ? "..." : "");
    out << "\n";
  }
  std::string text = sentence(o.description);
  bool listed = true;
  for (const auto& choice : o.choices)
    listed = listed && o.description.find(choice) != std::string::npos;
  if (!listed) text += " One of: " + joined(o.choices, ", ") + ".";
  if (o.required) text += " Required.";
  out << roff(text) << "\n";
}

std::string synopsis_tail(const CommandDoc& c) {
  std::string s = "[\\fIOPTIONS\\fR]";
  if (!c.commands.empty()) s += " \\fICOMMAND\\fR";
  for (const auto& o : c.options) {
    if (o.positional.empty()) continue;
    const std::string arg = "\\fI" + roff(o.positional) + "\\fR" + (o.repeated ? "..." : "");
    s += " " + (o.required ? arg : "[" + arg + "]");
  }
  return s;
}

void man_command(std::ostringstream& out, const std::string& program, const CommandDoc& c) {
  out << ".SS \"" << roff(joined(c.path, " ")) << "\"\n";
  out << ".B " << roff(program + " " + joined(c.path, " ")) << "\n" << synopsis_tail(c) << "\n";
  out << ".PP\n" << roff(sentence(c.description)) << "\n";
  for (const auto& o : c.options)
    if (!o.help) man_option(out, o);
  for (const auto& sub : c.commands)
    man_command(out, program, sub);
}

// ---- bash completion ---------------------------------------------------------------------

std::string sh_quote(const std::string& s) {
  std::string out = "'";
  for (char ch : s)
    out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
  return out + "'";
}

void flatten(const CommandDoc& c, std::vector<const CommandDoc*>& all) {
  all.push_back(&c);
  for (const auto& sub : c.commands)
    flatten(sub, all);
}

std::vector<const OptionDoc*> named_options(const CommandDoc& c) {
  std::vector<const OptionDoc*> out;
  for (const auto* list : {&c.options, &c.inherited})
    for (const auto& o : *list)
      if (!o.flags.empty()) out.push_back(&o);
  return out;
}

}  // namespace

std::string man_page(const CLI::App& app, const std::string& version) {
  const CommandDoc root = describe(app, {}, {});
  const std::string& name = app.get_name();
  // "basin-cli — what it does" names the program itself; NAME wants only what it does.
  std::string what = root.description;
  const std::string prefix = name + " \u2014 ";
  if (what.rfind(prefix, 0) == 0) what.erase(0, prefix.size());

  std::ostringstream out;
  out << ".\\\" Generated by '" << roff(name) << " emit-docs man' from " << roff(name)
      << "'s own command-line definition; do not edit.\n";
  std::string upper = name;
  for (char& ch : upper)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  out << ".TH " << roff(upper) << " 1 \"\" \"" << roff(name + " " + version)
      << "\" \"User Commands\"\n";
  out << ".SH NAME\n" << roff(name) << " \\- " << roff(what) << "\n";
  out << ".SH SYNOPSIS\n.B " << roff(name) << "\n" << synopsis_tail(root);
  if (!root.commands.empty()) out << " [\\fICOMMAND OPTIONS\\fR] [\\fIARGUMENTS\\fR]";
  std::string first = sentence(what);
  if (!first.empty())
    first[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(first[0])));
  out << "\n.SH DESCRIPTION\n" << roff(first) << "\n";
  if (app.get_fallthrough() && !root.commands.empty())
    out << ".PP\n"
        << roff("The options below apply to every command and may also follow its name.") << "\n";
  out << ".SH OPTIONS\n";
  for (const auto& o : root.options)
    man_option(out, o);
  if (!root.commands.empty()) {
    out << ".SH COMMANDS\n" << roff("Every command also takes -h, --help: its own usage.") << "\n";
    for (const auto& c : root.commands)
      man_command(out, name, c);
  }
  out << ".SH EXIT STATUS\n";
  const std::pair<int, const char*> codes[] = {
      {kOk, "Success."},
      {kFailure, "Failure: one line on standard error names the file, key or value."},
      {kUsage, "Usage error: an unknown command or option, or a bad or missing value."},
      {kInterrupted, "Interrupted (SIGINT or SIGTERM); nothing was written."}};
  for (const auto& [code, meaning] : codes)
    out << ".TP\n.B " << code << "\n" << roff(meaning) << "\n";
  return out.str();
}

std::string bash_completion(const CLI::App& app) {
  const CommandDoc root = describe(app, {}, {});
  std::vector<const CommandDoc*> all;
  flatten(root, all);
  std::string fn = "_";
  for (char ch : app.get_name())
    fn += std::isalnum(static_cast<unsigned char>(ch)) ? ch : '_';

  std::ostringstream out;
  out << "# bash completion for " << app.get_name() << ". Generated by '" << app.get_name()
      << " emit-docs bash-completion'\n# from its own command-line definition; do not edit.\n\n";

  // Per command path ("" = the program): its subcommands, its options, whether it takes
  // arguments, and for an option that takes a value, the value's choices (none: file names).
  out << "# Subcommands of a command path (\"\" is the program itself).\n"
      << fn << "_commands() {\n  case \"$1\" in\n";
  for (const CommandDoc* c : all) {
    if (c->commands.empty()) continue;
    std::vector<std::string> names;
    for (const auto& sub : c->commands)
      names.push_back(sub.path.back());
    out << "    " << sh_quote(joined(c->path, " ")) << ") echo " << sh_quote(joined(names, " "))
        << " ;;\n";
  }
  out << "  esac\n}\n\n";

  out << "# Options a command path accepts, its parents' included where they fall through.\n"
      << fn << "_options() {\n  case \"$1\" in\n";
  for (const CommandDoc* c : all) {
    std::vector<std::string> flags;
    for (const OptionDoc* o : named_options(*c))
      flags.insert(flags.end(), o->flags.begin(), o->flags.end());
    out << "    " << sh_quote(joined(c->path, " ")) << ") echo " << sh_quote(joined(flags, " "))
        << " ;;\n";
  }
  out << "  esac\n}\n\n";

  out << "# Succeeds when option $2 of command path $1 takes a value; prints the value's choices.\n"
      << fn << "_value() {\n  case \"$1\" in\n";
  for (const CommandDoc* c : all) {
    std::vector<std::string> arms;
    for (const OptionDoc* o : named_options(*c)) {
      if (o->type.empty()) continue;
      std::vector<std::string> pattern;
      for (const auto& f : o->flags)
        pattern.push_back(sh_quote(f));
      std::string arm = "        " + joined(pattern, "|") + ") ";
      if (!o->choices.empty()) arm += "echo " + sh_quote(joined(o->choices, " ")) + "; ";
      arms.push_back(arm + "return 0 ;;\n");
    }
    if (arms.empty()) continue;
    out << "    " << sh_quote(joined(c->path, " ")) << ")\n      case \"$2\" in\n";
    for (const auto& arm : arms)
      out << arm;
    out << "      esac ;;\n";
  }
  out << "  esac\n  return 1\n}\n\n";

  out << "# Succeeds when command path $1 takes arguments (completed as file names).\n"
      << fn << "_takes_arguments() {\n  case \"$1\" in\n";
  std::vector<std::string> with_args;
  for (const CommandDoc* c : all)
    for (const auto& o : c->options)
      if (!o.positional.empty()) {
        with_args.push_back(sh_quote(joined(c->path, " ")));
        break;
      }
  if (!with_args.empty()) out << "    " << joined(with_args, "|") << ") return 0 ;;\n";
  out << "  esac\n  return 1\n}\n\n";

  out << fn << R"sh(() {
  local cur=${COMP_WORDS[COMP_CWORD]} prev= path= opt= word sub choices i
  COMPREPLY=()
  # The command path so far: words that name a subcommand, skipping options and their values.
  for ((i = 1; i < COMP_CWORD; i++)); do
    word=${COMP_WORDS[i]}
    if [[ $word == -* ]]; then
      [[ $word == *=* ]] && continue
      if [[ ${COMP_WORDS[i + 1]} == = ]]; then
        ((i += 2))
      elif FN_value "$path" "$word" >/dev/null; then
        ((i += 1))
      fi
      continue
    fi
    for sub in $(FN_commands "$path"); do
      if [[ $word == "$sub" ]]; then
        path=${path:+$path }$word
        break
      fi
    done
  done
  ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD - 1]}
  # The option whose value is being typed: "--opt VALUE", "--opt=VALUE" ('=' is a word break).
  if [[ $cur == = ]]; then
    opt=$prev
    cur=
  elif [[ $prev == = ]] && ((COMP_CWORD >= 2)); then
    opt=${COMP_WORDS[COMP_CWORD - 2]}
  elif [[ $prev == -* ]]; then
    opt=$prev
  fi
  if [[ -n $opt ]] && choices=$(FN_value "$path" "$opt"); then
    if [[ -n $choices ]]; then
      mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
    else
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    return 0
  fi
  if [[ $cur == -* ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$(FN_options "$path")" -- "$cur")
    return 0
  fi
  choices=$(FN_commands "$path")
  if [[ -n $choices ]]; then
    mapfile -t COMPREPLY < <(compgen -W "$choices" -- "$cur")
  elif FN_takes_arguments "$path"; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
  fi
  return 0
}
)sh";
  out << "complete -F " << fn << " " << app.get_name() << "\n";
  std::string script = out.str();
  for (size_t at = script.find("FN_"); at != std::string::npos; at = script.find("FN_", at))
    script.replace(at, 3, fn + "_");
  return script;
}

void register_docs(CLI::App& app, int& exit_code) {
  auto* sub = app.add_subcommand("emit-docs", "Write the man page or the bash completion");
  sub->group("");  // hidden: the build runs it (app/cli/CMakeLists.txt)
  struct Args {
    std::string format, output;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("FORMAT", a->format, "man or bash-completion")
      ->required()
      ->check(CLI::IsMember({"man", "bash-completion"}));
  sub->add_option("-o,--output", a->output, "file to write (default: standard output)");
  sub->callback([&app, &exit_code, a] {
    write_output(a->output,
                 a->format == "man" ? man_page(app, BASIN_VERSION) : bash_completion(app));
    exit_code = kOk;
  });
}

}  // namespace basin::cli
