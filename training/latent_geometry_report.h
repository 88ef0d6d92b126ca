// `strata analyze latent-geometry`: the latent-space geometry of a CAE, a DAE and a VAE under input
// perturbation (Shrivastava, Rameshan & Agnihotri, arXiv 2412.04755; shared/papers/latent_geometry.md).
//
// 1. Trains the three models of models/autoencoders/spatial_autoencoder.h (one convolutional encoder,
//    a Cz x 7 x 7 latent) on Fashion-MNIST's training images (Adam, batch 128), or, with --reuse,
//    loads RUNS/MODEL.safetensors written by an earlier call with the same settings.
// 2. Draws `images` test images without replacement (Generator(seed)) and one noise image eps per
//    image (N(0, I), Generator(seed + 1)); the input at level sigma is x + sigma eps (not clipped),
//    so each image follows one straight path as sigma grows, the same for all three models.
// 3. Per model, level and image: the latent (the VAE's posterior mean), its three mode-unfolding
//    Gram matrices S_k (analysis/latent_geometry.h), their numerical ranks at the relative tolerance
//    rank_rtol on the singular values of Z_(k) (and at the looser effective_rtol).
// 4. Distances, per factor k: log-Euclidean when S_k has full rank for every image and level of
//    that model, otherwise the Grassmann distance between the column spaces (different ranks: Ye &
//    Lim's extension); the product distance is sqrt(sum_k d_k^2). Each point's displacement is its
//    distance to the same image's sigma = 0 point.
// 5. A Gaussian kernel on the product distance (bandwidth h: the median pairwise distance of the
//    model's sigma = 0 points, fixed for every level), kernel PCA of each level's points with
//    `components` components, and the principal angles and Grassmann distance between each level's
//    subspace and the sigma = 0 one (cross kernels between the levels). For scale, the same distance
//    between the sigma = 0 subspaces of the two halves of the images ("split-half").
//
// Writes OUT-points.csv (one row per model, image and level), OUT-ranks.csv and OUT-subspaces.csv
// (summaries), OUT-ranks.png, OUT-effective-ranks.png, OUT-rank-changes.png and OUT-subspaces.png;
// prints progress.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

namespace strata::training {

struct LatentGeometryOptions {
  std::vector<std::string> models = {"cae", "dae", "vae"};
  int64_t epochs = 2;
  int64_t limit_train = 0;  // the first N training images (0: all 60,000)
  int64_t batch_size = 128;
  double lr = 1e-3;
  int64_t latent_channels = 16;  // Cz
  bool code_relu = true;         // CAE/DAE: ReLU on the code
  double dae_sigma = 0.3;        // DAE: training noise
  int64_t images = 200;          // test images analysed
  std::vector<double> sigmas = {0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45, 0.5};  // starts at 0
  double rank_rtol = 1e-5;       // numerical rank: singular values above rtol * the largest
  double effective_rtol = 1e-2;  // a looser count, reported beside it
  int64_t components = 5;        // kernel-PCA components per level
  uint64_t seed = 0;
  std::string runs = "runs/latent-geometry";  // RUNS/MODEL.safetensors: the trained weights
  bool reuse = false;                         // load the weights when present and of the same settings
  std::string out = "docs/latent-geometry";
  int threads = 0;                 // CPU threads (0: leave as is)
  std::ostream* log = nullptr;     // progress (null: std::cout)
};

struct LatentRankRow {
  std::string model;
  int mode = 1;          // 1, 2, 3
  int64_t size = 0;      // the Gram matrix is size x size
  std::string distance;  // "log-euclidean" or "grassmann"
  double sigma = 0;
  double rank_mean = 0, rank_sd = 0;
  int64_t rank_min = 0, rank_max = 0;
  double changed = 0;  // share of images whose rank differs from their sigma = 0 rank
  double effective_rank_mean = 0, effective_rank_sd = 0;
  double effective_changed = 0;  // the same share for the effective rank
  double displacement_mean = 0, displacement_sd = 0;  // d_k to the same image at sigma = 0
};

struct LatentSubspaceRow {
  std::string model;
  double sigma = 0;
  int64_t components = 0;
  double grassmann = 0, largest_angle = 0, smallest_angle = 0;  // radians
  double explained = 0;      // share of the centred kernel variance the components carry
  double bandwidth = 0;      // h of the model
  double split_half = 0;     // Grassmann distance between the halves' sigma = 0 subspaces
  double product_displacement_mean = 0;  // product distance to the same image at sigma = 0
};

struct LatentModelSummary {
  std::string model;
  int64_t steps = 0;
  double train_s = 0, final_loss = 0, test_reconstruction = 0;  // nats per image (BCE summed over pixels)
  bool reused = false;
};

struct LatentGeometryReport {
  std::vector<LatentModelSummary> models;
  std::vector<LatentRankRow> ranks;
  std::vector<LatentSubspaceRow> subspaces;
  std::vector<std::string> files;
  double wall_s = 0;
};

LatentGeometryReport latent_geometry_report(const LatentGeometryOptions& options);

}  // namespace strata::training
