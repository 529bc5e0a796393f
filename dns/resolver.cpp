#include "dns/resolver.hpp"

#include <algorithm>

namespace mxgate::dns {
namespace {

// Copies outcome, chain and TTL, and decodes each record with `decode` (which returns false
// for data of the wrong shape, possible only from a hand-made Response). An Answer left
// without records becomes Error, so ok() always means "at least one record".
template <typename T, typename Decode>
Lookup<T> convert(const Response& response, Decode decode) {
  Lookup<T> out;
  out.outcome = response.outcome;
  out.cname_chain = response.cname_chain;
  out.ttl = response.ttl;
  if (response.outcome != Outcome::Answer) return out;
  for (const Record& record : response.records) {
    T value;
    value.ttl = record.ttl;
    if (decode(record.data, value)) out.records.push_back(std::move(value));
  }
  if (out.records.empty()) out.outcome = Outcome::Error;
  return out;
}

constexpr char kHex[] = "0123456789abcdef";

}  // namespace

Lookup<AddressRecord> addresses_of(const Response& response) {
  return convert<AddressRecord>(response, [](const RData& data, AddressRecord& out) {
    const auto* ip = std::get_if<common::IpBytes>(&data);
    if (ip == nullptr) return false;
    out.address = *ip;
    return true;
  });
}

Lookup<NameRecord> names_of(const Response& response) {
  return convert<NameRecord>(response, [](const RData& data, NameRecord& out) {
    const auto* name = std::get_if<NameData>(&data);
    if (name == nullptr) return false;
    out.name = name->name;
    return true;
  });
}

Lookup<TxtRecord> texts_of(const Response& response) {
  return convert<TxtRecord>(response, [](const RData& data, TxtRecord& out) {
    const auto* txt = std::get_if<TxtData>(&data);
    if (txt == nullptr) return false;
    for (const std::string& part : txt->strings) out.text += part;  // RFC 7208 §3.3
    return true;
  });
}

Lookup<MxRecord> exchanges_of(const Response& response) {
  Lookup<MxRecord> out = convert<MxRecord>(response, [](const RData& data, MxRecord& mx) {
    const auto* decoded = std::get_if<MxData>(&data);
    if (decoded == nullptr) return false;
    mx.preference = decoded->preference;
    mx.exchange = decoded->exchange;
    return true;
  });
  std::stable_sort(
      out.records.begin(), out.records.end(),
      [](const MxRecord& a, const MxRecord& b) { return a.preference < b.preference; });
  return out;
}

bool is_null_mx(const Lookup<MxRecord>& mx) {
  return mx.ok() && mx.records.size() == 1 && mx.records.front().exchange == ".";
}

std::string reversed_labels(const common::IpBytes& address) {
  std::string out;
  if (address.family == 4) {
    for (int i = 3; i >= 0; --i) {
      out += std::to_string(address.bytes[static_cast<std::size_t>(i)]);
      if (i > 0) out += '.';
    }
  } else if (address.family == 6) {
    for (int i = 15; i >= 0; --i) {
      const std::uint8_t octet = address.bytes[static_cast<std::size_t>(i)];
      out += kHex[octet & 0x0F];
      out += '.';
      out += kHex[octet >> 4];
      if (i > 0) out += '.';
    }
  }
  return out;
}

std::string reverse_name(const common::IpBytes& address) {
  std::string labels = reversed_labels(address);
  if (labels.empty()) return labels;
  return labels + (address.family == 4 ? ".in-addr.arpa" : ".ip6.arpa");
}

boost::asio::awaitable<Lookup<AddressRecord>> Resolver::a(std::string name) {
  const Response response = co_await query(std::move(name), RecordType::A);
  co_return addresses_of(response);
}

boost::asio::awaitable<Lookup<AddressRecord>> Resolver::aaaa(std::string name) {
  const Response response = co_await query(std::move(name), RecordType::AAAA);
  co_return addresses_of(response);
}

boost::asio::awaitable<Lookup<NameRecord>> Resolver::ptr(common::IpBytes address) {
  std::string name = reverse_name(address);
  if (name.empty()) {
    co_return names_of(make_response(Outcome::Error));
  }
  const Response response = co_await query(std::move(name), RecordType::PTR);
  co_return names_of(response);
}

boost::asio::awaitable<Lookup<TxtRecord>> Resolver::txt(std::string name) {
  const Response response = co_await query(std::move(name), RecordType::TXT);
  co_return texts_of(response);
}

boost::asio::awaitable<Lookup<MxRecord>> Resolver::mx(std::string name) {
  const Response response = co_await query(std::move(name), RecordType::MX);
  co_return exchanges_of(response);
}

std::optional<Response> Resolver::peek(const std::string& /*name*/, RecordType /*type*/) {
  return std::nullopt;
}

namespace {

// The cached answer to (name, type) converted into a typed Lookup, or nullopt when not cached.
template <typename Convert>
auto peek_as(Resolver& resolver, const std::string& name, RecordType type, Convert convert)
    -> std::optional<decltype(convert(std::declval<const Response&>()))> {
  auto response = resolver.peek(name, type);
  if (!response) return std::nullopt;
  return convert(*response);
}

RecordType address_type(int family) { return family == 4 ? RecordType::A : RecordType::AAAA; }

}  // namespace

std::optional<Lookup<AddressRecord>> Resolver::peek_a(const std::string& name) {
  return peek_as(*this, name, RecordType::A, addresses_of);
}

std::optional<Lookup<AddressRecord>> Resolver::peek_aaaa(const std::string& name) {
  return peek_as(*this, name, RecordType::AAAA, addresses_of);
}

std::optional<Lookup<NameRecord>> Resolver::peek_ptr(const common::IpBytes& address) {
  const std::string name = reverse_name(address);
  if (name.empty()) return names_of(make_response(Outcome::Error));
  return peek_as(*this, name, RecordType::PTR, names_of);
}

std::optional<Lookup<MxRecord>> Resolver::peek_mx(const std::string& name) {
  return peek_as(*this, name, RecordType::MX, exchanges_of);
}

std::optional<Lookup<TxtRecord>> Resolver::peek_txt(const std::string& name) {
  return peek_as(*this, name, RecordType::TXT, texts_of);
}

boost::asio::awaitable<Lookup<AddressRecord>> Resolver::addresses(std::string name, int family) {
  const Response response = co_await query(std::move(name), address_type(family));
  co_return addresses_of(response);
}

std::optional<Lookup<AddressRecord>> Resolver::peek_addresses(const std::string& name,
                                                             int family) {
  return peek_as(*this, name, address_type(family), addresses_of);
}

bool has_address(const Lookup<AddressRecord>& lookup, const common::IpBytes& ip) {
  return std::any_of(lookup.records.begin(), lookup.records.end(), [&](const AddressRecord& r) {
    return r.address.family == ip.family && r.address.bytes == ip.bytes;
  });
}

}  // namespace mxgate::dns
