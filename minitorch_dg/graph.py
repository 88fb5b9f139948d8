"""Draw the graph recorded behind a tensor, as Mermaid or Graphviz DOT text.

    y = model(x); loss = F.mse_loss(y, t)
    print(mt.to_mermaid(loss, names=dict(model.named_parameters())))

Tensors are boxes (shape, dtype; leaves and named parameters marked), operations are rounded nodes
labelled with the Function and its non-tensor arguments. Because the graph is recorded as the program
runs, a loop or an `if` shows up as whatever actually ran: draw the graph for two inputs and compare.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .tensor import Tensor


@dataclass(frozen=True)
class _Node:
    key: str
    label: str
    kind: str  # "leaf" | "param" | "tensor" | "op" | "output"


@dataclass(frozen=True)
class _Edge:
    source: str
    target: str


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 24 else text[:21] + "..."


def _tensor_label(t: Tensor, name: str | None) -> str:
    shape = "×".join(str(s) for s in t.shape) or "scalar"
    head = f"{name}: " if name else ""
    return f"{head}{shape} {t.dtype.name}"


def _walk(root: Tensor, names: Mapping[str, Tensor]) -> tuple[list[_Node], list[_Edge]]:
    by_id = {id(t): n for n, t in names.items()}
    nodes: list[_Node] = []
    edges: list[_Edge] = []
    seen: set[int] = set()
    stack: list[Tensor] = [root]
    while stack:
        t = stack.pop()
        if id(t) in seen:
            continue
        seen.add(id(t))
        name = by_id.get(id(t)) or t.name
        tkey = f"t{t.node_id}"
        if t.grad_fn is None:
            kind = "param" if name and t.requires_grad else "leaf"
        else:
            kind = "output" if t is root else "tensor"
        nodes.append(_Node(tkey, _tensor_label(t, name), kind))
        history = t.grad_fn
        if history is None:
            continue
        okey = f"op{t.node_id}"
        extras = [_short(a) for a in history.inputs if not isinstance(a, Tensor)]
        label = history.fn.__name__ + (f"({', '.join(extras)})" if extras else "")
        nodes.append(_Node(okey, label, "op"))
        edges.append(_Edge(okey, tkey))
        for inp in history.inputs:
            if isinstance(inp, Tensor):
                edges.append(_Edge(f"t{inp.node_id}", okey))
                if id(inp) not in seen:
                    stack.append(inp)
    return nodes, edges


def _escape(text: str) -> str:
    return text.replace('"', "'")


def to_mermaid(t: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """Mermaid flowchart text (paste into any Markdown viewer that renders ```mermaid blocks)."""
    nodes, edges = _walk(t, names or {})
    lines = ["flowchart LR"]
    for node in nodes:
        label = _escape(node.label)
        if node.kind == "op":
            lines.append(f'    {node.key}(["{label}"])')
        else:
            lines.append(f'    {node.key}["{label}"]:::{node.kind}')
    lines += [f"    {e.source} --> {e.target}" for e in _dedupe(edges)]
    lines += [
        "    classDef leaf fill:#eef,stroke:#66a",
        "    classDef param fill:#efe,stroke:#6a6",
        "    classDef tensor fill:#fff,stroke:#999",
        "    classDef output fill:#fee,stroke:#a66",
    ]
    return "\n".join(lines) + "\n"


def to_dot(t: Tensor, names: Mapping[str, Tensor] | None = None) -> str:
    """Graphviz DOT text (`dot -Tpng graph.dot -o graph.png`)."""
    nodes, edges = _walk(t, names or {})
    colors = {"leaf": "#ddddff", "param": "#ddffdd", "tensor": "#ffffff", "output": "#ffdddd"}
    lines = ["digraph minitorch_dg {", "    rankdir=LR;", '    node [fontname="Helvetica"];']
    for node in nodes:
        label = _escape(node.label)
        if node.kind == "op":
            lines.append(f'    {node.key} [label="{label}", shape=ellipse, style=filled, fillcolor="#ffeecc"];')
        else:
            lines.append(f'    {node.key} [label="{label}", shape=box, style=filled, fillcolor="{colors[node.kind]}"];')
    lines += [f"    {e.source} -> {e.target};" for e in _dedupe(edges)]
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dedupe(edges: list[_Edge]) -> Iterator[_Edge]:
    seen: set[tuple[str, str]] = set()
    for e in edges:
        if (e.source, e.target) not in seen:
            seen.add((e.source, e.target))
            yield e
