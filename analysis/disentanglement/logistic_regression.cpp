#include "analysis/disentanglement/logistic_regression.h"

#include <algorithm>
#include <cmath>
#include <deque>

#include "analysis/disentanglement/metric_utils.h"
#include "core/error.h"

namespace strata::analysis {

namespace {

double dot(const std::vector<double>& a, const std::vector<double>& b) {
  double s = 0;
  for (size_t i = 0; i < a.size(); ++i) s += a[i] * b[i];
  return s;
}

// Row-wise softmax of x W + b into p (n x C); returns nothing.
void probabilities(const std::vector<double>& x, int64_t n, int64_t d, int64_t c,
                   const std::vector<double>& w, std::vector<double>& p) {
  p.assign(static_cast<size_t>(n * c), 0.0);
  for (int64_t i = 0; i < n; ++i) {
    double* pi = &p[static_cast<size_t>(i * c)];
    for (int64_t k = 0; k < c; ++k) pi[k] = w[static_cast<size_t>(d * c + k)];
    for (int64_t f = 0; f < d; ++f) {
      const double xf = x[static_cast<size_t>(i * d + f)];
      const double* wf = &w[static_cast<size_t>(f * c)];
      for (int64_t k = 0; k < c; ++k) pi[k] += xf * wf[k];
    }
    const double m = *std::max_element(pi, pi + c);
    double z = 0;
    for (int64_t k = 0; k < c; ++k) z += (pi[k] = std::exp(pi[k] - m));
    for (int64_t k = 0; k < c; ++k) pi[k] /= z;
  }
}

}  // namespace

void LogisticRegression::fit(const std::vector<double>& x, int64_t n, int64_t d,
                             const std::vector<int64_t>& y) {
  STRATA_CHECK(n >= 2 && d >= 1, "logistic regression: needs at least 2 rows and 1 feature, got ", n, " x ",
               d);
  STRATA_CHECK(static_cast<int64_t>(x.size()) == n * d && static_cast<int64_t>(y.size()) == n,
               "logistic regression: x has ", x.size(), " values and y ", y.size(), ", expected ", n * d,
               " and ", n);
  STRATA_CHECK(options_.c > 0 && options_.max_iterations >= 1 && options_.memory >= 1,
               "logistic regression: C, max_iterations and memory must be positive, got ", options_.c, ", ",
               options_.max_iterations, ", ", options_.memory);
  d_ = d;
  detail::EncodedLabels encoded = detail::encode_labels(y, "logistic regression");
  classes_ = std::move(encoded.classes);
  const std::vector<int64_t> label = std::move(encoded.index);
  const int64_t c = static_cast<int64_t>(classes_.size());
  const double inv_n = 1.0 / static_cast<double>(n), penalty = 1.0 / (options_.c * static_cast<double>(n));
  std::vector<double> p;
  // The objective / n and its gradient.
  auto evaluate = [&](const std::vector<double>& w, std::vector<double>& g) {
    probabilities(x, n, d, c, w, p);
    double loss = 0;
    g.assign(w.size(), 0.0);
    for (int64_t i = 0; i < n; ++i) {
      double* pi = &p[static_cast<size_t>(i * c)];
      const int64_t yi = label[static_cast<size_t>(i)];
      loss -= std::log(std::max(pi[yi], 1e-300));
      pi[yi] -= 1.0;  // now the gradient of the loss with respect to the logits
      for (int64_t f = 0; f < d; ++f) {
        const double xf = x[static_cast<size_t>(i * d + f)];
        double* gf = &g[static_cast<size_t>(f * c)];
        for (int64_t k = 0; k < c; ++k) gf[k] += xf * pi[k];
      }
      for (int64_t k = 0; k < c; ++k) g[static_cast<size_t>(d * c + k)] += pi[k];
    }
    loss *= inv_n;
    for (double& v : g) v *= inv_n;
    for (int64_t i = 0; i < d * c; ++i) {
      loss += 0.5 * penalty * w[static_cast<size_t>(i)] * w[static_cast<size_t>(i)];
      g[static_cast<size_t>(i)] += penalty * w[static_cast<size_t>(i)];
    }
    return loss;
  };
  auto max_abs = [](const std::vector<double>& v) {
    double m = 0;
    for (const double e : v) m = std::max(m, std::abs(e));
    return m;
  };

  w_.assign(static_cast<size_t>((d + 1) * c), 0.0);
  std::vector<double> g, g_new, w_new, dir;
  double f = evaluate(w_, g);
  std::deque<std::vector<double>> s_hist, y_hist;
  std::deque<double> rho_hist;
  iterations_ = 0;
  while (iterations_ < options_.max_iterations && max_abs(g) > options_.tolerance) {
    // Two-loop recursion: dir = -H g.
    dir = g;
    std::vector<double> alpha(s_hist.size());
    for (size_t m = s_hist.size(); m-- > 0;) {
      alpha[m] = rho_hist[m] * dot(s_hist[m], dir);
      for (size_t i = 0; i < dir.size(); ++i) dir[i] -= alpha[m] * y_hist[m][i];
    }
    double gamma = 1.0;
    if (!s_hist.empty())
      gamma = dot(s_hist.back(), y_hist.back()) / dot(y_hist.back(), y_hist.back());
    else
      gamma = 1.0 / std::max(1.0, std::sqrt(dot(g, g)));
    for (double& v : dir) v *= gamma;
    for (size_t m = 0; m < s_hist.size(); ++m) {
      const double beta = rho_hist[m] * dot(y_hist[m], dir);
      for (size_t i = 0; i < dir.size(); ++i) dir[i] += s_hist[m][i] * (alpha[m] - beta);
    }
    for (double& v : dir) v = -v;
    double slope = dot(g, dir);
    if (!(slope < 0)) {  // not a descent direction: restart from steepest descent
      s_hist.clear(), y_hist.clear(), rho_hist.clear();
      dir = g;
      const double scale = 1.0 / std::max(1.0, std::sqrt(dot(g, g)));
      for (double& v : dir) v = -v * scale;
      slope = dot(g, dir);
    }
    double step = 1.0, f_new = 0;
    bool accepted = false;
    for (int tries = 0; tries < 40; ++tries, step *= 0.5) {
      w_new = w_;
      for (size_t i = 0; i < w_new.size(); ++i) w_new[i] += step * dir[i];
      f_new = evaluate(w_new, g_new);
      if (f_new <= f + 1e-4 * step * slope) {
        accepted = true;
        break;
      }
    }
    ++iterations_;
    if (!accepted) break;  // no decrease possible at machine precision
    std::vector<double> s(w_.size()), yv(w_.size());
    for (size_t i = 0; i < s.size(); ++i) s[i] = w_new[i] - w_[i], yv[i] = g_new[i] - g[i];
    const double sy = dot(s, yv);
    if (sy > 1e-12 * std::sqrt(dot(s, s) * dot(yv, yv))) {
      s_hist.push_back(std::move(s));
      y_hist.push_back(std::move(yv));
      rho_hist.push_back(1.0 / sy);
      if (static_cast<int64_t>(s_hist.size()) > options_.memory)
        s_hist.pop_front(), y_hist.pop_front(), rho_hist.pop_front();
    }
    w_.swap(w_new);
    g.swap(g_new);
    f = f_new;
  }
}

std::vector<double> LogisticRegression::predict_proba(const std::vector<double>& x, int64_t n) const {
  STRATA_CHECK(!classes_.empty(), "logistic regression: predict before fit");
  STRATA_CHECK(static_cast<int64_t>(x.size()) == n * d_, "logistic regression: predict got ", x.size(),
               " values, expected ", n, " x ", d_);
  std::vector<double> p;
  probabilities(x, n, d_, static_cast<int64_t>(classes_.size()), w_, p);
  return p;
}

std::vector<int64_t> LogisticRegression::predict(const std::vector<double>& x, int64_t n) const {
  const std::vector<double> p = predict_proba(x, n);
  const int64_t c = static_cast<int64_t>(classes_.size());
  std::vector<int64_t> out(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double* pi = &p[static_cast<size_t>(i * c)];
    out[static_cast<size_t>(i)] = classes_[static_cast<size_t>(std::max_element(pi, pi + c) - pi)];
  }
  return out;
}

}  // namespace strata::analysis
