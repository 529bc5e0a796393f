// RecipientList: the known recipients of list-mode verification (relay.recipient_list): a
// text file of addresses ("bob@example.net") and catch-alls ("@example.org": every local part
// of that domain), one per line; blank lines and "#" comments are ignored. Addresses compare
// ASCII case-insensitively, as Postfix's lookup tables do, and a domain's trailing dot is
// dropped. Nothing here does I/O except load_recipient_list().
// Failure: parse and load throw conf::ConfigError naming the file and line (a bad list fails
// the start with exit code 78, and a reload keeps the previous configuration).
// Threading: immutable once built; shared by the workers through the configuration snapshot.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <unordered_set>

namespace mxgate::relay {

class RecipientList {
 public:
  // Whether `address` ("local@domain") is listed, itself or through its domain's catch-all.
  bool known(std::string_view address) const;
  void add_address(std::string address);  // already normalized
  void add_domain(std::string domain);    // already normalized, without the '@'
  std::size_t size() const { return addresses_.size() + domains_.size(); }

 private:
  std::unordered_set<std::string> addresses_;
  std::unordered_set<std::string> domains_;
};

// `file` names the source in errors. Throws conf::ConfigError.
RecipientList parse_recipient_list(std::string_view text, const std::string& file);
// Reads and parses `path`. Throws conf::ConfigError (also when the file cannot be read).
RecipientList load_recipient_list(const std::string& path);

// The form both sides of a comparison take: lowercased, one trailing dot of the domain dropped.
std::string normalize_address(std::string_view address);

}  // namespace mxgate::relay
