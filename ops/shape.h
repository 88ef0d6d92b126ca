// Views and other shape operations, all differentiable. Views share storage with their input;
// reshape/view require a layout they can express without copying (reshape copies when it must).
#pragma once

#include <vector>

#include "engine/tensor.h"

namespace strata {

Tensor reshape(const Tensor& x, const Shape& shape);  // one dim may be -1; copies if x is not viewable
Tensor view(const Tensor& x, const Shape& shape);     // never copies; throws when impossible
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1);
Tensor t(const Tensor& x);  // transpose of a 2-D tensor
Tensor permute(const Tensor& x, const std::vector<int64_t>& dims);
// Elements start, start+step, ... < end along dim (negative start/end count from the end).
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor select(const Tensor& x, int64_t dim, int64_t index);  // removes dim
Tensor expand(const Tensor& x, const Shape& shape);          // -1 keeps a dim; size-1 dims repeat
Tensor broadcast_to(const Tensor& x, const Shape& shape);
Tensor squeeze(const Tensor& x);                             // all size-1 dims
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor contiguous(const Tensor& x);  // x itself when already contiguous
Tensor clone(const Tensor& x);       // always a fresh copy
// x on `device` (x itself when it is there already), as PyTorch's x.to(device); the gradient flows
// back to x's device. Copies to the CPU wait for the GPU; copies to a GPU are queued on its stream.
Tensor to_device(const Tensor& x, Device device);
Tensor cat(const std::vector<Tensor>& xs, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& xs, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// Rows (or slices along dim) picked by an int64 index vector.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j] = x[i][index[i][j]] along dim (index has x's rank).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// One-hot encoding of int64 class indices: shape index.shape + [num_classes], float32.
Tensor one_hot(const Tensor& index, int64_t num_classes, DType dtype = DType::Float32);

}  // namespace strata
