// The 2-layer GCN baseline (Kipf & Welling 2017) on LibTorch: glorot-initialised weights, sparse
// A_hat products, dropout, Adam with weight decay on the first layer, model selection on validation.
#include "iterop/operators/gcn.hpp"

#include <chrono>
#include <cmath>

#include <torch/nn/functional/dropout.h>
#include <torch/nn/init.h>
#include <torch/nn/module.h>
#include <torch/optim/adam.h>
#include <torch/utils.h>

#include "detail/graph_tensors.hpp"

namespace iterop::operators {
namespace {

namespace F = torch::nn::functional;

struct GcnNet : torch::nn::Module {
  torch::Tensor w1, b1, w2, b2;
  double p;
  GcnNet(int64_t in, int64_t hidden, int64_t out, double dropout) : p(dropout) {
    w1 = register_parameter("w1", glorot(in, hidden));
    b1 = register_parameter("b1", torch::zeros({hidden}));
    w2 = register_parameter("w2", glorot(hidden, out));
    b2 = register_parameter("b2", torch::zeros({out}));
  }
  static torch::Tensor glorot(int64_t in, int64_t out) {
    const double r = std::sqrt(6.0 / double(in + out));
    return torch::rand({in, out}) * (2 * r) - r;
  }
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& adj) {
    auto h = detail::feature_dropout(x, p, is_training());
    h = torch::relu(torch::mm(adj, torch::mm(h, w1)) + b1);
    h = F::dropout(h, F::DropoutFuncOptions().p(p).training(is_training()));
    return torch::mm(adj, torch::mm(h, w2)) + b2;
  }
};

}  // namespace

void GcnOptions::validate() const {
  require(hidden >= 1, "GcnOptions::hidden", hidden, "hidden >= 1");
  require(dropout >= 0 && dropout < 1, "GcnOptions::dropout", dropout, "0 <= dropout < 1");
  require(lr > 0, "GcnOptions::lr", lr, "lr > 0");
  require(weight_decay >= 0, "GcnOptions::weight_decay", weight_decay, "weight_decay >= 0");
  require(epochs >= 1, "GcnOptions::epochs", epochs, "epochs >= 1");
  require(feature_scaling == "none" || feature_scaling == "standardise", "GcnOptions::feature_scaling",
          feature_scaling, "\"none\" or \"standardise\"");
}

TrainReport train_gcn(const GraphData& g, const GcnOptions& o) {
  o.validate();
  const torch::Device device = detail::parse_device(o.device);
  return detail::translate_torch_errors([&] {
    const auto t0 = std::chrono::steady_clock::now();
    const auto data = detail::to_tensors(g, o.row_normalise, o.feature_scaling, "GcnOptions::feature_scaling", device);
    torch::manual_seed(o.seed);
    auto net = std::make_shared<GcnNet>(g.num_features, o.hidden, g.num_classes, o.dropout);
    net->to(device);
    using torch::optim::AdamOptions;
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(std::vector<torch::Tensor>{net->w1, net->b1},
                        std::make_unique<AdamOptions>(AdamOptions(o.lr).weight_decay(o.weight_decay)));
    groups.emplace_back(std::vector<torch::Tensor>{net->w2, net->b2},
                        std::make_unique<AdamOptions>(
                            AdamOptions(o.lr).weight_decay(o.decay_first_layer_only ? 0.0 : o.weight_decay)));
    torch::optim::Adam opt(std::move(groups), AdamOptions(o.lr));
    TrainReport rep;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
      net->train();
      opt.zero_grad();
      auto loss = detail::cross_entropy(net->forward(data.x, data.adj), data.labels, data.train);
      loss.backward();
      opt.step();
      EpochRecord e;
      e.epoch = epoch;
      e.loss = loss.item<double>();
      {
        torch::NoGradGuard no_grad;
        net->eval();
        auto logits = net->forward(data.x, data.adj);
        e.train_acc = detail::accuracy(logits, data.labels, data.train);
        e.val_acc = detail::accuracy(logits, data.labels, data.val);
        e.test_acc = detail::accuracy(logits, data.labels, data.test);
        e.val_loss = data.val.numel() ? detail::cross_entropy(logits, data.labels, data.val).item<double>() : 0.0;
      }
      rep.epochs.push_back(e);
      if (detail::better(e, rep)) {
        rep.best_epoch = epoch;
        rep.best_val_acc = e.val_acc;
        rep.test_acc = e.test_acc;
      }
    }
    rep.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return rep;
  });
}

}  // namespace iterop::operators
