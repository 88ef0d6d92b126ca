// The geometry of tensor-valued latent codes (Shrivastava, Rameshan & Agnihotri, "Latent Space
// Characterization of Autoencoder Variants", arXiv 2412.04755; shared/papers/latent_geometry.md).
// A latent Z of shape C x H x W is unfolded along each mode, each unfolding gives a PSD Gram
// matrix, so Z is a point on a product of three PSD-matrix manifolds; points are compared factor by
// factor, mapped to a Hilbert space by a Gaussian kernel on that distance, and the kernel-PCA
// subspaces of point sets are compared by principal angles. All in float64, on row-major vectors;
// eigendecompositions and SVDs through LAPACK (linear_algebra.h).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace strata::analysis {

// A dense row-major matrix.
struct Matrix {
  int64_t rows = 0, cols = 0;
  std::vector<double> values;
  double at(int64_t r, int64_t c) const { return values[static_cast<size_t>(r * cols + c)]; }
};

// The mode-`mode` unfolding (mode 1, 2 or 3) of the tensor z of shape {I1, I2, I3}, stored
// row-major (z[(i1 * I2 + i2) * I3 + i3]), as Kolda & Bader (SIAM Review 2009, sec. 2.4) define
// it: the mode-n fibres become the columns, the remaining indices ordered with the lower mode
// fastest. Z_(1) is I1 x (I2 I3) with column i2 + I2 i3; Z_(2) is I2 x (I1 I3) with column
// i1 + I1 i3; Z_(3) is I3 x (I1 I2) with column i1 + I1 i2.
Matrix mode_unfolding(const std::vector<double>& z, const std::array<int64_t, 3>& shape, int mode);
// S = A A^T (rows x rows): symmetric PSD. The column order of A does not change it.
Matrix gram(const Matrix& a);
// The three Gram matrices S_k = Z_(k) Z_(k)^T of z: I1 x I1, I2 x I2, I3 x I3.
std::array<Matrix, 3> mode_grams(const std::vector<double>& z, const std::array<int64_t, 3>& shape);

// The numerical rank of a matrix from its singular values (any order, all >= 0): how many exceed
// rtol * the largest one (0 for the zero matrix). rtol must be in (0, 1).
int64_t numerical_rank(const std::vector<double>& singular_values, double rtol);

// A PSD Gram matrix S = A A^T prepared for distances: its eigendecomposition, its numerical rank
// (counted on the singular values of A, sqrt(max(lambda, 0)), at the relative tolerance given), an
// orthonormal basis of its column space (the eigenvectors of the `rank` largest eigenvalues,
// n x rank row-major) and of the orthogonal complement (the other eigenvectors, n x (n - rank)),
// and log(S) when S is full rank (n x n; empty otherwise).
struct PsdFactor {
  int64_t n = 0, rank = 0;
  std::vector<double> eigenvalues;  // ascending
  std::vector<double> basis;        // n x rank, columns in descending eigenvalue order
  std::vector<double> complement;   // n x (n - rank)
  std::vector<double> log;          // n x n when rank == n
  bool full_rank() const { return rank == n; }
};
PsdFactor psd_factor(const Matrix& s, double rtol);

// Log-Euclidean distance between SPD matrices (Arsigny, Fillard, Pennec & Ayache, SIAM J. Matrix
// Anal. Appl. 2007): || log A - log B ||_F. Both must be full rank (otherwise an error naming the rank).
double log_euclidean_distance(const PsdFactor& a, const PsdFactor& b);
double log_euclidean_distance(const Matrix& a, const Matrix& b);
// Affine-invariant distance (Pennec, Fillard & Ayache, IJCV 2006): || log(A^-1/2 B A^-1/2) ||_F
// = sqrt(sum_i log^2 lambda_i), lambda_i the generalised eigenvalues of (B, A). A and B SPD.
double affine_invariant_distance(const Matrix& a, const Matrix& b);

// Principal angles (radians, ascending) between the column spaces of u (n x p) and v (n x q), both
// with orthonormal columns: acos of the singular values of u^T v, min(p, q) of them (Bjorck & Golub
// 1973). Cosines are clamped to [0, 1] against rounding.
std::vector<double> principal_angles(const std::vector<double>& u, int64_t n, int64_t p, const std::vector<double>& v,
                                     int64_t q);
// The Grassmann distance from principal angles: sqrt(sum theta_i^2 + |p - q| (pi/2)^2). For p == q
// the geodesic distance on Gr(p, n); for p != q the extension of Ye & Lim (SIAM J. Matrix Anal. Appl.
// 2016, "Schubert varieties and distances between subspaces of different dimensions", Table 2),
// which counts each dimension only one subspace has as a right angle.
double grassmann_distance(const std::vector<double>& angles, int64_t p, int64_t q);
// Between the column spaces of two PSD factors (ranks may differ; rank 0 against rank r is
// sqrt(r) pi / 2, and two rank-0 factors are at distance 0). For equal ranks r > n / 2 it works on
// the (n - r)-dimensional complements, whose nonzero principal angles are the same (Knyazev &
// Argentati, SIAM J. Sci. Comput. 2002, sec. 2) and cheaper to find.
double grassmann_distance(const PsdFactor& a, const PsdFactor& b);

// Gaussian kernel on a distance: exp(-d^2 / (2 h^2)), h > 0.
double gaussian_kernel(double distance, double bandwidth);

// Kernel PCA (Schoelkopf, Smola & Mueller, Neural Computation 1998) of n points given their kernel
// matrix k (n x n, symmetric): the centred kernel Kc = H K H (H = I - 1 1^T / n) is
// eigendecomposed, Kc = sum lambda_j u_j u_j^T, and the j-th principal direction in feature space
// is v_j = sum_i alpha_ij (phi(x_i) - mean phi), alpha_j = u_j / sqrt(lambda_j), so ||v_j|| = 1;
// the variance of the points along v_j is lambda_j / n.
struct KernelPca {
  int64_t n = 0, components = 0;
  std::vector<double> eigenvalues;   // all n eigenvalues of Kc, descending (rounding negatives kept)
  std::vector<double> coefficients;  // alpha, n x components row-major
  // Share of the total centred variance the kept components carry.
  double explained_fraction() const;
};
// `components` in 1..n-1; the kept eigenvalues must be positive (above 1e-12 of the largest),
// otherwise an error naming the component and its eigenvalue.
KernelPca kernel_pca(const std::vector<double>& k, int64_t n, int64_t components);
// Principal angles (ascending) between the kernel-PCA subspaces of two point sets a and b in the
// same feature space, from their cross kernel k_ab (a.n x b.n, k_ab[i * b.n + j] = k(a_i, b_j)):
// the cosines are the singular values of V_a^T V_b = alpha_a^T (H_a K_ab H_b) alpha_b.
std::vector<double> kernel_pca_principal_angles(const KernelPca& a, const KernelPca& b,
                                                const std::vector<double>& k_ab);

}  // namespace strata::analysis
