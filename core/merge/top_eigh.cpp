#include "merge/top_eigh.h"

#include <algorithm>
#include <climits>
#include <cmath>
#include <limits>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "util/errors.h"

// LAPACK's Fortran symbols (the system LAPACK found by CMake; OpenBLAS's on Debian).
extern "C" {
void ssyevr_(const char* jobz, const char* range, const char* uplo, const int* n, float* a,
             const int* lda, const float* vl, const float* vu, const int* il, const int* iu,
             const float* abstol, int* m, float* w, float* z, const int* ldz, int* isuppz,
             float* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dsyevr_(const char* jobz, const char* range, const char* uplo, const int* n, double* a,
             const int* lda, const double* vl, const double* vu, const int* il, const int* iu,
             const double* abstol, int* m, double* w, double* z, const int* ldz, int* isuppz,
             double* work, const int* lwork, int* iwork, const int* liwork, int* info);
void dsytrd_(const char* uplo, const int* n, double* a, const int* lda, double* d, double* e,
             double* tau, double* work, const int* lwork, int* info);
void dstein_(const int* n, const double* d, const double* e, const int* m, const double* w,
             const int* iblock, const int* isplit, double* z, const int* ldz, double* work,
             int* iwork, int* ifail, int* info);
void dlarft_(const char* direct, const char* storev, const int* n, const int* k, double* v,
             const int* ldv, const double* tau, double* t, const int* ldt);
void dlarfb_(const char* side, const char* trans, const char* direct, const char* storev,
             const int* m, const int* n, const int* k, const double* v, const int* ldv,
             const double* t, const int* ldt, double* c, const int* ldc, double* work,
             const int* ldwork);
}

namespace basin {
namespace {

template <typename T>
void syevr(const int* n, T* a, const int* il, const int* iu, int* m, T* w, T* z, int* isuppz,
           T* work, const int* lwork, int* iwork, const int* liwork, int* info) {
  const T vl = 0, vu = 0, abstol = 0;  // abstol 0: LAPACK's default, ε ‖T‖₁
  if constexpr (std::is_same_v<T, float>)
    ssyevr_("V", "I", "L", n, a, n, &vl, &vu, il, iu, &abstol, m, w, z, n, isuppz, work, lwork,
            iwork, liwork, info);
  else
    dsyevr_("V", "I", "L", n, a, n, &vl, &vu, il, iu, &abstol, m, w, z, n, isuppz, work, lwork,
            iwork, liwork, info);
}

template <typename T>
TopEigh syevr_route(const at::Tensor& G, int64_t k) {
  const int n = static_cast<int>(G.size(0));
  // Column-major lower triangle = row-major upper triangle; G is symmetric, so a row-major
  // copy is read as the same matrix. ?syevr overwrites it.
  auto A = G.contiguous().clone();
  const int il = n - static_cast<int>(k) + 1, iu = n;
  auto w = torch::empty({n}, G.options());
  auto Z = torch::empty({k, n}, G.options());  // column-major [n, k]: k columns of n
  std::vector<int> isuppz(2 * static_cast<size_t>(k));
  int m = 0, info = 0, lwork = -1, liwork = -1, iwork_query = 0;
  T work_query = 0;
  syevr<T>(&n, A.data_ptr<T>(), &il, &iu, &m, w.data_ptr<T>(), Z.data_ptr<T>(), isuppz.data(),
           &work_query, &lwork, &iwork_query, &liwork, &info);
  if (info != 0) throw Error("top_eigh: LAPACK ?syevr workspace query failed");
  lwork = static_cast<int>(work_query);
  liwork = iwork_query;
  std::vector<T> work(static_cast<size_t>(std::max(lwork, 1)));
  std::vector<int> iwork(static_cast<size_t>(std::max(liwork, 1)));
  syevr<T>(&n, A.data_ptr<T>(), &il, &iu, &m, w.data_ptr<T>(), Z.data_ptr<T>(), isuppz.data(),
           work.data(), &lwork, iwork.data(), &liwork, &info);
  if (info != 0 || m != k)
    throw Error("top_eigh: LAPACK ?syevr failed (info " + std::to_string(info) + ", " +
                std::to_string(m) + " of " + std::to_string(k) + " eigenpairs)");
  // Ascending from LAPACK: the largest first.
  return {w.narrow(0, 0, k).flip({0}), Z.t().flip({1}), TopEigh::Route::Syevr};
}

// Reflectors per block when Q is applied: measured on the 896² Grams of the sample set, 32
// gives 6.4 ms for k = 128 vectors against dormtr's 12 ms (64: 7.0, 128: 8.7).
constexpr int kReflectorBlock = 32;

// Z ← Q Z for the Q = H(1) … H(n−1) of dsytrd('L') (H(i) = I − τ_i v_i v_iᵀ, v_i(i+1) = 1,
// v_i(i+2:n) below A's subdiagonal): the reflectors act on rows 2…n as a QR factor of
// A(2:n, 1:n−1) would, applied in blocks of kReflectorBlock from the last block to the first,
// each as I − V T Vᵀ (the compact WY form, Schreiber & Van Loan 1989).
void apply_q(int n, double* a, const double* tau, double* z, int k) {
  const int rows_all = n - 1, nb = kReflectorBlock;
  std::vector<double> t(static_cast<size_t>(nb) * nb), w(static_cast<size_t>(k) * nb);
  for (int i = (rows_all - 1) / nb * nb; i >= 0; i -= nb) {
    const int ib = std::min(nb, rows_all - i), rows = rows_all - i;
    double* v = a + 1 + i + static_cast<size_t>(i) * n;  // A(i + 2, i + 1), 1-based
    dlarft_("F", "C", &rows, &ib, v, &n, tau + i, t.data(), &nb);
    dlarfb_("L", "N", "F", "C", &rows, &k, &ib, v, &n, t.data(), &nb, z + 1 + i, &n, w.data(), &k);
  }
}

// GCC builds the Sturm counts for x86-64-v4 (eight counts per AVX-512 division) and for the
// baseline, and picks one at load time; both run the same operations on each lane.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define BASIN_STURM_CLONES __attribute__((target_clones("arch=x86-64-v4", "default")))
#else
#define BASIN_STURM_CLONES
#endif

constexpr int kLanes = 32;  // shifts counted together: hides the division's latency

// For each of kLanes shifts σ_l, the number of eigenvalues of the tridiagonal T (diagonal d,
// squared off-diagonal e2) that are <= σ_l, by the LDLᵀ pivots of T − σ I (Sturm sequence):
// LAPACK dlaebz's recurrence, a pivot below pivmin in magnitude replaced by −pivmin, which
// makes the count a monotone function of σ in floating point (Kahan 1966; Demmel, Dhillon &
// Ren 1995).
BASIN_STURM_CLONES void sturm_counts(int n, const double* d, const double* e2, double pivmin,
                                     const double* sigma, int64_t* count) {
  double q[kLanes];
  int64_t c[kLanes];
  for (int l = 0; l < kLanes; ++l) {
    double v = d[0] - sigma[l];
    v = std::abs(v) < pivmin ? -pivmin : v;
    q[l] = v;
    c[l] = v <= 0.0;
  }
  for (int j = 1; j < n; ++j) {
    const double dj = d[j], ej = e2[j - 1];
    for (int l = 0; l < kLanes; ++l) {
      double v = dj - ej / q[l] - sigma[l];
      v = std::abs(v) < pivmin ? -pivmin : v;
      q[l] = v;
      c[l] += v <= 0.0;
    }
  }
  std::copy(c, c + kLanes, count);
}

// Eigenvalues il…n (1-based, ascending) of the tridiagonal T by bisection on Sturm counts
// (LAPACK dstebz's method and tolerances: an interval is done at max(ε ‖T‖, pivmin,
// 2 ε |λ|)), kLanes eigenvalues at a time: 1.6 ms for the top 128 of an 896-row T, where
// dsterf takes 8.4 ms for all of them (they agree to 1.5e-15 ‖T‖).
void top_eigenvalues(int n, const double* d, const double* e, int il, double* w) {
  std::vector<double> e2(static_cast<size_t>(std::max(n - 1, 1)));
  double e2max = 0, lo = d[0], hi = d[0];
  for (int i = 0; i + 1 < n; ++i) {
    e2[static_cast<size_t>(i)] = e[i] * e[i];
    e2max = std::max(e2max, e2[static_cast<size_t>(i)]);
  }
  const double ulp = std::numeric_limits<double>::epsilon();
  const double pivmin = std::numeric_limits<double>::min() * std::max(1.0, e2max);
  for (int i = 0; i < n; ++i) {  // Gershgorin
    const double r = (i > 0 ? std::abs(e[i - 1]) : 0.0) + (i + 1 < n ? std::abs(e[i]) : 0.0);
    lo = std::min(lo, d[i] - r);
    hi = std::max(hi, d[i] + r);
  }
  const double tnorm = std::max(std::abs(lo), std::abs(hi));
  lo -= 2.1 * tnorm * ulp * n + 4.2 * pivmin;  // dstebz's widening
  hi += 2.1 * tnorm * ulp * n + 2.1 * pivmin;
  const double atol = std::max(ulp * tnorm, pivmin);
  const int k = n - il + 1;
  for (int g = 0; g < k; g += kLanes) {
    double a[kLanes], b[kLanes], mid[kLanes];
    int64_t index[kLanes], count[kLanes];
    for (int l = 0; l < kLanes; ++l) {
      index[l] = std::min(il + g + l, n);  // lanes past n repeat the last index
      a[l] = lo;
      b[l] = hi;
    }
    for (int step = 0; step < 256; ++step) {  // 2^-256 of any double interval: always done
      bool done = true;
      for (int l = 0; l < kLanes; ++l) {
        mid[l] = 0.5 * (a[l] + b[l]);
        done &= b[l] - a[l] <= std::max(atol, 2.0 * ulp * std::max(std::abs(a[l]), std::abs(b[l])));
      }
      if (done) break;
      sturm_counts(n, d, e2.data(), pivmin, mid, count);
      for (int l = 0; l < kLanes; ++l)
        (count[l] >= index[l] ? b[l] : a[l]) = mid[l];  // λ_index in (a, b]
    }
    for (int l = 0; l < kLanes && g + l < k; ++l)
      w[g + l] = 0.5 * (a[l] + b[l]);
  }
  std::sort(w, w + k);  // equal eigenvalues' midpoints may differ in the last bit
}

constexpr int kVectorLanes = 8;  // eigenvectors computed together

// Eigenvectors of the tridiagonal T (diagonal d, off-diagonal e with e[n-1] = 0, e2 = e²;
// n entries each) for kVectorLanes eigenvalues λ_l at once, by twisted factorisations
// (Fernando 1997; Dhillon & Parlett 2004, §2): the pivots D₊ of T − λI = L₊D₊L₊ᵀ (top down) and D₋
// of U₋D₋U₋ᵀ (bottom up), the twist index r minimising |γ_r| = |D₊(r) + D₋(r) − (d_r − λ)|, and z
// with z_r = 1, z_i = −(e_i / D₊(i)) z_{i+1} above r and z_i = −(e_{i−1} / D₋(i)) z_{i−1} below it
// (the three-term relation of T where the neighbour is 0; 0 across an exact split). Pivots below
// pivmin in magnitude are −pivmin, as in the Sturm counts. Arrays are [n][kVectorLanes];
// z comes back unnormalised.
BASIN_STURM_CLONES void twisted_vectors(int n, const double* d, const double* e, const double* e2,
                                        double pivmin, const double* lambda, double* plus,
                                        double* minus, double* z) {
  constexpr int L = kVectorLanes;
  const auto guard = [pivmin](double v) { return std::abs(v) < pivmin ? -pivmin : v; };
  for (int l = 0; l < L; ++l) {
    plus[l] = guard(d[0] - lambda[l]);
    minus[(n - 1) * L + l] = guard(d[n - 1] - lambda[l]);
  }
  for (int i = 1; i < n; ++i)
    for (int l = 0; l < L; ++l)
      plus[i * L + l] = guard(d[i] - lambda[l] - e2[i - 1] / plus[(i - 1) * L + l]);
  for (int i = n - 2; i >= 0; --i)
    for (int l = 0; l < L; ++l)
      minus[i * L + l] = guard(d[i] - lambda[l] - e2[i] / minus[(i + 1) * L + l]);
  double best[L];
  int r[L];
  for (int l = 0; l < L; ++l) {
    best[l] = std::numeric_limits<double>::infinity();
    r[l] = 0;
  }
  for (int i = 0; i < n; ++i)
    for (int l = 0; l < L; ++l) {
      const double g = std::abs(plus[i * L + l] + minus[i * L + l] - (d[i] - lambda[l]));
      r[l] = g < best[l] ? i : r[l];
      best[l] = std::min(g, best[l]);
    }
  for (int i = n - 1; i >= 0; --i)  // r and above, top down from r
    for (int l = 0; l < L; ++l) {
      const double next = i + 1 < n ? z[(i + 1) * L + l] : 0.0;
      const double next2 = i + 2 < n ? z[(i + 2) * L + l] : 0.0;
      const double step = -(e[i] / plus[i * L + l]) * next;  // e[i] read only for i < r < n
      const double skip = e[i] != 0.0 ? -(e[i + 1] / e[i]) * next2 : 0.0;
      z[i * L + l] = i > r[l] ? 0.0 : i == r[l] ? 1.0 : next != 0.0 ? step : skip;
    }
  for (int i = 1; i < n; ++i)  // below r
    for (int l = 0; l < L; ++l) {
      const double prev = z[(i - 1) * L + l], prev2 = i >= 2 ? z[(i - 2) * L + l] : 0.0;
      const double step = -(e[i - 1] / minus[i * L + l]) * prev;
      const double skip = e[i - 1] != 0.0 && i >= 2 ? -(e[i - 2] / e[i - 1]) * prev2 : 0.0;
      z[i * L + l] = i <= r[l] ? z[i * L + l] : prev != 0.0 ? step : skip;
    }
}

// T's eigenvectors for the ascending eigenvalues w[0..k) into Z [k, n] (rows): twisted
// factorisations, normalised, then Cholesky QR (Z ← L⁻¹Z with ZZᵀ = LLᵀ), which restores
// orthogonality between vectors of close eigenvalues (each is accurate to ε‖T‖ / gap) while
// moving each residual by only (overlap × gap) ≈ ε‖T‖. Identical eigenvalues give identical
// vectors: the Cholesky factorisation fails, and so does this (false). 0.9 + 0.9 ms for 128
// vectors of an 896-row T, where dstein takes 7 ms.
bool twisted_eigenvectors(int n, const double* d, const double* e, const double* w, int k,
                          at::Tensor& Z) {
  constexpr int L = kVectorLanes;
  std::vector<double> e2(static_cast<size_t>(n), 0.0), lam(L);
  double e2max = 0;
  for (int i = 0; i + 1 < n; ++i) {
    e2[static_cast<size_t>(i)] = e[i] * e[i];
    e2max = std::max(e2max, e2[static_cast<size_t>(i)]);
  }
  const double pivmin = std::numeric_limits<double>::min() * std::max(1.0, e2max);
  std::vector<double> plus(static_cast<size_t>(n) * L), minus(plus.size()), zl(plus.size());
  double* z = Z.data_ptr<double>();
  for (int g = 0; g < k; g += L) {
    for (int l = 0; l < L; ++l)
      lam[static_cast<size_t>(l)] = w[std::min(g + l, k - 1)];
    twisted_vectors(n, d, e, e2.data(), pivmin, lam.data(), plus.data(), minus.data(), zl.data());
    for (int l = 0; l < L && g + l < k; ++l) {
      double norm2 = 0;
      for (int i = 0; i < n; ++i)
        norm2 += zl[static_cast<size_t>(i) * L + l] * zl[static_cast<size_t>(i) * L + l];
      const double scale = 1.0 / std::sqrt(norm2);
      double* row = z + static_cast<size_t>(g + l) * n;
      for (int i = 0; i < n; ++i)
        row[i] = zl[static_cast<size_t>(i) * L + l] * scale;
    }
  }
  auto [chol, info] = torch::linalg_cholesky_ex(Z.mm(Z.t()), /*upper=*/false,
                                                /*check_errors=*/false);
  if (info.item<int>() != 0) return false;
  Z = torch::linalg_solve_triangular(chol, Z, /*upper=*/false).contiguous();
  return true;
}

// max_j ‖T z_j − w_j z_j‖₂ ≤ tol ‖T‖∞ and max |ZZᵀ − I| ≤ tol, for Z [k, n] (rows): the
// certificate on T (Q is orthogonal, so G's residuals are T's up to the backward error of
// dsytrd and of the back-transformation, both O(m ε ‖G‖)).
bool certified(int n, const double* d, const double* e, const double* w, const at::Tensor& Z,
               double tol) {
  const int64_t k = Z.size(0);
  const double* z = Z.data_ptr<double>();
  double norm_t = 0;
  for (int i = 0; i < n; ++i)
    norm_t = std::max(norm_t, std::abs(d[i]) + (i > 0 ? std::abs(e[i - 1]) : 0.0) +
                                  (i + 1 < n ? std::abs(e[i]) : 0.0));
  for (int64_t j = 0; j < k; ++j) {
    const double* zj = z + j * n;
    double r2 = 0;
    for (int i = 0; i < n; ++i) {
      double r = (d[i] - w[j]) * zj[i];
      if (i > 0) r += e[i - 1] * zj[i - 1];
      if (i + 1 < n) r += e[i] * zj[i + 1];
      r2 += r * r;
    }
    if (!(std::sqrt(r2) <= tol * norm_t)) return false;
  }
  const auto gram = Z.mm(Z.t()) - torch::eye(k, Z.options());
  return gram.abs().max().item<double>() <= tol;
}

// The float64 route: dsytrd, T's top k eigenvalues by bisection (top_eigenvalues; ?syevr's
// dstebz takes 28 ms for 128 of 896, dsterf 8.4 ms for all), their vectors by twisted
// factorisations or, when those fail the certificate (identical eigenvalues), by inverse
// iteration (dstein, one block: it reorthogonalises vectors whose eigenvalues lie within
// 10⁻³ ‖T‖), certified on T, then transformed back. nullopt when LAPACK reports a failure or
// neither set of vectors is certified.
std::optional<TopEigh> top_eigh_tridiagonal(const at::Tensor& G, int64_t k, double tol) {
  const int n = static_cast<int>(G.size(0)), kk = static_cast<int>(k);
  auto A = G.contiguous().clone();  // read as column-major: the same symmetric matrix
  double* a = A.data_ptr<double>();
  std::vector<double> d(n), e(n), tau(n);
  int info = 0, lwork = -1;
  double work_query = 0;
  dsytrd_("L", &n, a, &n, d.data(), e.data(), tau.data(), &work_query, &lwork, &info);
  if (info != 0) return std::nullopt;
  lwork = std::max(1, static_cast<int>(work_query));
  std::vector<double> work(static_cast<size_t>(lwork));
  dsytrd_("L", &n, a, &n, d.data(), e.data(), tau.data(), work.data(), &lwork, &info);
  if (info != 0) return std::nullopt;
  auto values = torch::empty({k}, G.options());  // the top k, ascending
  double* w = values.data_ptr<double>();
  top_eigenvalues(n, d.data(), e.data(), n - kk + 1, w);
  auto Z = torch::empty({k, n}, G.options());  // column-major [n, k]
  auto route = TopEigh::Route::Twisted;
  if (!twisted_eigenvectors(n, d.data(), e.data(), w, kk, Z) ||
      !certified(n, d.data(), e.data(), w, Z, tol)) {
    route = TopEigh::Route::InverseIteration;
    Z = torch::empty({k, n}, G.options());
    std::vector<int> iblock(static_cast<size_t>(kk), 1), isplit(1, n);
    std::vector<int> ifail(static_cast<size_t>(kk)), iwork(static_cast<size_t>(n));
    std::vector<double> work5(5 * static_cast<size_t>(n));
    dstein_(&n, d.data(), e.data(), &kk, w, iblock.data(), isplit.data(), Z.data_ptr<double>(), &n,
            work5.data(), iwork.data(), ifail.data(), &info);
    if (info != 0 || !certified(n, d.data(), e.data(), w, Z, tol)) return std::nullopt;
  }
  apply_q(n, a, tau.data(), Z.data_ptr<double>(), kk);
  return TopEigh{values.flip({0}), Z.t().flip({1}), route};
}

void check(const at::Tensor& G, int64_t k) {
  if (G.dim() != 2 || G.size(0) != G.size(1) || G.size(0) > INT_MAX / 2)
    throw Error("top_eigh: needs a square matrix below 2^30 rows");
  if (k < 1 || k > G.size(0)) throw Error("top_eigh: k out of range");
  if (G.scalar_type() != torch::kFloat32 && G.scalar_type() != torch::kFloat64)
    throw Error("top_eigh: needs float32 or float64");
}

}  // namespace

TopEigh top_eigh(const at::Tensor& G, int64_t k, double certificate_tol) {
  check(G, k);
  if (G.scalar_type() == torch::kFloat32) return syevr_route<float>(G, k);
  const double tol = certificate_tol >= 0.0
                         ? certificate_tol
                         : 4.0 * double(G.size(0)) * std::numeric_limits<double>::epsilon();
  if (G.size(0) >= 2)
    if (auto e = top_eigh_tridiagonal(G, k, tol)) return std::move(*e);
  return syevr_route<double>(G, k);
}

TopEigh top_eigh_syevr(const at::Tensor& G, int64_t k) {
  check(G, k);
  if (G.scalar_type() == torch::kFloat32) return syevr_route<float>(G, k);
  return syevr_route<double>(G, k);
}

}  // namespace basin
