// The URL paths of the admin API (api.hpp documents each route), shared by the API that serves
// them and by the command-line tools that call them while mxgate runs (`mxgate rep`, `queue`,
// `admin`). Constants only: a tool includes this header, not the API's.
#pragma once

#include <string_view>

namespace mxgate::admin {

inline constexpr std::string_view kAdminPrefix = "/admin/";
inline constexpr std::string_view kAdminRepPath = "/admin/rep/";
inline constexpr std::string_view kAdminIngestPath = "/admin/rep/ingest";
inline constexpr std::string_view kAdminExportPath = "/admin/rep/export";
inline constexpr std::string_view kAdminQueuePath = "/admin/queue";
inline constexpr std::string_view kAdminDelistPath = "/admin/delist";
inline constexpr std::string_view kAdminReloadPath = "/admin/reload";
inline constexpr std::string_view kAdminDrainPath = "/admin/drain";
inline constexpr std::string_view kAdminArfPath = "/admin/arf";

}  // namespace mxgate::admin
