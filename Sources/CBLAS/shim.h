// The C BLAS interface (OpenBLAS on Linux). Only the CBLAS declarations are needed.
#include <cblas.h>
