"""A batch-1 ONNX graph -> the same graph over any batch.

MindSpore exports ONNX with fixed shapes only: the batch is baked into dozens of reshapes, the LSTM's initial
state and the attention masks, so the batch dimension cannot simply be renamed. Instead the batch-1 graph
becomes the body of an ONNX Loop over the batch's items: any batch size runs, nothing is padded, and each
item costs what one tracklet costs in the batch-1 graph. A graph exported with a fixed batch (`starreid
export --batch-size N`) can cost less per item when batches are full (README, Performance: batch 1 vs
batched), and pads short ones."""
from __future__ import annotations

BATCH = "batch"  # the symbolic name of the batch dimension


def _dims(value_info) -> list:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def dynamic_batch(model):
    """onnx.ModelProto of a graph whose inputs and outputs all have batch 1 -> a ModelProto whose inputs and
    outputs have the symbolic batch dimension 'batch'. Weights stay in the outer graph (the loop body reads
    them from the enclosing scope); metadata, opsets and the input and output names are kept."""
    import onnx
    from onnx import TensorProto, helper

    graph = model.graph
    weights = {init.name for init in graph.initializer}
    inputs = [i for i in graph.input if i.name not in weights]
    for value in list(inputs) + list(graph.output):
        dims = _dims(value)
        if not dims or dims[0] != 1:
            raise ValueError(f"{value.name} has shape {dims}: a batch-1 graph is needed")

    def prefixed(name: str) -> str:
        return f"item/{name}"

    # The body: take item i of every input (as a batch of one), run the original nodes on it, emit its output.
    body_nodes = [helper.make_node("Unsqueeze", ["i"], ["i1"], axes=[0], name="item/index")]
    for value in inputs:
        body_nodes.append(helper.make_node("Gather", [value.name, "i1"], [prefixed(value.name)], axis=0,
                                           name=prefixed(f"take/{value.name}")))
    renamed = {value.name: prefixed(value.name) for value in inputs}
    for node in graph.node:
        clone = onnx.NodeProto()
        clone.CopyFrom(node)
        for k, name in enumerate(clone.input):
            clone.input[k] = renamed.get(name, name)
        for k, name in enumerate(clone.output):
            clone.output[k] = prefixed(name)
        renamed.update({name: prefixed(name) for name in node.output})
        clone.name = prefixed(node.name or f"node{len(body_nodes)}")
        body_nodes.append(clone)
    body_nodes.append(helper.make_node("Identity", ["cond"], ["cond_out"], name="item/cond"))
    body_outputs = [helper.make_tensor_value_info("cond_out", TensorProto.BOOL, [])]
    for value in graph.output:
        body_outputs.append(helper.make_tensor_value_info(
            renamed[value.name], value.type.tensor_type.elem_type, _dims(value)))
    body = helper.make_graph(
        body_nodes, "item",
        [helper.make_tensor_value_info("i", TensorProto.INT64, []),
         helper.make_tensor_value_info("cond", TensorProto.BOOL, [])],
        body_outputs)

    # The outer graph: loop over the batch; the scan outputs stack to (batch, 1, ...), squeezed to (batch, ...).
    first = inputs[0].name
    stacked = [f"stacked/{value.name}" for value in graph.output]
    nodes = [
        helper.make_node("Shape", [first], ["batch/shape"], name="batch/shape"),
        helper.make_node("Gather", ["batch/shape", "batch/axis0"], ["batch/n"], axis=0, name="batch/n"),
        helper.make_node("Loop", ["batch/n", "batch/true"], stacked, body=body, name="batch/loop"),
    ]
    nodes += [helper.make_node("Squeeze", [s], [value.name], axes=[1], name=f"batch/squeeze/{value.name}")
              for s, value in zip(stacked, graph.output)]
    constants = [helper.make_tensor("batch/axis0", TensorProto.INT64, [], [0]),
                 helper.make_tensor("batch/true", TensorProto.BOOL, [], [True])]

    def batched(value):
        return helper.make_tensor_value_info(value.name, value.type.tensor_type.elem_type,
                                             [BATCH] + _dims(value)[1:])

    outer = helper.make_graph(nodes, graph.name or "dynamic_batch", [batched(v) for v in inputs],
                              [batched(v) for v in graph.output], initializer=list(graph.initializer) + constants)
    result = helper.make_model(outer, opset_imports=list(model.opset_import), ir_version=model.ir_version,
                               producer_name=model.producer_name, producer_version=model.producer_version)
    result.metadata_props.extend(model.metadata_props)
    onnx.checker.check_model(result)
    return result
