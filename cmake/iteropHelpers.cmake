# Helpers shared by the iterop CMake files.

# Use ccache as the compiler launcher when it is installed, with the source folder as its base_dir:
# paths below it are hashed relative to the build folder, so two checkouts (a clean CI clone and a
# working copy) share the cache.
function(iterop_use_ccache)
  find_program(ITEROP_CCACHE ccache)
  if(ITEROP_CCACHE AND NOT CMAKE_CXX_COMPILER_LAUNCHER)
    set(CMAKE_CXX_COMPILER_LAUNCHER ${CMAKE_COMMAND} -E env CCACHE_BASEDIR=${PROJECT_SOURCE_DIR} ${ITEROP_CCACHE}
        PARENT_SCOPE)
  endif()
endfunction()

# iterop_optional_package(<VAR> <Package> <description> [version] [find_package args...])
# <VAR> unset: ON when the package is found. <VAR>=ON: the package is required (error if missing).
# <VAR>=OFF: not searched.
macro(iterop_optional_package var pkg description)
  if(DEFINED ${var} AND NOT ${var})
    message(STATUS "${var}=OFF: ${pkg} not used")
  elseif(DEFINED ${var} AND ${var})
    find_package(${pkg} ${ARGN} REQUIRED)
  else()
    find_package(${pkg} ${ARGN} QUIET)
    if(${pkg}_FOUND)
      set(${var} ON CACHE BOOL "${description}")
    else()
      set(${var} OFF CACHE BOOL "${description}")
    endif()
  endif()
  add_feature_info(${var} ${var} "${description}")
endmacro()

# Warnings for the project's own targets.
function(iterop_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor)
endfunction()
