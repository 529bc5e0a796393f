#include "storage/error.hpp"

#include <string>

namespace mxgate::storage {
namespace {

// boost::system::error_category's destructor is protected and non-virtual by design.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class Category final : public boost::system::error_category {
 public:
  const char* name() const noexcept override { return "mxgate.storage"; }
  std::string message(int value) const override {
    switch (static_cast<Error>(value)) {
      case Error::io:
        return "storage I/O error";
      case Error::corruption:
        return "storage corruption";
      case Error::busy:
        return "storage busy";
      case Error::read_only:
        return "store is read-only";
      case Error::full:
        return "pending batch full";
      case Error::other:
        return "storage error";
    }
    return "unknown storage error";
  }
};
#pragma GCC diagnostic pop

}  // namespace

const boost::system::error_category& error_category() {
  static const Category category;
  return category;
}

boost::system::error_code make_error_code(Error e) {
  return {static_cast<int>(e), error_category()};
}

}  // namespace mxgate::storage
