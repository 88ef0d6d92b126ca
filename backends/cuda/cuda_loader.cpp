// Loading the CUDA backend as a plugin. Linking cuBLAS into every program cost each process about
// 0.1 s at start on the development machine (mapping libcublasLt's 540 MB), whether or not it ever
// touched a GPU: some 450 test processes, and every `strata` command. The plugin is opened with
// dlopen on the first use of a CUDA device instead.
//
// Where it is looked for, first found wins:
//   1. $STRATA_CUDA_PLUGIN (a path to the .so),
//   2. libstrata_cuda.so beside the running executable, and in the directory above it,
//   3. the build tree's copy (STRATA_CUDA_PLUGIN_PATH, set by CMake when the backend is built).
// It is not opened at all where the NVIDIA driver (libcuda.so.1) is missing.
#include "backends/cuda/cuda_loader.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <mutex>
#include <vector>

#include "core/error.h"

namespace strata::cuda_plugin {

namespace {

using DeviceCountFn = int (*)(char*, size_t);
using BackendFn = Backend* (*)(int, char*, size_t);

struct Plugin {
  void* handle = nullptr;
  DeviceCountFn device_count = nullptr;
  BackendFn backend = nullptr;
  std::string reason;  // why there is no plugin (when the functions are null)
};

std::vector<std::string> candidate_paths() {
  std::vector<std::string> paths;
  if (const char* env = std::getenv("STRATA_CUDA_PLUGIN"); env && *env) paths.emplace_back(env);
  std::error_code ec;
  const std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    paths.push_back((exe.parent_path() / "libstrata_cuda.so").string());
    paths.push_back((exe.parent_path().parent_path() / "libstrata_cuda.so").string());
  }
#ifdef STRATA_CUDA_PLUGIN_PATH
  paths.emplace_back(STRATA_CUDA_PLUGIN_PATH);
#endif
  return paths;
}

const Plugin& plugin() {
  static Plugin p;
  static std::once_flag once;
  std::call_once(once, [] {
#ifndef STRATA_CUDA_PLUGIN_PATH
    if (!std::getenv("STRATA_CUDA_PLUGIN")) {
      p.reason = "this build has no CUDA backend (configured with STRATA_CUDA=OFF, or nvcc was not found)";
      return;
    }
#endif
    // Without the driver no GPU can be used, and opening the plugin would only map cuBLAS for
    // nothing: asking for libcuda first keeps `strata train --device auto` cheap on CPU machines.
    if (void* driver = ::dlopen("libcuda.so.1", RTLD_LAZY | RTLD_LOCAL)) {
      ::dlclose(driver);
    } else {
      p.reason = "no NVIDIA driver on this machine (libcuda.so.1 cannot be loaded)";
      return;
    }
    std::string tried;
    for (const std::string& path : candidate_paths()) {
      if (::access(path.c_str(), F_OK) != 0) {
        tried += (tried.empty() ? "" : ", ") + path;
        continue;
      }
      void* handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
      if (!handle) {
        p.reason = "cannot load the CUDA backend " + path + ": " + ::dlerror();
        return;
      }
      p.device_count = reinterpret_cast<DeviceCountFn>(::dlsym(handle, "strata_cuda_device_count"));
      p.backend = reinterpret_cast<BackendFn>(::dlsym(handle, "strata_cuda_backend"));
      if (!p.device_count || !p.backend) {
        p.device_count = nullptr;
        p.backend = nullptr;
        p.reason = path + " is not a strata CUDA backend (its entry points are missing)";
      }
      p.handle = handle;
      return;  // the handle stays open for the life of the process
    }
    p.reason = "the CUDA backend libstrata_cuda.so was not found (looked for " + tried + ")";
  });
  return p;
}

// Backends already handed out (and overrides), by device index: every op on a CUDA tensor asks
// for its backend, and the common case is one atomic load.
std::array<std::atomic<Backend*>, 16> cache{};
std::array<std::atomic<bool>, 16> overridden{};

int overrides() {
  int n = 0;
  while (n < static_cast<int>(overridden.size()) && overridden[n].load()) ++n;
  return n;
}

}  // namespace

void* symbol(const char* name) {
  const Plugin& p = plugin();
  return p.handle && p.device_count ? ::dlsym(p.handle, name) : nullptr;
}

int device_count() {
  const Plugin& p = plugin();
  return std::max(overrides(), p.device_count ? p.device_count(nullptr, 0) : 0);
}

std::string unavailable_reason() {
  if (overrides() > 0) return "";
  const Plugin& p = plugin();
  if (!p.device_count) return p.reason;
  char reason[512] = {};
  return p.device_count(reason, sizeof reason) > 0 ? std::string() : std::string(reason);
}


void override_backend(int device, Backend* backend) {
  STRATA_CHECK(device >= 0 && device < static_cast<int>(cache.size()), "override_backend: device index ", device,
               " is out of range");
  cache[device].store(backend, std::memory_order_release);
  overridden[device].store(backend != nullptr);
}

bool is_overridden(int device) {
  return device >= 0 && device < static_cast<int>(overridden.size()) && overridden[device].load();
}

Backend& backend(int device) {
  const bool cacheable = device >= 0 && device < static_cast<int>(cache.size());
  if (cacheable)
    if (Backend* b = cache[device].load(std::memory_order_acquire)) return *b;
  const Plugin& p = plugin();
  const std::string name = "cuda:" + std::to_string(device);
  if (!p.backend) throw Error("device " + name + " is not available: " + p.reason);
  char error[512] = {};
  Backend* b = p.backend(device, error, sizeof error);
  if (!b) throw Error("device " + name + " is not available: " + error);
  if (cacheable) cache[device].store(b, std::memory_order_release);
  return *b;
}

}  // namespace strata::cuda_plugin
