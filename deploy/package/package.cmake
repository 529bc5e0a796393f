# The Debian package, built from the tree with CPack's DEB generator:
#   cmake --build build --target mxgate && (cd build && cpack)   -> build/deb/mxgate_<v>_<arch>.deb
# It holds /usr/sbin/mxgate, /etc/mxgate/mxgate.toml (a conffile, written here from
# conf/mxgate.toml so that the two never drift), the unit /lib/systemd/system/mxgate.service
# (written here from deploy/mxgate.service with the package's paths), the sysusers.d and
# tmpfiles.d entries for the mxgate user and /var/lib/mxgate, the man pages mxgate(8) and
# mxgate.toml(5), copyright and changelog. The maintainer scripts (postinst, prerm, postrm) are
# in this folder. dpkg-shlibdeps computes the library dependencies (dpkg-dev, file).
# The files are written when CMake configures; a change to any source re-runs it.
# Included by the top-level CMakeLists.txt.

set(package_source ${PROJECT_SOURCE_DIR}/deploy/package)
set(package_dir ${PROJECT_BINARY_DIR}/package)
file(MAKE_DIRECTORY ${package_dir})
set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS
  ${PROJECT_SOURCE_DIR}/conf/mxgate.toml ${PROJECT_SOURCE_DIR}/deploy/mxgate.service
  ${PROJECT_SOURCE_DIR}/docs/man/mxgate.8 ${PROJECT_SOURCE_DIR}/docs/man/mxgate.toml.5
  ${package_source}/changelog)

# Replaces `from` (which must occur in `text`, so that a change to the source fails the build
# here rather than shipping a file that silently kept the old value) with `to`.
function(mxgate_package_replace var from to)
  string(FIND "${${var}}" "${from}" found)
  if(found EQUAL -1)
    message(FATAL_ERROR "deploy/package/package.cmake: \"${from}\" is no longer in the file it "
                        "edits; update the package's replacement")
  endif()
  string(REPLACE "${from}" "${to}" text "${${var}}")
  set(${var} "${text}" PARENT_SCOPE)
endfunction()

# /etc/mxgate/mxgate.toml: conf/mxgate.toml with absolute paths under /var/lib/mxgate, SMTP on
# port 25 and a placeholder route. Every other key and comment is the reference's.
file(READ ${PROJECT_SOURCE_DIR}/conf/mxgate.toml config)
mxgate_package_replace(config "-c conf/mxgate.toml" "-c /etc/mxgate/mxgate.toml")
mxgate_package_replace(config
"# As shipped, this file runs on loopback for trying mxgate out: SMTP on 127.0.0.1:2525, HTTP on
# 127.0.0.1:8025, mail for example.com relayed to 127.0.0.1:2526 (e.g. Postfix's smtp-sink).
"
"# This is /etc/mxgate/mxgate.toml as the Debian package ships it (made from conf/mxgate.toml of
# mxgate's source tree; see mxgate.toml(5)): SMTP on port 25 of every IPv4 address, metrics and
# the admin API on 127.0.0.1:8025, the postmaster portal on 127.0.0.1:8080, all state under
# /var/lib/mxgate (the unit's StateDirectory). Before `systemctl enable --now mxgate`, set the
# [[route]] to your domains and mailbox servers, server.hostname and reputation.postmaster_url.
")
mxgate_package_replace(config "\nlisten = [\"127.0.0.1:2525\"]\n"
"
# Shipped: IPv4 only, which starts on any host; add \"[::]:25\" when the host has IPv6 (and the
# MX name an AAAA record). The unit grants CAP_NET_BIND_SERVICE for port 25.
listen = [\"0.0.0.0:25\"]
")
mxgate_package_replace(config
"[[route]]
domains = [\"example.com\", \".example.com\"]
downstream = [\"127.0.0.1:2526\"]
"
"# Shipped: a placeholder. Replace it with your domains and the mailbox servers that take their
# mail (a domain no route names is not relayed).
[[route]]
domains = [\"example.com\", \".example.com\"]
downstream = [\"127.0.0.1:2525\"]
")
mxgate_package_replace(config
"# Default: \"/var/lib/mxgate\". Shipped as \"../var/mxgate\" (relative to this file's directory:
# var/mxgate in the repository, which git ignores) so that trying mxgate out needs no root.
"
"# Default: \"/var/lib/mxgate\", the package's state directory (owned by mxgate, mode 0750; the
# unit's StateDirectory=, the only place ProtectSystem=strict lets mxgate write).
")
mxgate_package_replace(config "path = \"../var/mxgate\"" "path = \"/var/lib/mxgate\"")
mxgate_package_replace(config "\npath = \"\"\nretry = " "\npath = \"/var/lib/mxgate/queue\"\nretry = ")
file(WRITE ${package_dir}/mxgate.toml "${config}")

# The unit: deploy/mxgate.service, whose paths are a source install's (/usr/local/sbin).
file(READ ${PROJECT_SOURCE_DIR}/deploy/mxgate.service unit)
mxgate_package_replace(unit "/usr/local/sbin/mxgate" "/usr/sbin/mxgate")
file(WRITE ${package_dir}/mxgate.service "${unit}")

# Man pages and the changelog, gzipped without a time stamp (reproducible; Debian policy 12.1).
configure_file(${package_source}/changelog ${package_dir}/changelog @ONLY)
foreach(page IN ITEMS ${PROJECT_SOURCE_DIR}/docs/man/mxgate.8
                      ${PROJECT_SOURCE_DIR}/docs/man/mxgate.toml.5 ${package_dir}/changelog)
  get_filename_component(name ${page} NAME)
  execute_process(COMMAND gzip -9nc ${page} OUTPUT_FILE ${package_dir}/${name}.gz
                  RESULT_VARIABLE gzip_result)
  if(NOT gzip_result EQUAL 0)
    message(FATAL_ERROR "gzip ${page} failed")
  endif()
endforeach()

install(FILES ${package_dir}/mxgate.8.gz DESTINATION share/man/man8)
install(FILES ${package_dir}/mxgate.toml.5.gz DESTINATION share/man/man5)
# The system's own places (absolute): only the package installs them, not `cmake --install`.
set(system COMPONENT system EXCLUDE_FROM_ALL)
install(FILES ${package_dir}/mxgate.toml DESTINATION /etc/mxgate ${system})
install(FILES ${package_dir}/mxgate.service DESTINATION /lib/systemd/system ${system})
install(FILES ${package_source}/sysusers.conf DESTINATION /usr/lib/sysusers.d
        RENAME mxgate.conf ${system})
install(FILES ${package_source}/tmpfiles.conf DESTINATION /usr/lib/tmpfiles.d
        RENAME mxgate.conf ${system})
install(FILES ${package_source}/copyright ${package_dir}/changelog.gz
        DESTINATION /usr/share/doc/mxgate ${system})

# cpack builds only what it installs (the mxgate binary), not every test and benchmark.
set(CMAKE_SKIP_INSTALL_ALL_DEPENDENCY ON)

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME mxgate)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DIRECTORY ${PROJECT_BINARY_DIR}/deb)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "edge-MX SMTP gateway")
# CPack puts the summary first and indents this text under it.
set(CPACK_PACKAGE_DESCRIPTION "mxgate is the first SMTP server that the Internet's senders \
reach: it terminates SMTP and STARTTLS, screens senders by reputation, DNS checks, SPF, DKIM \
and DMARC, throttles them, and relays accepted mail to the mailbox servers behind it, inline \
or through a durable queue.")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER
    "mxgate maintainers <maintainers@users.noreply.r-seed-227393e5.example>")
set(CPACK_DEBIAN_PACKAGE_SECTION mail)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
# The postinst runs systemd-sysusers and systemd-tmpfiles (as dh_installsysusers would).
set(CPACK_DEBIAN_PACKAGE_DEPENDS
    "systemd | systemd-standalone-sysusers | systemd-sysusers, systemd | systemd-standalone-tmpfiles")
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${package_source}/postinst ${package_source}/prerm ${package_source}/postrm
    ${package_source}/conffiles)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_STRIP_FILES ON)
# One package of the default component (the binary, the man pages) and the system files.
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_GROUPING ALL_COMPONENTS_IN_ONE)
set(CPACK_COMPONENTS_ALL Unspecified system)
include(CPack)
