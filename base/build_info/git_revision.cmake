# Script mode (cmake -P): writes OUT from IN with VERSION and the git revision of SOURCE_DIR
# ("unknown" outside a git checkout, e.g. a source tarball; "-dirty" with uncommitted changes).
find_package(Git QUIET)
set(REVISION unknown)
if(GIT_FOUND)
  execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} rev-parse --short=12 HEAD
                  OUTPUT_VARIABLE rev OUTPUT_STRIP_TRAILING_WHITESPACE
                  RESULT_VARIABLE rc ERROR_QUIET)
  if(rc EQUAL 0 AND rev)
    set(REVISION ${rev})
    execute_process(COMMAND ${GIT_EXECUTABLE} -C ${SOURCE_DIR} diff --quiet HEAD --
                    RESULT_VARIABLE dirty ERROR_QUIET)
    if(NOT dirty EQUAL 0)
      string(APPEND REVISION -dirty)
    endif()
  endif()
endif()
configure_file(${IN} ${OUT} @ONLY)  # leaves OUT untouched when the text is the same
