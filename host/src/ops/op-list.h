/*
 * op-list.h - every ONNX operator loom implements (default domain),
 * one X(name) per op. The enum, the name table, shape inference and the
 * reference kernels are all indexed by this list.
 */
#ifndef LOOM_OP_LIST_H
#define LOOM_OP_LIST_H

#define LOOM__OP_LIST(X)                                                     \
    /* elementwise, numpy broadcasting */                                    \
    X(Add) X(Sub) X(Mul) X(Div) X(Pow)                                       \
    X(Equal) X(Less) X(Greater) X(Where)                                     \
    /* elementwise unary */                                                  \
    X(Sqrt) X(Erf) X(Relu) X(Sigmoid) X(Tanh) X(Clip)                        \
    X(Abs) X(Neg) X(Exp) X(Log) X(Reciprocal)                                \
    /* linear algebra */                                                     \
    X(Gemm) X(MatMul)                                                        \
    /* normalisation, reductions */                                          \
    X(Softmax) X(LayerNormalization) X(BatchNormalization) X(ReduceMean)     \
    /* convolution and pooling */                                            \
    X(Conv) X(MaxPool) X(AveragePool) X(GlobalAveragePool)                   \
    /* data movement */                                                      \
    X(Pad) X(Flatten) X(Reshape) X(Transpose) X(Concat) X(Split) X(Slice)    \
    X(Gather) X(Squeeze) X(Unsqueeze) X(Expand) X(Identity) X(Dropout)       \
    X(Cast)                                                                  \
    /* quantisation (QDQ models) */                                          \
    X(QuantizeLinear) X(DequantizeLinear)                                    \
    /* constants and shapes */                                               \
    X(Constant) X(ConstantOfShape) X(Shape) X(Range)

/* loom's own int8 nodes, made by the QDQ lowering pass (passes/lower-qdq.c)
 * from QuantizeLinear/DequantizeLinear patterns; never read from or written
 * to a file. Inputs: x (int8), W (int8 constant), bias (int32), mult,
 * shift (int32, one per output channel) and lut (int8[256], when act is
 * LOOM_ACT_LUT); output int8. The int8 contract of loom/kernel-abi.h.
 *   LoomQGemm  x [M, K] (leading dims folded into M), W as B [K, N]
 *   LoomQConv  x NCHW, W [Cout, Cin/group, KH, KW]: im2col + int8 GEMM */
#define LOOM__OP_INTERNAL_LIST(X) X(LoomQGemm) X(LoomQConv)

#endif /* LOOM_OP_LIST_H */
