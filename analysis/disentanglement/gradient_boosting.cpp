#include "analysis/disentanglement/gradient_boosting.h"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "analysis/disentanglement/metric_utils.h"
#include "core/error.h"

namespace strata::analysis {

void GradientBoostingClassifier::fit(const std::vector<double>& x, int64_t n, int64_t d,
                                     const std::vector<int64_t>& y) {
  STRATA_CHECK(n >= 2 && d >= 1, "gradient boosting: needs at least 2 rows and 1 feature, got ", n, " x ", d);
  STRATA_CHECK(static_cast<int64_t>(x.size()) == n * d && static_cast<int64_t>(y.size()) == n,
               "gradient boosting: x has ", x.size(), " values and y ", y.size(), ", expected ", n * d,
               " and ", n);
  STRATA_CHECK(options_.num_estimators >= 1 && options_.learning_rate > 0 && options_.max_depth >= 1,
               "gradient boosting: num_estimators, learning_rate and max_depth must be positive, got ",
               options_.num_estimators, ", ", options_.learning_rate, ", ", options_.max_depth);
  d_ = d;
  detail::EncodedLabels encoded = detail::encode_labels(y, "gradient boosting");
  classes_ = std::move(encoded.classes);
  const std::vector<int64_t> label = std::move(encoded.index);
  const int64_t num_classes = static_cast<int64_t>(classes_.size());
  const bool binary = num_classes == 2;
  const int64_t columns = binary ? 1 : num_classes;

  // Initial scores: log priors (log odds for two classes).
  std::vector<double> prior(static_cast<size_t>(num_classes), 0.0);
  for (const int64_t c : label) prior[static_cast<size_t>(c)] += 1.0 / static_cast<double>(n);
  init_.assign(static_cast<size_t>(columns), 0.0);
  if (binary)
    init_[0] = std::log(prior[1] / prior[0]);
  else
    for (int64_t c = 0; c < columns; ++c)
      init_[static_cast<size_t>(c)] = std::log(prior[static_cast<size_t>(c)]);
  std::vector<double> score(static_cast<size_t>(n * columns));
  for (int64_t i = 0; i < n; ++i)
    for (int64_t c = 0; c < columns; ++c)
      score[static_cast<size_t>(i * columns + c)] = init_[static_cast<size_t>(c)];

  // Each feature's rows in ascending order of value, once.
  std::vector<std::vector<int64_t>> order(static_cast<size_t>(d));
  std::vector<std::vector<double>> sorted(static_cast<size_t>(d));  // the values in that order
  for (int64_t f = 0; f < d; ++f) {
    auto& o = order[static_cast<size_t>(f)];
    o.resize(static_cast<size_t>(n));
    std::iota(o.begin(), o.end(), 0);
    std::stable_sort(o.begin(), o.end(), [&](int64_t a, int64_t b) {
      return x[static_cast<size_t>(a * d + f)] < x[static_cast<size_t>(b * d + f)];
    });
    for (const int64_t i : o) sorted[static_cast<size_t>(f)].push_back(x[static_cast<size_t>(i * d + f)]);
  }

  std::vector<double> total_gain(static_cast<size_t>(d), 0.0);
  stages_.clear();
  std::vector<double> prob(static_cast<size_t>(n * columns));
  for (int64_t stage = 0; stage < options_.num_estimators; ++stage) {
    // Probabilities at the stage's start (all of a stage's trees see the same ones).
    for (int64_t i = 0; i < n; ++i) {
      double* p = &prob[static_cast<size_t>(i * columns)];
      const double* s = &score[static_cast<size_t>(i * columns)];
      if (binary) {
        p[0] = 1.0 / (1.0 + std::exp(-s[0]));
      } else {
        const double m = *std::max_element(s, s + columns);
        double z = 0;
        for (int64_t c = 0; c < columns; ++c) z += (p[c] = std::exp(s[c] - m));
        for (int64_t c = 0; c < columns; ++c) p[c] /= z;
      }
    }
    std::vector<Tree> trees(static_cast<size_t>(columns));
    std::vector<std::vector<double>> gains(static_cast<size_t>(columns));
    std::vector<std::vector<double>> updates(static_cast<size_t>(columns));
    tbb::parallel_for(int64_t{0}, columns, [&](int64_t c) {
      const int64_t target = binary ? 1 : c;
      std::vector<double> r(static_cast<size_t>(n)), h(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) {
        const double p = prob[static_cast<size_t>(i * columns + c)];
        r[static_cast<size_t>(i)] = (label[static_cast<size_t>(i)] == target ? 1.0 : 0.0) - p;
        h[static_cast<size_t>(i)] = p * (1.0 - p);
      }
      Tree tree(1);
      std::vector<int64_t> node_of(static_cast<size_t>(n), 0);
      std::vector<double> gain(static_cast<size_t>(d), 0.0);
      std::vector<int64_t> frontier{0};
      for (int64_t depth = 0; depth < options_.max_depth && !frontier.empty(); ++depth) {
        const size_t nodes = tree.size();
        // Node totals (count, sum r, sum r^2) for the frontier.
        std::vector<double> cnt(nodes, 0), sum(nodes, 0), sq(nodes, 0);
        std::vector<char> open(nodes, 0);
        for (const int64_t nd : frontier) open[static_cast<size_t>(nd)] = 1;
        for (int64_t i = 0; i < n; ++i) {
          const size_t nd = static_cast<size_t>(node_of[static_cast<size_t>(i)]);
          if (!open[nd]) continue;
          const double ri = r[static_cast<size_t>(i)];
          cnt[nd] += 1, sum[nd] += ri, sq[nd] += ri * ri;
        }
        std::vector<double> base(nodes, 0);
        for (const int64_t nd : frontier)
          if (cnt[static_cast<size_t>(nd)] > 0)
            base[static_cast<size_t>(nd)] =
                sum[static_cast<size_t>(nd)] * sum[static_cast<size_t>(nd)] / cnt[static_cast<size_t>(nd)];
        std::vector<double> best_gain(nodes, 0), best_thr(nodes, 0);
        std::vector<int64_t> best_f(nodes, -1);
        std::vector<double> lc(nodes), ls(nodes), last(nodes);
        for (int64_t f = 0; f < d; ++f) {
          std::fill(lc.begin(), lc.end(), 0.0);
          std::fill(ls.begin(), ls.end(), 0.0);
          const std::vector<int64_t>& o = order[static_cast<size_t>(f)];
          const std::vector<double>& xs = sorted[static_cast<size_t>(f)];
          for (size_t p = 0; p < o.size(); ++p) {
            const int64_t i = o[p];
            const size_t nd = static_cast<size_t>(node_of[static_cast<size_t>(i)]);
            if (!open[nd]) continue;
            const double xi = xs[p];
            if (lc[nd] > 0 && xi > last[nd]) {
              // The decrease of the squared error, sl^2/nl + sr^2/nr - s^2/n, with one division.
              const double nl = lc[nd], nr = cnt[nd] - lc[nd], sl = ls[nd], sr = sum[nd] - ls[nd];
              const double g = (sl * sl * nr + sr * sr * nl) / (nl * nr) - base[nd];
              if (g > best_gain[nd]) {
                best_gain[nd] = g, best_f[nd] = f;
                best_thr[nd] = last[nd] + (xi - last[nd]) / 2;
                if (!(best_thr[nd] < xi)) best_thr[nd] = last[nd];
              }
            }
            lc[nd] += 1, ls[nd] += r[static_cast<size_t>(i)], last[nd] = xi;
          }
        }
        std::vector<int64_t> next;
        for (const int64_t nd : frontier) {
          const size_t u = static_cast<size_t>(nd);
          const double sse = sq[u] - sum[u] * sum[u] / cnt[u];
          if (best_f[u] < 0 || !(best_gain[u] > 1e-9 * sse) || !(sse > 0)) continue;
          tree[u].feature = best_f[u];
          tree[u].threshold = best_thr[u];
          tree[u].left = static_cast<int64_t>(tree.size());
          tree[u].right = tree[u].left + 1;
          tree.emplace_back();
          tree.emplace_back();
          gain[static_cast<size_t>(best_f[u])] += best_gain[u];
          next.push_back(tree[u].left);
          next.push_back(tree[u].right);
        }
        for (int64_t i = 0; i < n; ++i) {
          const Node& nd = tree[static_cast<size_t>(node_of[static_cast<size_t>(i)])];
          if (nd.feature < 0) continue;
          node_of[static_cast<size_t>(i)] =
              x[static_cast<size_t>(i * d + nd.feature)] <= nd.threshold ? nd.left : nd.right;
        }
        frontier = std::move(next);
      }
      // Leaves: one Newton step each.
      std::vector<double> num(tree.size(), 0), den(tree.size(), 0);
      for (int64_t i = 0; i < n; ++i) {
        const size_t nd = static_cast<size_t>(node_of[static_cast<size_t>(i)]);
        num[nd] += r[static_cast<size_t>(i)], den[nd] += h[static_cast<size_t>(i)];
      }
      const double factor = binary ? 1.0 : static_cast<double>(columns - 1) / static_cast<double>(columns);
      for (size_t u = 0; u < tree.size(); ++u)
        if (tree[u].feature < 0) tree[u].value = std::abs(den[u]) < 1e-150 ? 0.0 : factor * num[u] / den[u];
      std::vector<double> upd(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i)
        upd[static_cast<size_t>(i)] = tree[static_cast<size_t>(node_of[static_cast<size_t>(i)])].value;
      trees[static_cast<size_t>(c)] = std::move(tree);
      gains[static_cast<size_t>(c)] = std::move(gain);
      updates[static_cast<size_t>(c)] = std::move(upd);
    });
    for (int64_t c = 0; c < columns; ++c) {
      for (int64_t f = 0; f < d; ++f)
        total_gain[static_cast<size_t>(f)] += gains[static_cast<size_t>(c)][static_cast<size_t>(f)];
      for (int64_t i = 0; i < n; ++i)
        score[static_cast<size_t>(i * columns + c)] +=
            options_.learning_rate * updates[static_cast<size_t>(c)][static_cast<size_t>(i)];
    }
    stages_.push_back(std::move(trees));
  }
  const double total = std::accumulate(total_gain.begin(), total_gain.end(), 0.0);
  importances_.assign(static_cast<size_t>(d), 0.0);
  if (total > 0)
    for (int64_t f = 0; f < d; ++f)
      importances_[static_cast<size_t>(f)] = total_gain[static_cast<size_t>(f)] / total;
}

std::vector<int64_t> GradientBoostingClassifier::predict(const std::vector<double>& x, int64_t n) const {
  STRATA_CHECK(!classes_.empty(), "gradient boosting: predict before fit");
  STRATA_CHECK(static_cast<int64_t>(x.size()) == n * d_, "gradient boosting: predict got ", x.size(),
               " values, expected ", n, " x ", d_);
  const int64_t columns = static_cast<int64_t>(init_.size());
  std::vector<int64_t> out(static_cast<size_t>(n));
  std::vector<double> s(static_cast<size_t>(columns));
  for (int64_t i = 0; i < n; ++i) {
    s = init_;
    const double* row = &x[static_cast<size_t>(i * d_)];
    for (const auto& trees : stages_)
      for (int64_t c = 0; c < columns; ++c) {
        const Tree& t = trees[static_cast<size_t>(c)];
        size_t u = 0;
        while (t[u].feature >= 0)
          u = static_cast<size_t>(row[t[u].feature] <= t[u].threshold ? t[u].left : t[u].right);
        s[static_cast<size_t>(c)] += options_.learning_rate * t[u].value;
      }
    const int64_t best = columns == 1 ? (s[0] > 0 ? 1 : 0) : std::max_element(s.begin(), s.end()) - s.begin();
    out[static_cast<size_t>(i)] = classes_[static_cast<size_t>(best)];
  }
  return out;
}

}  // namespace strata::analysis
