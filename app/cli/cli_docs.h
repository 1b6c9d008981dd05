// basin-cli's man page and bash completion, generated from its own CLI11 definition (the build
// runs the hidden `basin-cli emit-docs`), so they cannot drift from the real commands and options.
#pragma once

#include <string>

#include <CLI/CLI.hpp>

namespace basin::cli {

// A roff man page (section 1): the program's options, every visible command with its options
// and arguments, and the exit codes. Hidden commands and options (empty group) are left out.
std::string man_page(const CLI::App& app, const std::string& version);

// A bash completion script for app.get_name(): commands, options (with those that fall through
// to the parent), the choices of IsMember options, file names for other values and arguments.
std::string bash_completion(const CLI::App& app);

// The hidden subcommand: basin-cli emit-docs man|bash-completion [-o FILE].
void register_docs(CLI::App& app, int& exit_code);

}  // namespace basin::cli
