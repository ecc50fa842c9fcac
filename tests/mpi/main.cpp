// main() of the iterop::mpi tests: MPI_Init, GoogleTest on every rank (only rank 0 prints), MPI_Finalize.
// A failure on any rank makes that rank's exit code, and so mpirun's, non-zero.
#include <gtest/gtest.h>
#include <mpi.h>

int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  if (rank == 0 && any != failed) std::fprintf(stderr, "iterop_mpi_tests: a test failed on another rank\n");
  MPI_Finalize();
  return any;
}
