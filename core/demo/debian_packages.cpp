#include "demo/debian_packages.h"

#include <algorithm>
#include <map>
#include <set>
#include <sstream>

#include "demo/text_sources.h"
#include "util/errors.h"
#include "util/strings.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

// "libc6 (>= 2.34), debconf | debconf-2.0, python3:any" → {"libc6", "python3"}: a field's
// relations without version constraints or architecture qualifiers; choices are dropped.
void add_relations(std::string_view field, std::vector<std::string>& out) {
  for (const auto& rel : split(field, ',')) {
    if (rel.find('|') != std::string::npos) continue;
    std::string name = squeeze(rel);
    name = name.substr(0, name.find_first_of(" (:["));
    if (!name.empty()) out.push_back(std::move(name));
  }
}

}  // namespace

std::vector<DebianPackage> read_dpkg_status(const fs::path& status) {
  std::istringstream in(read_source_file(status, "dpkg"));
  std::vector<DebianPackage> out;
  DebianPackage cur;
  std::string field;  // the field continuation lines belong to
  auto flush = [&] {
    cur.text = squeeze(cur.text);
    if (!cur.name.empty()) out.push_back(std::move(cur));
    cur = {};
    field.clear();
  };
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) {
      flush();
      continue;
    }
    if (line[0] == ' ' || line[0] == '\t') {
      // deb-control(5): " ." is an empty line of the extended description; folded relation
      // fields continue on indented lines too.
      if (field == "Description" && line != " .") cur.text += " " + line;
      if (field == "Depends" || field == "Pre-Depends") add_relations(line, cur.depends);
      continue;
    }
    const size_t colon = line.find(':');
    field = line.substr(0, colon);
    const std::string value = colon == std::string::npos ? "" : squeeze(line.substr(colon + 1));
    if (field == "Package") cur.name = value;
    if (field == "Status") cur.installed = value == "install ok installed";
    if (field == "Priority") cur.priority = value;
    if (field == "Description") cur.synopsis = value;
    if (field == "Depends" || field == "Pre-Depends") add_relations(value, cur.depends);
  }
  flush();
  return out;
}

namespace {

// Installed packages with an extended description, in `packages`' order, those not in `keep`
// (when given) left out.
std::vector<PackageDescription> descriptions_of(std::vector<DebianPackage> packages,
                                                const std::set<std::string>* keep = nullptr) {
  std::vector<PackageDescription> out;
  for (auto& p : packages)
    if (p.installed && !p.synopsis.empty() && !p.text.empty() && is_valid_utf8(p.synopsis) &&
        is_valid_utf8(p.text) && (!keep || keep->count(p.name)))
      out.push_back({std::move(p.name), std::move(p.synopsis), std::move(p.text)});
  return out;
}

}  // namespace

std::vector<PackageDescription> read_package_descriptions(const fs::path& status) {
  return descriptions_of(read_dpkg_status(status));
}

const std::vector<std::string>& demo_root_packages() {
  // scripts/setup.sh's PACKAGES when kit version 4 was made; adding one there does not change
  // kits, removing one fails DebianPackages.RootsAreInstalledBySetup.
  static const std::vector<std::string> roots = {"build-essential",
                                                 "cmake",
                                                 "ninja-build",
                                                 "ccache",
                                                 "pkg-config",
                                                 "qt6-base-dev",
                                                 "qt6-base-dev-tools",
                                                 "qt6-svg-dev",
                                                 "libqcustomplot-dev",
                                                 "libqcustomplot2.1-qt6",
                                                 "libgl1-mesa-dev",
                                                 "libxkbcommon-dev",
                                                 "libtorch-dev",
                                                 "libeigen3-dev",
                                                 "nlohmann-json3-dev",
                                                 "libcli11-dev",
                                                 "libgtest-dev",
                                                 "libgmock-dev",
                                                 "libbenchmark-dev",
                                                 "clang-14",
                                                 "libclang-rt-14-dev",
                                                 "lld-14",
                                                 "llvm-14",
                                                 "libpcre2-dev",
                                                 "libicu-dev",
                                                 "libopenblas0-pthread",
                                                 "xvfb",
                                                 "xauth",
                                                 "bsdgames",
                                                 "r-cran-tm",
                                                 "wordnet-base",
                                                 "fortunes",
                                                 "gettext",
                                                 "file",
                                                 "desktop-file-utils",
                                                 "appstream",
                                                 "groff-base"};
  return roots;
}

std::vector<std::string> dependency_closure(const std::vector<DebianPackage>& packages,
                                            const std::vector<std::string>& roots) {
  std::map<std::string, const DebianPackage*> installed;
  for (const auto& p : packages)
    if (p.installed) installed[p.name] = &p;
  std::vector<std::string> todo(roots.begin(), roots.end());
  for (const auto& [name, p] : installed)
    if (p->priority == "required") todo.push_back(name);
  std::set<std::string> seen;
  while (!todo.empty()) {
    const std::string name = std::move(todo.back());
    todo.pop_back();
    const auto it = installed.find(name);
    if (it == installed.end() || !seen.insert(name).second) continue;
    todo.insert(todo.end(), it->second->depends.begin(), it->second->depends.end());
  }
  return {seen.begin(), seen.end()};
}

std::vector<PackageDescription> demo_package_descriptions(const fs::path& status) {
  auto packages = read_dpkg_status(status);  // read and parsed once
  const auto names = dependency_closure(packages, demo_root_packages());
  const std::set<std::string> keep(names.begin(), names.end());
  auto out = descriptions_of(std::move(packages), &keep);
  std::sort(out.begin(), out.end(),
            [](const auto& a, const auto& b) { return a.package < b.package; });
  return out;
}

std::vector<fs::path> files_owned_by(const fs::path& dir, const std::vector<std::string>& packages,
                                     const fs::path& status) {
  const fs::path info = status.parent_path() / "info";
  std::set<fs::path> owned;
  for (const auto& package : packages) {
    // Multi-Arch: same packages keep their list as <package>:<arch>.list.
    fs::path list = info / (package + ".list");
    std::error_code ec;
    if (!fs::exists(list, ec) && fs::is_directory(info, ec))
      for (const auto& e : fs::directory_iterator(info, ec))
        if (e.path().filename().string().starts_with(package + ":") &&
            e.path().extension() == ".list")
          list = e.path();
    std::istringstream in(read_source_file(list, package));
    for (std::string line; std::getline(in, line);)
      if (fs::path(line).parent_path() == dir) owned.insert(line);
  }
  std::vector<fs::path> out;
  for (const auto& f : owned)
    if (fs::is_regular_file(f)) out.push_back(f);
  return out;
}

}  // namespace basin
