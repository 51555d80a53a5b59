/* cl-binary-kernel.cl - a stand-in for the FPGA binary in test_cl_binary:
 * the HLS kernel's interface (hls/loom_gemm.c: name loom_gemm_i8_kernel,
 * the kernel ABI's argument order, B transposed) as a one-task OpenCL C
 * kernel. The test builds it with PoCL, saves the device binary and hands
 * it to the OpenCL backend's binary route as $LOOM_XCLBIN, the way an
 * .xclbin reaches Xilinx's ICD. loom/kernel-abi.h is prepended. */
__kernel void loom_gemm_i8_kernel(int M, int N, int K, __global const char *A, int lda,
                                  __global const char *Bt, int ldb, __global const int *bias,
                                  __global const int *mult, __global const int *shift,
                                  __global char *C, int ldc, int act, __global const char *lut)
{
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            int acc = bias[n];
            for (int k = 0; k < K; k++)
                acc += (int)A[m * lda + k] * (int)Bt[n * ldb + k];
            int y = loom_requant(acc, mult[n], shift[n]);
            if (act == LOOM_ACT_RELU && y < 0)
                y = 0;
            else if (act == LOOM_ACT_LUT)
                y = lut[y + 128];
            C[m * ldc + n] = (char)y;
        }
}
