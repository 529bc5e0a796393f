// Readiness for systemd's Type=notify (sd_notify(3)), without libsystemd: one datagram of
// "KEY=VALUE" lines to the unix socket named by $NOTIFY_SOCKET (a path, or an abstract socket
// when it starts with '@'). The runtime sends READY=1 once it listens, RELOADING=1 and READY=1
// around a SIGHUP reload, STOPPING=1 when it drains.
// Any thread may call these (each call opens and closes its own socket). Failure is reported,
// never thrown: a service manager that cannot be told must not stop the server.
#pragma once

#include <string>
#include <string_view>
#include <system_error>

namespace mxgate::server {

// Sends `state` to the socket `socket_name` ("/run/systemd/notify" or "@abstract-name").
std::error_code notify_socket(std::string_view socket_name, std::string_view state);

// Sends `state` to $NOTIFY_SOCKET; nothing (and no error) when it is not set, as when mxgate
// runs outside systemd.
std::error_code notify_service_manager(std::string_view state);

// "RELOADING=1" with the CLOCK_MONOTONIC time systemd 253+ asks for (Type=notify-reload).
std::string reloading_state();

}  // namespace mxgate::server
