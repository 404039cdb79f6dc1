# fraud_library(NAME SOURCES ... DEPS ...): one module under src/ = one static library
# fraudstream_<NAME>, aliased fraud::<NAME>, with src/ as its include root.
# fraud_test(NAME SOURCES ... DEPS ... [LABELS ...]): a gtest binary registered with ctest.
# Unit tests carry the label "unit" (the set the sanitizer build runs); slow ones add "slow".

set(FRAUD_WARNINGS -Wall -Wextra -Wpedantic -Wno-missing-field-initializers)

if(FRAUD_SANITIZE)
  add_compile_options(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
  add_link_options(-fsanitize=address,undefined)
endif()

function(fraud_library name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS" ${ARGN})
  add_library(fraudstream_${name} STATIC ${ARG_SOURCES})
  add_library(fraud::${name} ALIAS fraudstream_${name})
  target_include_directories(fraudstream_${name} PUBLIC ${PROJECT_SOURCE_DIR}/src)
  target_compile_options(fraudstream_${name} PRIVATE ${FRAUD_WARNINGS})
  target_link_libraries(fraudstream_${name} PUBLIC ${ARG_DEPS})
endfunction()

function(fraud_test name)
  cmake_parse_arguments(ARG "" "" "SOURCES;DEPS;LABELS" ${ARGN})
  if(NOT FRAUD_BUILD_TESTS)
    return()
  endif()
  add_executable(${name} ${ARG_SOURCES})
  target_compile_options(${name} PRIVATE ${FRAUD_WARNINGS})
  target_link_libraries(${name} PRIVATE ${ARG_DEPS} GTest::gtest GTest::gtest_main)
  target_compile_definitions(${name} PRIVATE
    FRAUD_SOURCE_DIR="${PROJECT_SOURCE_DIR}"
    FRAUD_BINARY_DIR="${PROJECT_BINARY_DIR}")
  add_test(NAME ${name} COMMAND ${name})
  set(labels unit ${ARG_LABELS})
  if("slow" IN_LIST ARG_LABELS OR "integration" IN_LIST ARG_LABELS)
    list(REMOVE_ITEM labels unit)
  endif()
  set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT 600)
endfunction()
