// The Debian package database (/var/lib/dpkg, deb-control(5) fields) as a source of the demo
// kit's text: package descriptions and the files a package owns. A kit must be the same on every
// machine that ran scripts/setup.sh, whatever else is installed there, so the kit reads only the
// packages in the fixed closure below, never "every installed package".
#pragma once

#include <filesystem>
#include <string>
#include <vector>

namespace basin {

// One stanza of the status file.
struct DebianPackage {
  std::string name, synopsis, text;  // text: the extended description as one paragraph
  std::string priority;
  bool installed = false;  // Status: install ok installed
  // Depends and Pre-Depends, names only, choices "a | b" left out.
  std::vector<std::string> depends;
};
// Every stanza, in file order. Throws InputError when the file is missing.
std::vector<DebianPackage> read_dpkg_status(const std::filesystem::path& status);

// Installed packages' descriptions (synopsis line, extended description squeezed to one
// paragraph), in file order; packages without an extended description are skipped.
struct PackageDescription {
  std::string package, synopsis, text;
};
std::vector<PackageDescription> read_package_descriptions(
    const std::filesystem::path& status = "/var/lib/dpkg/status");

// The packages scripts/setup.sh installs (a test checks that it still does).
const std::vector<std::string>& demo_root_packages();
// Names of the installed packages reachable from `roots` through hard dependencies, plus every
// installed package of Priority required, sorted. A choice "a | b" is not followed: which of
// them a machine has depends on its history, and the set must not.
std::vector<std::string> dependency_closure(const std::vector<DebianPackage>& packages,
                                            const std::vector<std::string>& roots);
// The descriptions the demo kit uses: those of dependency_closure(status, demo_root_packages()),
// sorted by package name.
std::vector<PackageDescription> demo_package_descriptions(
    const std::filesystem::path& status = "/var/lib/dpkg/status");

// The regular files of `dir` (not below it) that one of `packages` owns, per dpkg's file lists
// (<status folder>/info/<package>.list), sorted. Throws InputError naming the package to
// install when a list is missing.
std::vector<std::filesystem::path> files_owned_by(const std::filesystem::path& dir,
                                                  const std::vector<std::string>& packages,
                                                  const std::filesystem::path& status);

}  // namespace basin
