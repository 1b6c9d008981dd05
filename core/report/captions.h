// Two-line captions of the report's figures, computed from each analysis's result: what the
// figure shows on this run's numbers. Numbers are printed with three decimals ("%.3f", "—" for
// a missing value); pairs are written "a–b".
#pragma once

#include <string>

#include "analysis/pairwise_matrix.h"
#include "report/model_sizes.h"
#include "report/oracle_vs_base.h"

namespace basin {

struct ConnectivityResult;
struct MultitaskResult;
struct SoupResult;
struct SurfaceResult;

struct Caption {
  std::string headline;  // first line: the finding, with its numbers
  std::string detail;    // second line: the numbers that qualify it
};

// A number as captions print it: "%.3f", "—" when not finite, never "-0.000".
std::string caption_number(double v);

// Cosine similarity of ΔW (off-diagonal |cos|: mean, largest and smallest pair).
Caption cosine_caption(const PairwiseMatrix& cosine);
// Multitask score per method at each task count: the best router-free method per count, the
// base model, the gate rows (mole, moa, arrow) when present, and the tasks the score counts.
Caption multitask_caption(const MultitaskResult& result);
// Convexity gap of every pair (Juneja et al. 2022): largest, mean, against the models' losses.
Caption convexity_caption(const ConnectivityResult& result);
// CKA matrix: the base model ("base") to each adapter, and the adapters among themselves.
Caption cka_caption(const PairwiseMatrix& cka);
// Greedy soup (Wortsman et al. 2022) against its best single ingredient and the uniform soup.
Caption soup_caption(const SoupResult& soup);
// Loss surface: the lowest loss on the plane, whether it lies inside the triangle of the three
// models, and the loss at the grid points nearest each model.
Caption surface_caption(const SurfaceResult& surface);
// Model sizes (the router-free study's "bigger models merge better"): whether the router-free
// merges keep more of the own adapters on the largest model than on the smallest — said either
// way — with the best merge, the gate rows and the own adapters' raw scores of each size.
Caption model_sizes_caption(const ModelSizes& sizes);
// Per-task oracle vs base: tasks where the own adapter is better, the largest gain, the means.
Caption oracle_vs_base_caption(const OracleVsBase& scores);

}  // namespace basin
