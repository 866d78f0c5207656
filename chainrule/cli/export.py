"""``chainrule export``: write a saved model as ONNX, to run without chainrule."""
from .common import positive

HELP = "export a saved model to ONNX"
EPILOG = """example:
  chainrule export model.safetensors --onnx model.onnx
  chainrule export model.safetensors --onnx model.onnx --opset 21

The ONNX graph is the network in evaluation mode (net.predict): it takes inputs scaled
as in training and returns the network's outputs (class probabilities for a classifier).
"""


def add_arguments(p):
    from ..io.onnx_export import DEFAULT_OPSET, MIN_OPSET

    p.add_argument("model", help="a .safetensors file written by chainrule")
    p.add_argument("--onnx", required=True, metavar="OUT", help="write an ONNX model to this path")
    p.add_argument("--opset", type=positive(int), metavar="N",
                   help=f"ONNX opset version, {MIN_OPSET} or later (default: {DEFAULT_OPSET})")


def run(args, out):
    from .. import load
    from ..io.onnx_export import export_onnx

    net = load(args.model)
    model = export_onnx(net, args.onnx, opset=args.opset)
    opset = model.opset_import[0].version
    out.write(f"wrote {args.onnx} (ONNX opset {opset}, {len(model.graph.node)} nodes: "
              f"{' '.join(node.op_type for node in model.graph.node)})\n")
    for kind, value in (("input ", model.graph.input[0]), ("output", model.graph.output[0])):
        out.write(f"  {kind} {value.name!r:<9} {_describe(value)}\n")
    if net.metadata.get("scaling"):
        out.write("  note: the model was trained on scaled inputs; scale them as in training "
                  "(mean and scale are in the ONNX metadata property 'metadata')\n")
    return 0


def _describe(value_info):
    """``float32 [batch, 4]`` from an ONNX ValueInfoProto."""
    from onnx import helper

    tensor = value_info.type.tensor_type
    dims = [d.dim_param or str(d.dim_value) for d in tensor.shape.dim]
    return f"{helper.tensor_dtype_to_np_dtype(tensor.elem_type)} [{', '.join(dims)}]"
