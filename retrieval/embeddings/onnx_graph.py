"""The BERT encoder, pooling and normalisation as one standard-opset ONNX graph built from the weights with the
`onnx` package, and the onnxruntime CPU session that runs it: the fast path."""
from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING, Any

import numpy as np

from retrieval.embeddings.model_files import MODEL_NAME, BertConfig
from retrieval.embeddings.numpy_bert import MASK_NEG

if TYPE_CHECKING:
    import onnx
    import onnxruntime


# build_graph changes: bump graph_cache.GRAPH_VERSION too, or stale cached graphs would be reused.
OPSET = 17


class _GraphBuilder:
    def __init__(self) -> None:
        from onnx import helper, numpy_helper

        self._helper, self._numpy_helper = helper, numpy_helper
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []

    def const(self, name: str, value: np.ndarray | float | list[int]) -> str:
        array = np.asarray(value, dtype=np.int64) if isinstance(value, list) else np.asarray(value, dtype=np.float32)
        self.initializers.append(self._numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attrs: Any) -> list[str]:
        name = f"{op_type}_{len(self.nodes)}"
        names = [f"{name}_{j}" for j in range(outputs)]
        self.nodes.append(self._helper.make_node(op_type, list(inputs), names, name=name, **attrs))
        return names

    def __call__(self, op_type: str, *inputs: str, **attrs: Any) -> str:
        return self.op(op_type, *inputs, **attrs)[0]


def build_graph(weights: dict[str, np.ndarray], config: BertConfig) -> onnx.ModelProto:
    """The encoder, mean pooling and L2 normalisation as one standard-opset ONNX graph.

    Inputs input_ids and attention_mask (int64, [batch, sequence], both dynamic); output sentence_embedding
    (float32, [batch, 384]). onnxruntime's com.microsoft fused kernels (Attention, SkipLayerNormalization,
    BiasGelu) were measured at the same throughput on this model, so the portable form is kept.
    """
    from onnx import TensorProto, helper

    g = _GraphBuilder()
    c = config
    eps = c.layer_norm_eps

    def w(name: str) -> np.ndarray:
        return weights[name + ".weight"].T  # torch Linear stores (out, in); MatMul wants (in, out)

    def b(name: str) -> np.ndarray:
        return weights[name + ".bias"]

    def layer_norm(x: str, name: str) -> str:
        return g("LayerNormalization", x, g.const(name + ".g", weights[name + ".weight"]),
                 g.const(name + ".b", weights[name + ".bias"]), axis=-1, epsilon=eps)

    def dense(x: str, name: str, weight: np.ndarray | None = None, bias: np.ndarray | None = None) -> str:
        return g("Add", g("MatMul", x, g.const(name + ".w", w(name) if weight is None else weight)),
                 g.const(name + ".b", b(name) if bias is None else bias))

    # token_type ids are always 0, so that embedding row is a constant: folded into the position table.
    position_table = g.const("positions", weights["embeddings.position_embeddings.weight"]
                             + weights["embeddings.token_type_embeddings.weight"][0])
    zero, one = g.const("zero_1d", [0]), g.const("one_1d", [1])
    seq_len = g("Shape", "input_ids", start=1, end=2)
    x = g("Add", g("Gather", g.const("word_embeddings", weights["embeddings.word_embeddings.weight"]), "input_ids"),
          g("Slice", position_table, zero, seq_len, zero))
    x = layer_norm(x, "embeddings.LayerNorm")

    mask_f = g("Cast", "attention_mask", to=TensorProto.FLOAT)
    mask_bias = g("Mul", g("Sub", g.const("one_f", 1.0), mask_f), g.const("mask_neg", MASK_NEG))
    mask_bias = g("Unsqueeze", mask_bias, g.const("axes_1_2", [1, 2]))  # [batch, 1, 1, key]
    heads_shape = g.const("heads_shape", [0, 0, c.num_heads, c.head_size])
    hidden_shape = g.const("hidden_shape", [0, 0, c.hidden_size])
    qkv_split = g.const("qkv_split", [c.hidden_size] * 3)
    sqrt2, half = g.const("sqrt2", math.sqrt(2.0)), g.const("half", 0.5)

    scale = 1.0 / math.sqrt(c.head_size)
    for i in range(c.num_layers):
        p = f"encoder.layer.{i}."
        q_name, k_name, v_name = (p + f"attention.self.{n}" for n in ("query", "key", "value"))
        # One (hidden, 3*hidden) GEMM instead of three, with the 1/sqrt(head_size) score scale folded into Q.
        qkv = dense(x, p + "attention.qkv",
                    np.concatenate([w(q_name) * scale, w(k_name), w(v_name)], axis=1),
                    np.concatenate([b(q_name) * scale, b(k_name), b(v_name)]))
        q, k, v = g.op("Split", qkv, qkv_split, axis=2, outputs=3)
        q = g("Transpose", g("Reshape", q, heads_shape), perm=[0, 2, 1, 3])
        k = g("Transpose", g("Reshape", k, heads_shape), perm=[0, 2, 3, 1])  # pre-transposed for Q @ K^T
        v = g("Transpose", g("Reshape", v, heads_shape), perm=[0, 2, 1, 3])
        probs = g("Softmax", g("Add", g("MatMul", q, k), mask_bias), axis=-1)
        context = g("Reshape", g("Transpose", g("MatMul", probs, v), perm=[0, 2, 1, 3]), hidden_shape)
        x = layer_norm(g("Add", dense(context, p + "attention.output.dense"), x), p + "attention.output.LayerNorm")
        inner = dense(x, p + "intermediate.dense")
        # Exact erf GELU, x * (1 + erf(x / sqrt 2)) * 0.5, in the shape onnxruntime fuses into one Gelu kernel.
        gelu = g("Mul", g("Mul", inner, g("Add", g("Erf", g("Div", inner, sqrt2)), g.const(f"{p}one", 1.0))), half)
        x = layer_norm(g("Add", dense(gelu, p + "output.dense"), x), p + "output.LayerNorm")

    # sentence-transformers' Pooling and Normalize, in the graph so a batch is one run() with a (batch, 384)
    # result instead of copying (batch, seq, 384) hidden states out for numpy to reduce.
    mask_3d = g("Unsqueeze", mask_f, g.const("axis_2", [2]))
    summed = g("ReduceSum", g("Mul", x, mask_3d), one, keepdims=0)
    mean = g("Div", summed, g("Max", g("ReduceSum", mask_3d, one, keepdims=0), g.const("min_count", 1e-9)))
    norm = g("Max", g("ReduceL2", mean, axes=[1], keepdims=1), g.const("min_norm", 1e-12))
    g.nodes.append(helper.make_node("Div", [mean, norm], ["sentence_embedding"], name="normalise"))

    graph = helper.make_graph(
        g.nodes, "all_minilm_l6_v2",
        [helper.make_tensor_value_info(name, TensorProto.INT64, ["batch", "sequence"])
         for name in ("input_ids", "attention_mask")],
        [helper.make_tensor_value_info("sentence_embedding", TensorProto.FLOAT, ["batch", c.hidden_size])],
        g.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="partner-atlas",
                              doc_string=f"{MODEL_NAME} sentence embeddings, built from model.safetensors")
    # The onnx package stamps its newest IR version, which older onnxruntime releases refuse; 8 suffices for opset 17.
    model.ir_version = 8
    return model


def check_graph(model: str | bytes) -> None:
    from onnx import checker

    # Given the file or bytes, not the ModelProto: check_model would serialise a 90 MB proto once more.
    checker.check_model(model)


class OnnxForward:
    def __init__(self, session: onnxruntime.InferenceSession) -> None:
        self.session = session

    def __call__(self, input_ids: np.ndarray, attention_mask: np.ndarray) -> np.ndarray:
        result = self.session.run(["sentence_embedding"], {"input_ids": input_ids, "attention_mask": attention_mask})
        return np.asarray(result[0], dtype=np.float32)


def onnx_session(model: str | bytes) -> onnxruntime.InferenceSession:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = os.cpu_count() or 1
    # One graph runs at a time: parallelism is inside each MatMul, not across nodes.
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # its optimiser's notes would otherwise land on stderr at every start
    # Idle worker threads sleep instead of spinning: a question embeds one short text, and on a busy machine
    # spinning threads compete with the work itself (measured at load 12 on 2 cores, one 20-token query:
    # p50 36 ms spinning, 20 ms not).
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    # Explicit: the wheel also registers an Azure (remote) provider, which must never be picked.
    return ort.InferenceSession(model, sess_options=options, providers=["CPUExecutionProvider"])

