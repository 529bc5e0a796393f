// run_blocking: runs a function that may block (a disk read, a synced write) on the blocking
// pool and resumes the calling coroutine on its own executor with the result, so that the
// worker's event loop never waits for the disk.
// Threading: `work` runs on a thread of `pool`; whatever it touches must be safe there.
// Failure: an exception from `work` propagates to the awaiting coroutine (on its executor).
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <exception>
#include <optional>
#include <type_traits>

namespace mxgate::io {

template <typename Work>
auto run_blocking(boost::asio::any_io_executor pool, Work work)
    -> boost::asio::awaitable<std::invoke_result_t<Work&>> {
  namespace asio = boost::asio;
  using Result = std::invoke_result_t<Work&>;
  const auto caller = co_await asio::this_coro::executor;
  co_await asio::post(pool, asio::use_awaitable);
  std::exception_ptr error;
  if constexpr (std::is_void_v<Result>) {
    try {
      work();
    } catch (...) {
      error = std::current_exception();
    }
    co_await asio::post(caller, asio::use_awaitable);
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<Result> result;
    try {
      result.emplace(work());
    } catch (...) {
      error = std::current_exception();
    }
    co_await asio::post(caller, asio::use_awaitable);
    if (error) std::rethrow_exception(error);
    co_return std::move(*result);
  }
}

}  // namespace mxgate::io
