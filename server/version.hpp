// The version string, from CMake's project(VERSION).
#pragma once

namespace mxgate::server {
inline constexpr const char* kVersion = MXGATE_VERSION;
}
