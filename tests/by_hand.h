// Plain double arithmetic for the by-hand side of the model tests (test_factor_vae.cpp,
// test_conditional.cpp): matrices, Linear layers read from a module's parameters, the Bernoulli
// reconstruction term and the Gaussian KL. (test_autoencoders.cpp has its own copy of the first few.)
#pragma once

#include <cmath>
#include <map>
#include <string>
#include <vector>

#include "models/nn/module.h"

namespace strata::test {

// A row-major matrix of doubles.
struct Mat {
  int64_t rows = 0, cols = 0;
  std::vector<double> v;
  double& at(int64_t r, int64_t c) { return v[static_cast<size_t>(r * cols + c)]; }
  double at(int64_t r, int64_t c) const { return v[static_cast<size_t>(r * cols + c)]; }
};

inline Mat mat(const Tensor& t) { return {t.size(0), t.numel() / t.size(0), t.to_vector<double>()}; }

// [a, b] side by side (the rows must match).
inline Mat hcat(const Mat& a, const Mat& b) {
  Mat out{a.rows, a.cols + b.cols, std::vector<double>(static_cast<size_t>(a.rows * (a.cols + b.cols)))};
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int64_t j = 0; j < a.cols; ++j) out.at(i, j) = a.at(i, j);
    for (int64_t j = 0; j < b.cols; ++j) out.at(i, a.cols + j) = b.at(i, j);
  }
  return out;
}

// One-hot rows for class labels.
inline Mat one_hot_rows(const std::vector<int64_t>& labels, int64_t classes) {
  Mat out{static_cast<int64_t>(labels.size()), classes, std::vector<double>(labels.size() * static_cast<size_t>(classes))};
  for (size_t i = 0; i < labels.size(); ++i) out.at(static_cast<int64_t>(i), labels[i]) = 1.0;
  return out;
}

// y = x W^T + b with the weights of the Linear called `name` in m, then max(s, slope * s) when
// `slope` >= 0 (0: ReLU, 0.2: FactorVAE's LeakyReLU); no activation for slope < 0.
inline Mat linear(const Mat& x, const nn::Module& m, const std::string& name, double slope = -1) {
  std::map<std::string, Tensor> p;
  for (const auto& [n, t] : m.named_parameters()) p[n] = t;
  const Mat w = mat(p.at(name + ".weight"));
  const std::vector<double> b = p.at(name + ".bias").to_vector<double>();
  Mat y{x.rows, w.rows, std::vector<double>(static_cast<size_t>(x.rows * w.rows))};
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t o = 0; o < w.rows; ++o) {
      double s = b[static_cast<size_t>(o)];
      for (int64_t k = 0; k < x.cols; ++k) s += x.at(i, k) * w.at(o, k);
      y.at(i, o) = slope >= 0 && s < 0 ? slope * s : s;
    }
  return y;
}

// Sum over each row of -log Bernoulli(x; sigmoid(logits)).
inline std::vector<double> bce_rows(const Mat& x, const Mat& logits) {
  std::vector<double> out(static_cast<size_t>(x.rows));
  for (int64_t i = 0; i < x.rows; ++i)
    for (int64_t d = 0; d < x.cols; ++d) {
      const double p = 1 / (1 + std::exp(-logits.at(i, d)));
      out[static_cast<size_t>(i)] -= x.at(i, d) * std::log(p) + (1 - x.at(i, d)) * std::log(1 - p);
    }
  return out;
}

// KL(N(mu, exp(lv)) || N(0, 1)) summed over each row.
inline std::vector<double> kl_rows(const Mat& mu, const Mat& lv) {
  std::vector<double> out(static_cast<size_t>(mu.rows));
  for (int64_t i = 0; i < mu.rows; ++i)
    for (int64_t j = 0; j < mu.cols; ++j)
      out[static_cast<size_t>(i)] += -0.5 * (1 + lv.at(i, j) - mu.at(i, j) * mu.at(i, j) - std::exp(lv.at(i, j)));
  return out;
}

inline double mean_of(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / static_cast<double>(v.size());
}

}  // namespace strata::test
