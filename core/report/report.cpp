#include "report/report.h"

#include <cstdio>
#include <fstream>
#include <iterator>

#include "util/atomic_file.h"
#include "util/errors.h"

namespace fs = std::filesystem;

namespace basin {
namespace {

std::string read_binary(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError("cannot read figure '" + path.string() + "'");
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// Markdown-safe inline text: the report's own strings hold no markup, but labels may hold
// characters Markdown reads as emphasis or links ('_' inside a word is left alone, as
// CommonMark reads it literally); in a table cell '|' is escaped too.
std::string md_text(const std::string& s, bool cell = false) {
  std::string out;
  for (char c : s) {
    if (c == '*' || c == '`' || c == '[' || c == ']' || (cell && c == '|')) out += '\\';
    out += c;
  }
  return out;
}

std::string rel(const fs::path& p) {
  return p.generic_string();
}

const char* kStyle = R"(<style>
body{font-family:-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;max-width:960px;
margin:2em auto;padding:0 1em;color:#1d2433;line-height:1.45}
h1{font-size:1.7em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:2em;
border-bottom:1px solid #dde1e8;padding-bottom:.2em}
table{border-collapse:collapse;margin:.8em 0}td,th{border:1px solid #dde1e8;padding:.25em .7em;
text-align:left;font-size:.92em}th{background:#f3f5f8}
figure{margin:1em 0}figure img{max-width:100%;height:auto;border:1px solid #e4e7ec}
.caption{margin:.3em 0;font-size:.98em}.caption b{font-weight:600}
.detail{color:#4a5263}.files{font-size:.85em;color:#5a6273}.files a{color:#2a5db0}
.note{background:#fff6e0;border-left:4px solid #e0a800;padding:.5em .8em}
.skipped{color:#8a5a00}
</style>)";

}  // namespace

std::string base64(std::string_view bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (unsigned char)bytes[i] << 16 | (unsigned char)bytes[i + 1] << 8 |
                       (unsigned char)bytes[i + 2];
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += kAlphabet[v >> 6 & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = (unsigned char)bytes[i] << 16;
    if (i + 1 < bytes.size()) v |= (unsigned char)bytes[i + 1] << 8;
    out += kAlphabet[v >> 18 & 63];
    out += kAlphabet[v >> 12 & 63];
    out += i + 1 < bytes.size() ? kAlphabet[v >> 6 & 63] : '=';
    out += '=';
  }
  return out;
}

std::string html_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string report_markdown(const Report& r) {
  std::string md = "# " + md_text(r.title) + "\n\n";
  for (const auto& p : r.intro)
    md += md_text(p) + "\n\n";
  if (!r.limits.empty()) {
    md += "| Setting | Value |\n|---|---|\n";
    for (const auto& [k, v] : r.limits)
      md += "| " + md_text(k, true) + " | " + md_text(v, true) + " |\n";
    md += "\n";
  }
  if (r.seconds > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "Run time: %.0f s.\n\n", r.seconds);
    md += buf;
  }
  if (!r.figures_note.empty()) md += "> " + md_text(r.figures_note) + "\n\n";
  for (size_t k = 0; k < r.figures.size(); ++k) {
    const auto& f = r.figures[k];
    md += "## " + std::to_string(k + 1) + ". " + md_text(f.title) + "\n\n";
    if (!f.skipped.empty()) {
      md += "Not in this report: " + md_text(f.skipped) + "\n\n";
      continue;
    }
    for (const auto& im : f.images)
      if (!im.png.empty()) md += "![" + md_text(im.alt) + "](" + rel(im.png) + ")\n\n";
    md += "**" + md_text(f.caption.headline) + "**  \n" + md_text(f.caption.detail) + "\n\n";
    std::string files;
    for (const auto& im : f.images)
      for (const auto& p : {im.png, im.svg})
        if (!p.empty()) files += (files.empty() ? "" : ", ") + ("[" + rel(p) + "](" + rel(p) + ")");
    for (const auto& p : f.data)
      files += (files.empty() ? "" : ", ") + ("[" + rel(p) + "](" + rel(p) + ")");
    if (!files.empty()) md += "Files: " + files + "\n\n";
  }
  return md;
}

std::string report_html(const Report& r, const fs::path& dir) {
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>" +
                  html_escape(r.title) + "</title>\n" + kStyle + "\n</head>\n<body>\n";
  h += "<h1>" + html_escape(r.title) + "</h1>\n";
  for (const auto& p : r.intro)
    h += "<p>" + html_escape(p) + "</p>\n";
  if (!r.limits.empty()) {
    h += "<table>\n<tr><th>Setting</th><th>Value</th></tr>\n";
    for (const auto& [k, v] : r.limits)
      h += "<tr><td>" + html_escape(k) + "</td><td>" + html_escape(v) + "</td></tr>\n";
    h += "</table>\n";
  }
  if (r.seconds > 0) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "<p>Run time: %.0f s.</p>\n", r.seconds);
    h += buf;
  }
  if (!r.figures_note.empty()) h += "<p class=\"note\">" + html_escape(r.figures_note) + "</p>\n";
  for (size_t k = 0; k < r.figures.size(); ++k) {
    const auto& f = r.figures[k];
    h += "<h2>" + std::to_string(k + 1) + ". " + html_escape(f.title) + "</h2>\n";
    if (!f.skipped.empty()) {
      h += "<p class=\"skipped\">Not in this report: " + html_escape(f.skipped) + "</p>\n";
      continue;
    }
    h += "<figure>\n";
    for (const auto& im : f.images)
      if (!im.png.empty())
        h += "<img alt=\"" + html_escape(im.alt) + "\" src=\"data:image/png;base64," +
             base64(read_binary(dir / im.png)) + "\">\n";
    h += "<figcaption><p class=\"caption\"><b>" + html_escape(f.caption.headline) +
         "</b><br><span class=\"detail\">" + html_escape(f.caption.detail) +
         "</span></p></figcaption>\n</figure>\n";
    std::string files;
    for (const auto& im : f.images)
      for (const auto& p : {im.png, im.svg})
        if (!p.empty())
          files += (files.empty() ? "" : ", ") +
                   ("<a href=\"" + html_escape(rel(p)) + "\">" + html_escape(rel(p)) + "</a>");
    for (const auto& p : f.data)
      files += (files.empty() ? "" : ", ") +
               ("<a href=\"" + html_escape(rel(p)) + "\">" + html_escape(rel(p)) + "</a>");
    if (!files.empty()) h += "<p class=\"files\">Files: " + files + "</p>\n";
  }
  h += "</body>\n</html>\n";
  return h;
}

void write_report(const Report& report, const fs::path& dir) {
  write_file_atomic(dir / "report.md", report_markdown(report));
  write_file_atomic(dir / "report.html", report_html(report, dir));
}

}  // namespace basin
