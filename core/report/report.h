// The study report: a self-contained report.html (figures embedded as base64 PNG, inline CSS,
// nothing loaded from elsewhere) and report.md with the figures beside it. Assembly only: the
// figures are already rendered files, the captions already computed (report/captions.h) and
// the data files already written by each analysis's result type.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "report/captions.h"

namespace basin {

// One rendered image of a figure; paths relative to the report folder (empty = not drawn).
struct ReportImage {
  std::filesystem::path png;
  std::filesystem::path svg;
  std::string alt;  // short description for the HTML alt text
};

struct ReportFigure {
  std::string title;                        // e.g. "Cosine similarity of the task adapters"
  Caption caption;                          // two lines, from the result
  std::vector<ReportImage> images;          // usually one
  std::vector<std::filesystem::path> data;  // the figure's data files (relative paths)
  std::string skipped;                      // non-empty: why the figure is not in this report
};

struct Report {
  std::string title;
  std::vector<std::string> intro;                           // paragraphs, plain text
  std::vector<std::pair<std::string, std::string>> limits;  // what was run, and how much of it
  std::vector<ReportFigure> figures;
  std::string figures_note;  // shown above the figures when set (e.g. "needs the GUI build")
  double seconds = 0;        // wall time of the run (0 = not shown)
};

// RFC 4648 base64 (with padding).
std::string base64(std::string_view bytes);
// Text with & < > " escaped for HTML.
std::string html_escape(std::string_view text);

std::string report_markdown(const Report& report);
// Reads each image's PNG from `dir` and embeds it; throws IoError naming a missing file.
std::string report_html(const Report& report, const std::filesystem::path& dir);
// Writes dir/report.md and dir/report.html atomically.
void write_report(const Report& report, const std::filesystem::path& dir);

}  // namespace basin
