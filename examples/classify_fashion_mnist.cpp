// The README's first example, whole: an MLP classifier for Fashion-MNIST trained for one epoch with
// Adam and cross-entropy, then its test accuracy.
#include <cstdio>

#include "engine/data/fashion_mnist.h"
#include "engine/data/loader.h"
#include "engine/optim/adam.h"
#include "models/nn/nn.h"
#include "ops/ops.h"

using namespace strata;

int main() {
  try {
    manual_seed(0);
    auto net = std::make_shared<nn::Sequential>();
    net->push_back(std::make_shared<nn::Linear>(784, 256));
    net->push_back(std::make_shared<nn::ReLU>());
    net->push_back(std::make_shared<nn::Linear>(256, 10));
    optim::Adam adam(net->parameters(), {.lr = 1e-3});
    DataLoader loader(load_fashion_mnist("train"), {.batch_size = 128, .shuffle = true, .drop_last = true});
    for (const Batch& b : loader) {  // one epoch
      adam.zero_grad();
      cross_entropy(net->forward(b.inputs), b.labels).backward();
      adam.step();
    }
    NoGradGuard no_grad;
    const TensorDataset test = load_fashion_mnist("test");
    const Tensor predicted = argmax(net->forward(test.inputs()), 1);
    const double accuracy = mean(to_dtype(eq(predicted, test.labels()), DType::Float64)).item<double>();
    std::printf("test accuracy after one epoch: %.2f%%\n", 100 * accuracy);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "classify_fashion_mnist: %s\n", e.what());
    return 1;
  }
  return 0;
}
