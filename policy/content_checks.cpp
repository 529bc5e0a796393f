#include "policy/content_checks.hpp"

namespace mxgate::policy {

void add_format(const CheckContext&, const reputation::CheckSettings&, std::vector<PendingCheck>&) {}
void add_linked_domains(const CheckContext&, const reputation::CheckSettings&,
                        std::vector<PendingCheck>&) {}
void add_bulk_unsubscribe(const CheckContext&, const reputation::CheckSettings&,
                          std::vector<PendingCheck>&) {}

}  // namespace mxgate::policy
