# basin_core's precompiled header (core/basin_pch.h) holds torch/torch.h: about 650 MB that every
# file compiled with it loads. A file that uses no LibTorch pays 11-17 s for it (measured on
# the 2-core machine: core/lora/peft_config.cpp 26 s with it, 9 s without;
# core/landscape/surface.cpp 23 s against 12 s), while a file that does use LibTorch saves
# about 13 s against parsing torch/torch.h itself. So a target's .cpp files that never name
# LibTorch (no "torch::", "torch/", "at::", "c10::" or "Tensor") are compiled without it; the
# rest reuse it.
#
# The check reads the files when cmake configures. A file's first use of LibTorch therefore
# needs a re-run of cmake (or an #include of the torch header it uses), else it fails to compile
# with "'torch' has not been declared"; a false match only costs that file the speed-up.
function(basin_torch_pch target)
  if(target STREQUAL "basin_core")
    target_precompile_headers(basin_core PRIVATE basin_pch.h)
  else()
    target_precompile_headers(${target} REUSE_FROM basin_core)
  endif()
  get_target_property(sources ${target} SOURCES)
  get_target_property(dir ${target} SOURCE_DIR)
  foreach(source IN LISTS sources)
    if(NOT source MATCHES "\\.cpp$")
      continue()
    endif()
    cmake_path(ABSOLUTE_PATH source BASE_DIRECTORY "${dir}" OUTPUT_VARIABLE path)
    if(NOT EXISTS "${path}")
      continue()
    endif()
    file(READ "${path}" text)
    if(NOT text MATCHES "torch::|torch/|at::|c10::|Tensor")
      set_source_files_properties("${source}" PROPERTIES SKIP_PRECOMPILE_HEADERS ON)
    endif()
  endforeach()
endfunction()
