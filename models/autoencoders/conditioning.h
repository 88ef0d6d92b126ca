// Class conditioning for the autoencoder family: the conditional VAE (CVAE) of Sohn, Lee & Yan,
// NeurIPS 2015, "Learning Structured Output Representation using Deep Conditional Generative
// Models". Their eq. 4 bounds log p(y | x) >= E_q(z|x,y)[log p(y | x, z)] - KL(q(z | x, y) || p(z | x));
// here their input x is a class c and their output y is our example x, and the prior is p(z) = N(0, I)
// (the relaxation p(z | x) = p(z) their sec. 3 allows), so every model keeps its objective with
// q(z | x, c) and p(x | z, c) in place of q(z | x) and p(x | z). The one-hot class is appended to
// the encoder's input and to the decoder's input:
//  - mlp:  [x, onehot(c)], D + C features;
//  - conv: C constant image planes after the image's channels (the one-hot broadcast over the
//          S x S pixels), so the convolutions see the class at every position, (channels + C) S S.
// The decoder's first layer is a Linear in both architectures and reads [z, onehot(c)].
#pragma once

#include <string>

#include "models/autoencoders/architecture.h"

namespace strata::models {

// labels (int64 [N], each in 0..num_classes-1) as a one-hot [N, num_classes] of `dtype`; throws
// naming `model` and the label or shape at fault.
Tensor one_hot_condition(const Tensor& labels, int64_t num_classes, DType dtype, const std::string& model);

// The architecture and input width of an encoder that reads x with `num_classes` one-hot
// features appended (append_condition's layout).
ArchitectureSpec conditioned_encoder_spec(const ArchitectureSpec& spec, int64_t num_classes);
int64_t conditioned_input_dim(const ArchitectureSpec& spec, int64_t input_dim, int64_t num_classes,
                              const std::string& model);

// x [N, input_dim] with the one-hot [N, C] appended as described above.
Tensor append_condition(const Tensor& x, const Tensor& one_hot, const ArchitectureSpec& spec, int64_t input_dim,
                        const std::string& model);

}  // namespace strata::models
