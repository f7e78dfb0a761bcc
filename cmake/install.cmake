# Install rules (SPEC 7.5): `cmake --install <build> [--prefix P]`, DESTDIR respected.
#   P/bin/pubsubd, P/bin/pubsubctl, P/lib/systemd/system/pubsubd.service,
#   CONF/pubsub/pubsubd.toml (CONF = /etc for the prefix /usr, P/etc otherwise),
#   P/share/man/man1/pubsubd.1 and pubsubctl.1 (when help2man is there at build time),
#   P/share/pubsub/roles.sql and pubsub-alerts.yml (sample Prometheus alerting rules).
# Migrations are compiled into the binaries: nothing else to install.
include(GNUInstallDirs)

install(TARGETS pubsubd pubsubctl RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
# Database roles for production (README "Deploying"): P/share/pubsub/roles.sql.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/roles.sql DESTINATION ${CMAKE_INSTALL_DATADIR}/pubsub)
# Sample Prometheus alerting rules (README, metrics): a file to copy, so not a conffile.
install(FILES ${PROJECT_SOURCE_DIR}/packaging/pubsub-alerts.yml
        DESTINATION ${CMAKE_INSTALL_DATADIR}/pubsub)

# The unit names the installed binary and config file, and the config folder follows the prefix,
# which `cmake --install --prefix` may change after configure: both are settled at install time.
set(pubsub_pkg_src ${PROJECT_SOURCE_DIR}/packaging)
set(pubsub_pkg_bin ${PROJECT_BINARY_DIR}/packaging)
file(MAKE_DIRECTORY ${pubsub_pkg_bin})
install(CODE "
  if(CMAKE_INSTALL_PREFIX STREQUAL \"/usr\")
    set(PUBSUB_CONFDIR /etc)
  else()
    set(PUBSUB_CONFDIR \"\${CMAKE_INSTALL_PREFIX}/etc\")
  endif()
  set(PUBSUB_BINDIR \"\${CMAKE_INSTALL_PREFIX}/${CMAKE_INSTALL_BINDIR}\")
  configure_file(${pubsub_pkg_src}/pubsubd.service.in ${pubsub_pkg_bin}/pubsubd.service @ONLY)
  file(INSTALL DESTINATION \"\${CMAKE_INSTALL_PREFIX}/lib/systemd/system\" TYPE FILE
       FILES ${pubsub_pkg_bin}/pubsubd.service)
  file(INSTALL DESTINATION \"\${PUBSUB_CONFDIR}/pubsub\" TYPE FILE
       FILES ${pubsub_pkg_src}/pubsubd.toml)
")

# Man pages from the programs' own --help (help2man) plus a hand-written DESCRIPTION and
# EXAMPLES (packaging/*.h2m), rebuilt whenever a binary changes, so they never drift.
find_program(PUBSUB_HELP2MAN help2man)
if(PUBSUB_HELP2MAN)
  set(pubsub_man_pages)
  foreach(prog pubsubd pubsubctl)
    if(prog STREQUAL "pubsubd")
      set(summary "the pubsub event router daemon")
    else()
      set(summary "operate the pubsub event router")
    endif()
    add_custom_command(
      OUTPUT ${pubsub_pkg_bin}/${prog}.1
      COMMAND ${CMAKE_COMMAND} -E env --unset=PUBSUB_CONFIG
              ${PUBSUB_HELP2MAN} --no-info --section=1 --name=${summary}
              --version-string=${PROJECT_VERSION} --include=${pubsub_pkg_src}/${prog}.h2m
              --output=${pubsub_pkg_bin}/${prog}.1 $<TARGET_FILE:${prog}>
      DEPENDS ${prog} ${pubsub_pkg_src}/${prog}.h2m
      COMMENT "Writing the ${prog}(1) man page"
      VERBATIM)
    list(APPEND pubsub_man_pages ${pubsub_pkg_bin}/${prog}.1)
  endforeach()
  add_custom_target(pubsub_man ALL DEPENDS ${pubsub_man_pages})
  install(FILES ${pubsub_man_pages} DESTINATION ${CMAKE_INSTALL_MANDIR}/man1)
else()
  message(WARNING "help2man not found: the man pages pubsubd(1) and pubsubctl(1) are not built "
                  "or installed (Debian package help2man)")
endif()

# `cpack -G DEB` in the build dir: pubsub_<version>_amd64.deb. Depends are computed from the
# binaries' shared libraries (dpkg-shlibdeps); postgresql-15 is only recommended (embedded mode).
# The maintainer scripts create the `pubsub` user and enable, but do not start, the unit.
# CPACK_SET_DESTDIR: the install script sees the prefix /usr, so the config lands in /etc.
set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME pubsub)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "pubsub event router with PostgreSQL persistence")
set(CPACK_PACKAGE_CONTACT "pubsub maintainers <pubsub@localhost>")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_INSTALL_PREFIX /usr)  # the prefix the install script sees (CPACK_SET_DESTDIR)
set(CPACK_SET_DESTDIR ON)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SECTION net)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_RECOMMENDS postgresql-15)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA
    ${pubsub_pkg_src}/deb/conffiles ${pubsub_pkg_src}/deb/postinst ${pubsub_pkg_src}/deb/prerm
    ${pubsub_pkg_src}/deb/postrm)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
include(CPack)
