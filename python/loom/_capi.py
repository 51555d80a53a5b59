"""_capi.py - the C API of libloom.so through ctypes: the structs of
loom/loom.h mirrored field by field, and the prototypes of the functions
the package calls. ctypes releases the GIL around every foreign call, so
a model runs while other Python threads go on."""
import ctypes
import ctypes.util
import os
from ctypes import (POINTER, Structure, c_bool, c_char, c_char_p, c_double, c_int, c_int32, c_int64,
                    c_size_t, c_uint32, c_uint64, c_void_p)

MAX_RANK = 8


def _find_library():
    """LOOM_LIBRARY, else the copy installed inside this package, else the
    system's (ldconfig), else the build tree next to this source tree."""
    env = os.environ.get("LOOM_LIBRARY")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(os.listdir(here)):
        if name.startswith("libloom.so"):
            return os.path.join(here, name)
    found = ctypes.util.find_library("loom")
    if found:
        return found
    tree = os.path.join(here, "..", "..", "build", "host", "libloom.so.0")
    if os.path.exists(tree):
        return tree
    raise OSError("libloom.so not found: pip install the package from the repository (it builds the library), "
                  "install loom (cmake --install), or set LOOM_LIBRARY to the library's path")


lib = ctypes.CDLL(_find_library())

# the board files the package carries, unless the user points elsewhere
_boards = os.path.join(os.path.dirname(os.path.abspath(__file__)), "boards")
if os.path.isdir(_boards) and not os.environ.get("LOOM_BOARDS_DIR"):
    os.environ["LOOM_BOARDS_DIR"] = _boards

# ---- structs of loom.h ----


class DeviceInfo(Structure):
    _fields_ = [("name", c_char_p), ("backend", c_char_p), ("kind", c_char_p), ("model", c_char_p),
                ("platform", c_char_p), ("memory_bytes", c_uint64), ("compute_units", c_int),
                ("healthy", c_bool), ("status", c_char_p)]


class LoadOptions(Structure):
    _fields_ = [("max_file_bytes", c_size_t), ("max_nesting", c_int), ("max_tensor_bytes", c_uint64),
                ("max_memory_bytes", c_uint64)]


class ValueInfo(Structure):
    _fields_ = [("name", c_char_p), ("dtype", c_int), ("rank", c_int), ("dims", c_int64 * MAX_RANK),
                ("dim_params", c_char_p * MAX_RANK)]


class InputShape(Structure):
    _fields_ = [("name", c_char_p), ("rank", c_int), ("dims", POINTER(c_int64))]


class SessionOptions(Structure):
    _fields_ = [("input_shapes", POINTER(InputShape)), ("input_shape_count", c_size_t),
                ("max_tensor_bytes", c_uint64), ("infer_only", c_bool), ("devices", c_char_p),
                ("strict", c_bool), ("profile", c_bool), ("keep_values", c_bool), ("qdq_float", c_bool),
                ("unfused", c_bool), ("trace", c_bool), ("own_buffers", c_bool)]


class NodePlacement(Structure):
    _fields_ = [("name", c_char_p), ("op_type", c_char_p), ("fused", c_char_p), ("device", c_char_p),
                ("reason", c_char_p), ("subgraph", c_int)]


class ValidateResult(Structure):
    _fields_ = [("device", c_char * 32), ("nodes", c_size_t), ("nodes_on_device", c_size_t), ("match", c_bool),
                ("max_abs_error", c_double), ("max_error_ratio", c_double), ("output_max_abs_error", c_double),
                ("node", c_size_t), ("node_name", c_char * 128), ("op_type", c_char * 40),
                ("node_device", c_char * 32), ("output", c_size_t), ("element", c_int64), ("value", c_double),
                ("ref_value", c_double), ("allowed", c_double), ("what", c_char * 160),
                ("simulated_cycles", c_uint64), ("predicted_cycles", c_uint64)]


class QuantizeOptions(Structure):
    _fields_ = [("method", c_int), ("percentile", c_double), ("device", c_char_p)]


class QuantizeSummary(Structure):
    _fields_ = [("compute_int8", c_size_t), ("compute_float", c_size_t), ("bn_folded", c_size_t),
                ("tensors", c_size_t), ("samples", c_size_t)]


class BoardFigure(Structure):
    _fields_ = [("key", c_char_p), ("is_text", c_bool), ("number", c_double), ("text", c_char_p),
                ("unit", c_char_p), ("source_key", c_char_p), ("source", c_char_p), ("note", c_char_p),
                ("estimate", c_bool), ("derived", c_bool)]


# ---- prototypes ----

def _proto(name, restype, *argtypes):
    f = getattr(lib, name)
    f.restype = restype
    f.argtypes = list(argtypes)


P = c_void_p
_proto("loom_version", c_char_p)
_proto("loom_strerror", c_char_p, c_int)
_proto("loom_status_name", c_char_p, c_int)
_proto("loom_last_error", c_char_p)
_proto("loom_memory_budget", c_uint64)
_proto("loom_dtype_name", c_char_p, c_int)
_proto("loom_dtype_size", c_size_t, c_int)
_proto("loom_tensor_create", c_int, c_int, c_int, POINTER(c_int64), POINTER(P))
_proto("loom_tensor_free", None, P)
_proto("loom_tensor_dtype", c_int, P)
_proto("loom_tensor_rank", c_int, P)
_proto("loom_tensor_dims", POINTER(c_int64), P)
_proto("loom_tensor_nbytes", c_size_t, P)
_proto("loom_tensor_data", c_void_p, P)
_proto("loom_tensor_cdata", c_void_p, P)
_proto("loom_device_count", c_size_t)
_proto("loom_device_get", c_int, c_size_t, POINTER(DeviceInfo))
_proto("loom_model_load", c_int, c_char_p, POINTER(LoadOptions), POINTER(P))
_proto("loom_model_free", None, P)
_proto("loom_model_input_count", c_size_t, P)
_proto("loom_model_output_count", c_size_t, P)
_proto("loom_model_input", c_int, P, c_size_t, POINTER(ValueInfo))
_proto("loom_model_output", c_int, P, c_size_t, POINTER(ValueInfo))
_proto("loom_session_create", c_int, P, POINTER(SessionOptions), POINTER(P))
_proto("loom_session_free", None, P)
_proto("loom_session_input_count", c_size_t, P)
_proto("loom_session_output_count", c_size_t, P)
_proto("loom_session_input", c_int, P, c_size_t, POINTER(ValueInfo))
_proto("loom_session_output", c_int, P, c_size_t, POINTER(ValueInfo))
_proto("loom_session_node_count", c_size_t, P)
_proto("loom_session_placement", c_int, P, c_size_t, POINTER(NodePlacement))
_proto("loom_session_set_input_data", c_int, P, c_size_t, c_void_p, c_size_t)
_proto("loom_session_run", c_int, P)
_proto("loom_session_output_tensor", P, P, c_size_t)
_proto("loom_validate", c_int, P, POINTER(P), c_size_t, c_char_p, POINTER(ValidateResult))
_proto("loom_quantize", c_int, P, POINTER(P), c_size_t, POINTER(QuantizeOptions), c_char_p, POINTER(QuantizeSummary))
_proto("loom_board_load", c_int, c_char_p, POINTER(P))
_proto("loom_board_free", None, P)
_proto("loom_board_name", c_char_p, P)
_proto("loom_board_kind", c_char_p, P)
_proto("loom_board_title", c_char_p, P)
_proto("loom_board_figure_count", c_size_t, P)
_proto("loom_board_figure_at", POINTER(BoardFigure), P, c_size_t)
_proto("loom_boards_list", c_int, POINTER(POINTER(c_char_p)), POINTER(c_size_t))
_proto("loom_boards_list_free", None, POINTER(c_char_p), c_size_t)
