#include "merge/top_eigh.h"

#include <algorithm>
#include <climits>
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
TopEigh top_eigh_as(const at::Tensor& G, int64_t k) {
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
  return {w.narrow(0, 0, k).flip({0}), Z.t().flip({1})};
}

}  // namespace

TopEigh top_eigh(const at::Tensor& G, int64_t k) {
  if (G.dim() != 2 || G.size(0) != G.size(1) || G.size(0) > INT_MAX / 2)
    throw Error("top_eigh: needs a square matrix below 2^30 rows");
  if (k < 1 || k > G.size(0)) throw Error("top_eigh: k out of range");
  if (G.scalar_type() == torch::kFloat32) return top_eigh_as<float>(G, k);
  if (G.scalar_type() == torch::kFloat64) return top_eigh_as<double>(G, k);
  throw Error("top_eigh: needs float32 or float64");
}

}  // namespace basin
