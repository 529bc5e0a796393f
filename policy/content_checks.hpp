// The content checks of the end of data (issue 17): format, linked_domains, bulk_unsubscribe.
// In progress: they add no checks yet.
#pragma once

#include <vector>

#include "policy/check_context.hpp"

namespace mxgate::policy {

void add_format(const CheckContext& context, const reputation::CheckSettings& settings,
                std::vector<PendingCheck>& out);
void add_linked_domains(const CheckContext& context, const reputation::CheckSettings& settings,
                        std::vector<PendingCheck>& out);
void add_bulk_unsubscribe(const CheckContext& context, const reputation::CheckSettings& settings,
                          std::vector<PendingCheck>& out);

}  // namespace mxgate::policy
