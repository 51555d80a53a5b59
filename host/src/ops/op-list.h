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
    X(Constant) X(ConstantOfShape) X(Shape) X(Range)                         \
    /* elementwise math on every numeric dtype (ref-math.c) */               \
    X(Floor) X(Ceil) X(Round) X(Sign) X(Sin) X(Cos) X(Tan) X(Asin) X(Acos)   \
    X(Atan) X(Sinh) X(Cosh) X(Asinh) X(Acosh) X(Atanh) X(Softplus)          \
    X(Softsign) X(Mish) X(HardSigmoid) X(HardSwish) X(LeakyRelu) X(Elu)      \
    X(Selu) X(Celu) X(ThresholdedRelu) X(Gelu) X(Shrink) X(IsNaN) X(IsInf)   \
    X(Not) X(BitwiseNot)                                                     \
    X(And) X(Or) X(Xor) X(Mod) X(LessOrEqual) X(GreaterOrEqual) X(PRelu)     \
    X(BitShift) X(BitwiseAnd) X(BitwiseOr) X(BitwiseXor)                     \
    X(Sum) X(Mean) X(Max) X(Min)                                             \
    /* reductions (ref-reduce.c) */                                          \
    X(ReduceSum) X(ReduceMax) X(ReduceMin) X(ReduceProd) X(ReduceL1)         \
    X(ReduceL2) X(ReduceLogSum) X(ReduceLogSumExp) X(ReduceSumSquare)        \
    X(ArgMax) X(ArgMin) X(LogSoftmax) X(Hardmax)                             \
    /* types and sizes */                                                    \
    X(CastLike) X(Size)                                                      \
    /* indexing and rearranging (ref-data.c) */                              \
    X(GatherElements) X(GatherND) X(ScatterElements) X(ScatterND) X(Trilu)   \
    X(Tile) X(CumSum) X(CumProd) X(OneHot) X(DepthToSpace) X(SpaceToDepth)   \
    X(EyeLike) X(TopK) X(ReverseSequence)                                    \
    /* normalisations and activations over slices (ref-norm.c) */            \
    X(LRN) X(RMSNormalization) X(InstanceNormalization)                      \
    X(GroupNormalization) X(LpNormalization) X(MeanVarianceNormalization)    \
    X(GlobalMaxPool) X(Swish)                                                \
    /* attention (ref-attention.c) */                                        \
    X(Attention) X(RotaryEmbedding)                                          \
    /* losses (ref-loss.c) */                                                \
    X(NegativeLogLikelihoodLoss) X(SoftmaxCrossEntropyLoss)                  \
    /* resampling (ref-resize.c) */                                          \
    X(Resize) X(Upsample) X(ConvTranspose) X(LpPool)                         \
    X(BitCast) X(CenterCropPad) X(QLinearMatMul) X(Einsum)

/* loom's own int8 nodes, made by the QDQ lowering pass (passes/lower-qdq.c)
 * from QuantizeLinear/DequantizeLinear patterns; never read from or written
 * to a file. Inputs: x (int8), W (int8 constant), bias (int32), mult,
 * shift (int32, one per output channel) and lut (int8[256], when act is
 * LOOM_ACT_LUT); output int8. The int8 contract of loom/kernel-abi.h.
 *   LoomQGemm  x [M, K] (leading dims folded into M), W as B [K, N]
 *   LoomQConv  x NCHW, W [Cout, Cin/group, KH, KW]: im2col + int8 GEMM */
#define LOOM__OP_INTERNAL_LIST(X) X(LoomQGemm) X(LoomQConv)

#endif /* LOOM_OP_LIST_H */
