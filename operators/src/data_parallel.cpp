// DataParallel: torch's ProcessGroupGloo on a FileStore; local ranks spawned with posix_spawn (see the header).
#include "iterop/operators/data_parallel.hpp"

#define USE_C10D_GLOO 1  // ProcessGroupGloo.hpp declares the class only with it (Debian's libtorch is built with Gloo)
#include <torch/csrc/distributed/c10d/FileStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <csignal>
#include <cstring>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "detail/data_parallel.hpp"
#include "iterop/core/errors.hpp"

extern char** environ;

namespace iterop::operators {
namespace {

struct Group {
  int rank = 0;
  int size = 1;
  std::string store_path;
  bool spawned_here = false;  // rank 0 that spawned ranks 1..size-1
  std::vector<pid_t> children;
  std::vector<std::string> logs;  // stderr of each spawned rank
  c10::intrusive_ptr<c10d::ProcessGroupGloo> pg;
};

Group* g_group = nullptr;

std::vector<std::string> own_command_line() {
  std::ifstream f("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  std::string cur;
  for (char c : all) {
    if (c == '\0') {
      args.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) args.push_back(cur);
  return args;
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

pid_t spawn_rank(const std::vector<std::string>& command, int rank, int size, const std::string& store,
                 const std::string& log) {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (ec) throw backend_error("data parallel", "cannot find this executable (/proc/self/exe): " + ec.message());
  std::vector<std::string> envs;
  for (char** e = environ; *e; ++e) {
    const std::string s(*e);
    if (s.rfind("ITEROP_DP_", 0) != 0) envs.push_back(s);
  }
  envs.push_back("ITEROP_DP_RANK=" + std::to_string(rank));
  envs.push_back("ITEROP_DP_SIZE=" + std::to_string(size));
  envs.push_back("ITEROP_DP_STORE=" + store);
  std::vector<char*> argv, envp;
  for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  for (const auto& e : envs) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);  // rank 0 alone prints results
  posix_spawn_file_actions_addopen(&fa, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = 0;
  const int rc = posix_spawn(&pid, exe.c_str(), &fa, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw backend_error("data parallel", "cannot start rank " + std::to_string(rank) + " (" + exe.string() + "): " +
                                                        std::strerror(rc));
  return pid;
}

int wait_for(pid_t pid) {
  int st = 0;
  while (waitpid(pid, &st, 0) < 0) {
    if (errno != EINTR) return 127;
  }
  if (WIFEXITED(st)) return WEXITSTATUS(st);
  if (WIFSIGNALED(st)) return 128 + WTERMSIG(st);
  return 127;
}

// Leaves the group: the process group first, then (rank 0 that spawned) the ranks, their logs and the store.
int leave(Group& g) {
  g.pg.reset();
  int status = 0;
  for (std::size_t i = 0; i < g.children.size(); ++i) {
    const int s = wait_for(g.children[i]);
    if (s != 0) {
      std::cerr << "data parallel: rank " << i + 1 << " of " << g.size << " exited with status " << s << "; its messages:\n"
                << slurp(g.logs[i]);
      if (status == 0) status = s;
    }
    std::filesystem::remove(g.logs[i]);
  }
  if (g.spawned_here) std::filesystem::remove(g.store_path);
  return status;
}

}  // namespace

DataParallel::DataParallel(const DataParallelOptions& o) {
  require(o.ranks >= 0 && o.ranks <= 4096, "DataParallelOptions::ranks", o.ranks, "0 <= ranks <= 4096");
  require(o.timeout_seconds > 0, "DataParallelOptions::timeout_seconds", o.timeout_seconds, "timeout_seconds > 0");
  require(g_group == nullptr, "DataParallel", std::string("a second group"), "one DataParallel at a time per process");
  const DataParallelLaunch& l = o.launch;
  const bool launched = l.size > 0;
  require(l.size >= 0 && l.size <= 4096, "DataParallelLaunch::size", l.size, "0 <= size <= 4096 (0: not launched as a rank)");
  require(!launched || (l.rank >= 0 && l.rank < l.size), "DataParallelLaunch::rank", l.rank,
          "0 <= rank < size (" + std::to_string(l.size) + ")");
  auto g = std::make_unique<Group>();
  if (launched) {
    g->rank = l.rank;
    g->size = l.size;
    g->store_path = l.store;
  } else {
    g->size = std::max(o.ranks, 1);
  }
  require(g->size >= 1 && g->rank < g->size, "data parallel rank", g->rank, "0 <= rank < size (" + std::to_string(g->size) + ")");
  require(o.ranks == 0 || o.ranks == g->size, "DataParallelOptions::ranks", o.ranks,
          "0 or the launcher's number of ranks (" + std::to_string(g->size) + ")");
  if (g->size > 1 && !launched) {
    static std::atomic<int> counter{0};
    const auto stamp = std::chrono::steady_clock::now().time_since_epoch().count();
    g->store_path = (std::filesystem::temp_directory_path() /
                     ("iterop-dp-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + std::to_string(stamp)))
                        .string();
    g->spawned_here = true;
    const auto command = o.command.empty() ? own_command_line() : o.command;
    require(!command.empty(), "DataParallelOptions::command", std::string("empty"), "a command line for the spawned ranks");
    try {
      for (int r = 1; r < g->size; ++r) {
        g->logs.push_back(g->store_path + ".rank" + std::to_string(r) + ".log");
        g->children.push_back(spawn_rank(command, r, g->size, g->store_path, g->logs.back()));
      }
    } catch (...) {
      for (pid_t p : g->children) ::kill(p, SIGTERM);
      leave(*g);
      throw;
    }
  }
  if (g->size > 1) {
    require(!g->store_path.empty(), "DataParallelLaunch::store", std::string("empty"),
            "a store file shared by the ranks (the iterop command: ITEROP_DP_STORE, or a launcher that names its job)");
    try {
      const auto timeout = std::chrono::milliseconds(int64_t(o.timeout_seconds * 1000));
      auto store = c10::make_intrusive<c10d::FileStore>(g->store_path, g->size);
      store->setTimeout(timeout);
      auto opts = c10d::ProcessGroupGloo::Options::create(timeout);
      opts->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname(l.host.empty() ? "127.0.0.1" : l.host));
      g->pg = c10::make_intrusive<c10d::ProcessGroupGloo>(store, g->rank, g->size, opts);
    } catch (const std::exception& e) {
      for (pid_t p : g->children) ::kill(p, SIGTERM);
      leave(*g);
      throw backend_error("gloo", std::string("cannot form the process group of ") + std::to_string(g->size) +
                                      " ranks through the store " + g->store_path + ": " + e.what());
    }
  }
  g_group = g.release();
}

DataParallel::~DataParallel() { finish(); }

int DataParallel::rank() const { return g_group ? g_group->rank : 0; }
int DataParallel::size() const { return g_group ? g_group->size : 1; }

int DataParallel::finish() {
  if (finished_) return status_;
  finished_ = true;
  if (g_group) {
    status_ = leave(*g_group);
    delete g_group;
    g_group = nullptr;
  }
  return status_;
}

namespace detail {

bool data_parallel_active() { return g_group && g_group->size > 1; }
int data_parallel_rank() { return g_group ? g_group->rank : 0; }

BatchShare batch_share(int64_t batch) {
  if (!data_parallel_active()) return {0, batch, 1.0};
  const int64_t r = g_group->rank, n = g_group->size;
  BatchShare s;
  s.lo = batch * r / n;
  s.hi = batch * (r + 1) / n;
  s.weight = double(s.hi - s.lo) / double(batch);
  return s;
}

double reduce_gradients(const std::vector<torch::Tensor>& params, const torch::Tensor& loss,
                        const std::vector<torch::Tensor*>& means) {
  if (!data_parallel_active()) return loss.item<double>();
  torch::NoGradGuard no_grad;
  const auto dtype = params.empty() ? loss.scalar_type() : params.front().scalar_type();
  std::vector<torch::Tensor> parts;
  parts.reserve(params.size() + 1);
  for (const auto& p : params) {
    const auto& gr = p.grad();
    parts.push_back(gr.defined() ? gr.reshape(-1).to(torch::kCPU, dtype) : torch::zeros({p.numel()}, torch::dtype(dtype)));
  }
  parts.push_back(loss.detach().reshape(1).to(torch::kCPU, dtype));
  for (const auto* t : means) parts.push_back(t->detach().reshape(1).to(torch::kCPU, dtype));
  std::vector<torch::Tensor> flat{torch::cat(parts)};
  g_group->pg->allreduce(flat)->wait();  // a sum: each rank's loss is already weighted by its share of the batch
  int64_t at = 0;
  for (const auto& p : params) {
    auto part = flat[0].slice(0, at, at + p.numel()).view(p.sizes()).to(p.device(), p.scalar_type());
    at += p.numel();
    auto& gr = const_cast<torch::Tensor&>(p).mutable_grad();
    if (gr.defined()) {
      gr.copy_(part);
    } else {
      gr = part.clone();
    }
  }
  for (std::size_t i = 0; i < means.size(); ++i)
    *means[i] = flat[0][at + 1 + int64_t(i)].to(means[i]->device(), means[i]->scalar_type()).clone();
  return flat[0][at].item<double>();
}

}  // namespace detail
}  // namespace iterop::operators
