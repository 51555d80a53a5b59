/*
 * ir.h - the graph IR every stage reads and writes.
 *
 * A graph is a list of values (tensors: graph inputs, initializers,
 * intermediate results) and a list of nodes, each naming its input and
 * output values by index. Import builds it from ONNX with the declared
 * shapes; the passes specialise a copy to concrete input shapes, infer
 * every shape, fold constants and drop dead nodes; the executor runs
 * what is left.
 */
#ifndef LOOM_IR_H
#define LOOM_IR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/core-impl.h"
#include "ops/op-list.h"

struct loom__device;

typedef enum {
#define LOOM__OP_ENUM(name) LOOM__OP_##name,
    LOOM__OP_LIST(LOOM__OP_ENUM)
    LOOM__OP_COUNT, /* ONNX ops above, loom's internal ones below */
    LOOM__OP_INTERNAL_LIST(LOOM__OP_ENUM)
#undef LOOM__OP_ENUM
    LOOM__OP_ALL
} loom__op;

/* "Gemm" for LOOM__OP_Gemm. */
const char *loom__op_name(loom__op op);
/* Lookup by ONNX op type; false when loom does not implement it (never
 * an internal op). */
bool loom__op_from_name(const char *name, loom__op *out);

typedef enum {
    LOOM__ATTR_FLOAT,
    LOOM__ATTR_INT,
    LOOM__ATTR_STRING,
    LOOM__ATTR_TENSOR,
    LOOM__ATTR_FLOATS,
    LOOM__ATTR_INTS,
    LOOM__ATTR_OTHER /* graphs, sparse tensors, type protos: never read */
} loom__attr_type;

typedef struct {
    char *name;
    loom__attr_type type;
    float f;
    int64_t i;
    char *s;
    loom_tensor *t;
    float *floats;
    int64_t *ints;
    size_t count; /* of floats or ints */
} loom__attr;

/* Parsed attributes, filled by shape inference (ops/infer-*.c) so that
 * kernels never look at attribute lists at run time. */
typedef struct {
    float alpha, beta;
    bool trans_a, trans_b;
} loom__gemm_params;

typedef struct {
    int spatial;                        /* spatial dims (1-3) */
    int64_t kernel[3], strides[3], dilations[3];
    int64_t pads[6];                    /* begin..., end... */
    int64_t group;
} loom__conv_params;

typedef struct {
    int spatial;
    int64_t kernel[3], strides[3], dilations[3];
    int64_t pads[6];
    bool count_include_pad;
    int64_t p;           /* LpPool's norm */
} loom__pool_params;

typedef struct {
    int64_t axis;        /* normalised to [0, rank) */
    bool legacy;         /* opset < 13: coerce to 2D at axis */
} loom__softmax_params;

typedef struct {
    int64_t axis;
    float epsilon;
} loom__norm_params;

typedef struct {
    int naxes;                   /* 0: reduce nothing (noop_with_empty_axes) */
    int64_t axes[LOOM_MAX_RANK]; /* sorted, normalised */
    bool keepdims;
    bool select_last;            /* ArgMax/ArgMin: the last index of ties */
} loom__reduce_params;

/* The attributes of the elementwise math ops (ref-math.c): alpha, beta,
 * gamma as each op names them; mode: Gelu 1 = tanh approximation, Mod 1 =
 * fmod, BitShift 1 = left, IsInf bit 0 = +inf, bit 1 = -inf. */
typedef struct {
    float alpha, beta, gamma;
    int mode;
} loom__math_params;

typedef enum { LOOM__PAD_CONSTANT, LOOM__PAD_REFLECT, LOOM__PAD_EDGE } loom__pad_mode;

typedef struct {
    loom__pad_mode mode;
    int64_t pads[2 * LOOM_MAX_RANK]; /* begin..., end... (may be negative) */
    uint8_t value[8];                /* fill value, in the input's dtype */
} loom__pad_params;

typedef struct {
    int64_t perm[LOOM_MAX_RANK];
} loom__transpose_params;

typedef struct {
    int64_t start[LOOM_MAX_RANK], step[LOOM_MAX_RANK]; /* per input dim */
} loom__slice_params;

typedef struct {
    int64_t axis;
    int64_t sizes[64]; /* Split: sizes of each output */
} loom__axis_params;

typedef struct {
    float min, max;
} loom__clip_params;

typedef struct {
    loom_dtype to;
} loom__cast_params;

typedef struct {
    float epsilon;
} loom__bn_params;

/* The ops of ref-data.c and ref-norm.c: an axis and a few op-specific
 * numbers, named where each op parses them (ops/infer-data.c). */
typedef struct {
    int64_t axis;
    int64_t i[4];
    float f[4];
    int mode;
} loom__misc_params;

/* Attention (opset 23+): dims as 4-D [batch, heads, sequence, head size]
 * whatever the inputs' rank, and the attributes. */
typedef struct {
    bool three_d, causal, has_scale;
    float scale, softcap;
    int qk_mode;
    int64_t B, Hq, Hkv, Sq, Skv, past, Dh, Dv;
    int64_t left, right; /* sliding window; -1 unbounded */
} loom__attn_params;

/* Resize / Upsample: one scale and roi interval per input dim. */
typedef enum { LOOM__RS_NEAREST, LOOM__RS_LINEAR, LOOM__RS_CUBIC } loom__resize_mode;
typedef enum {
    LOOM__CT_HALF_PIXEL, LOOM__CT_ASYMMETRIC, LOOM__CT_ALIGN_CORNERS, LOOM__CT_PYTORCH_HALF_PIXEL,
    LOOM__CT_TF_CROP_AND_RESIZE, LOOM__CT_HALF_PIXEL_SYMMETRIC
} loom__coord_mode;
typedef enum { LOOM__NR_PREFER_FLOOR, LOOM__NR_PREFER_CEIL, LOOM__NR_FLOOR, LOOM__NR_CEIL } loom__nearest_mode;

typedef struct {
    loom__resize_mode mode;
    loom__coord_mode coord;
    loom__nearest_mode nearest;
    bool exclude_outside, antialias;
    float cubic_a, extrapolation;
    double scale[LOOM_MAX_RANK];
    double roi[2 * LOOM_MAX_RANK]; /* starts..., ends... */
} loom__resize_params;

typedef union {
    loom__gemm_params gemm;
    loom__conv_params conv;
    loom__pool_params pool;
    loom__softmax_params softmax;
    loom__norm_params norm;
    loom__reduce_params reduce;
    loom__pad_params pad;
    loom__transpose_params transpose;
    loom__slice_params slice;
    loom__axis_params axis;
    loom__clip_params clip;
    loom__cast_params cast;
    loom__bn_params bn;
    loom__math_params math;
    loom__misc_params misc;
    loom__attn_params attn;
    loom__resize_params resize;
} loom__params;

typedef struct {
    char *name;
    loom_dtype dtype;     /* LOOM_DTYPE_INVALID until known */
    int rank;             /* -1 until known */
    int64_t dims[LOOM_MAX_RANK]; /* -1 for a symbolic dim before specialisation */
    char *dim_params[LOOM_MAX_RANK];
    loom_tensor *constant; /* initializer or folded result, else NULL */
    int producer;         /* node index, -1 for inputs and constants */
    bool is_input, is_initializer;
} loom__value;

typedef struct {
    char *name;           /* may be "" in ONNX; messages then use the index */
    char *op_type;
    loom__op op;
    int *inputs;          /* value indices; -1 for an omitted optional input */
    int n_inputs;
    int *outputs;
    int n_outputs;
    loom__attr *attrs;
    int n_attrs;
    loom__params p;
    int index;            /* position in the model file (labels unnamed nodes) */
    bool dead;            /* folded away, fused into another node, or unused */
    int act;              /* LOOM_ACT_* fused into Gemm/MatMul/Conv by the fuse pass, which
                             also gives a MatMul a third input: a bias per column */
    float act_a, act_b;   /* its parameters: LOOM_ACT_CLIP's min and max */
    /* written by the partitioner */
    struct loom__device *device;
    int subgraph;
    char why[200];
} loom__node;

typedef struct loom__graph {
    char *source;         /* file name for messages */
    int64_t opset;
    loom__value *values;
    int n_values, cap_values;
    loom__node *nodes;
    int n_nodes, cap_nodes;
    int *inputs;          /* graph inputs (not initializers) */
    int n_inputs;
    int *outputs;
    int n_outputs;
    uint64_t max_tensor_bytes; /* largest tensor a pass may create */
    /* set by shape inference when it failed because this value (an index)
     * must be a constant and is not: the session then binds the graph
     * inputs it comes from to their run-time values (exec/session.c) */
    int needs_value;
} loom__graph;

/* Record on g (which inference otherwise only reads) that value v had to
 * be a constant. */
void loom__graph_needs_value(const loom__graph *g, int v);

loom__graph *loom__graph_new(const char *source);
void loom__graph_free(loom__graph *g);
/* Deep copy of the structure; constant tensors are shared by reference. */
loom_status loom__graph_clone(const loom__graph *g, loom__graph **out);

/* Remove the nodes marked dead (for graph edits before export; the
 * passes only mark them) and recompute producers. */
void loom__graph_drop_dead(loom__graph *g);

/* Append a value; returns its index or -1 when out of memory. */
int loom__graph_add_value(loom__graph *g, const char *name);
/* Index of the value called name, or -1 (a linear search: for tools,
 * not hot paths). */
int loom__graph_find_value(const loom__graph *g, const char *name);
/* Make v a constant (an initializer) holding t, taken over: dtype and
 * shape from t, no producer. */
void loom__value_set_constant(loom__value *v, loom_tensor *t);
/* Append a node with room for the given inputs/outputs; NULL on OOM. */
loom__node *loom__graph_add_node(loom__graph *g, int n_inputs, int n_outputs);

/* "node \"conv1\" (Conv)" or "node #3 (Conv)" into buf. */
const char *loom__node_label(const loom__graph *g, const loom__node *n, char *buf, size_t size);
/* The op a fused LOOM_ACT_* stands for ("Relu", "Clip", ...; "SiLU" for
 * Sigmoid then Mul), "" for none. */
const char *loom__act_name(int act);
/* What a node's op has absorbed, for labels: the activation's name, and a
 * Conv's residual Add ("Add", "Add+Relu", ...); "" for nothing. */
const char *loom__fused_name(const loom__node *n);
#define LOOM__LABEL_MAX 300

/* Sort nodes topologically (stable: keeps file order where legal) and set
 * producers; fails naming a node on a cycle, a value nobody produces or a
 * value produced twice. */
loom_status loom__graph_toposort(loom__graph *g);

/* Attribute access with type checks; the error names node and attribute. */
const loom__attr *loom__attr_find(const loom__node *n, const char *name);
loom_status loom__attr_int(const loom__graph *g, const loom__node *n, const char *name,
                           int64_t def, int64_t *out);
loom_status loom__attr_float(const loom__graph *g, const loom__node *n, const char *name,
                             float def, float *out);
/* *out points into the node; *count is 0 and *out NULL when absent. */
loom_status loom__attr_ints(const loom__graph *g, const loom__node *n, const char *name,
                            const int64_t **out, size_t *count);
loom_status loom__attr_string(const loom__graph *g, const loom__node *n, const char *name,
                              const char *def, const char **out);

/* Input/output i of node n as a value, NULL when absent. */
static inline loom__value *loom__in(const loom__graph *g, const loom__node *n, int i)
{
    return (i < n->n_inputs && n->inputs[i] >= 0) ? &g->values[n->inputs[i]] : NULL;
}
static inline loom__value *loom__out(const loom__graph *g, const loom__node *n, int i)
{
    return (i < n->n_outputs && n->outputs[i] >= 0) ? &g->values[n->outputs[i]] : NULL;
}

#endif /* LOOM_IR_H */
