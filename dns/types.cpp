#include "dns/types.hpp"

namespace mxgate::dns {

std::string_view to_string(Outcome outcome) {
  switch (outcome) {
    case Outcome::Answer:
      return "answer";
    case Outcome::NxDomain:
      return "nxdomain";
    case Outcome::NoData:
      return "nodata";
    case Outcome::ServFail:
      return "servfail";
    case Outcome::Refused:
      return "refused";
    case Outcome::Timeout:
      return "timeout";
    case Outcome::Error:
      return "error";
  }
  return "error";
}

std::string to_string(RecordType type) {
  switch (type) {
    case RecordType::A:
      return "A";
    case RecordType::NS:
      return "NS";
    case RecordType::CNAME:
      return "CNAME";
    case RecordType::SOA:
      return "SOA";
    case RecordType::PTR:
      return "PTR";
    case RecordType::MX:
      return "MX";
    case RecordType::TXT:
      return "TXT";
    case RecordType::AAAA:
      return "AAAA";
  }
  return "TYPE" + std::to_string(static_cast<unsigned>(type));
}

Response make_response(Outcome outcome) {
  Response response;
  response.outcome = outcome;
  return response;
}

}  // namespace mxgate::dns
