# `iterop train denoiser` on one process, with --ranks 2, and under mpirun -np 2: the same training to float
# rounding (final loss within 1e-5 relative), and only rank 0 writes the model file.
# cmake -DITEROP=... -DMPIEXEC=... "-DMPIFLAGS=..." -DWORK=... -P train_over_ranks.cmake
file(REMOVE_RECURSE ${WORK})
file(MAKE_DIRECTORY ${WORK})
separate_arguments(flags UNIX_COMMAND "${MPIFLAGS}")
set(args train denoiser --steps 100 --samples 100 --format json)
execute_process(COMMAND ${ITEROP} ${args} --model ${WORK}/one.model RESULT_VARIABLE rc1 OUTPUT_VARIABLE one ERROR_VARIABLE e1)
execute_process(COMMAND ${ITEROP} ${args} --ranks 2 --model ${WORK}/ranks.model RESULT_VARIABLE rc2 OUTPUT_VARIABLE ranks
                ERROR_VARIABLE e2)
execute_process(COMMAND ${MPIEXEC} -np 2 ${flags} ${ITEROP} ${args} --model ${WORK}/mpi.model RESULT_VARIABLE rc3
                OUTPUT_VARIABLE mpi ERROR_VARIABLE e3)
foreach(run one ranks mpi)
  string(JSON loss_${run} ERROR_VARIABLE bad GET "${${run}}" final_loss)
  if(bad OR NOT EXISTS ${WORK}/${run}.model)
    message(FATAL_ERROR "train denoiser (${run}) wrote no final_loss or no model:\n${${run}}\n${e1}${e2}${e3}")
  endif()
endforeach()
if(NOT rc1 EQUAL 0 OR NOT rc2 EQUAL 0 OR NOT rc3 EQUAL 0)
  message(FATAL_ERROR "exit statuses ${rc1} ${rc2} ${rc3}:\n${e2}\n${e3}")
endif()
# The JSON of mpirun holds rank 0's report only (the other rank prints nothing).
string(REGEX MATCHALL "\"model\": \"denoiser\"" reports "${mpi}")
list(LENGTH reports n)
if(NOT n EQUAL 1)
  message(FATAL_ERROR "mpirun -np 2 printed ${n} reports")
endif()
foreach(run ranks mpi)
  # CMake has no floating point: the first 7 characters ("0.xxxxx") as text
  string(SUBSTRING "${loss_one}" 0 7 a)
  string(SUBSTRING "${loss_${run}}" 0 7 b)
  if(NOT a STREQUAL b)
    message(FATAL_ERROR "final loss ${loss_${run}} (${run}) differs from one process's ${loss_one}")
  endif()
endforeach()
message(STATUS "final loss: one process ${loss_one}, --ranks 2 ${loss_ranks}, mpirun -np 2 ${loss_mpi}")
