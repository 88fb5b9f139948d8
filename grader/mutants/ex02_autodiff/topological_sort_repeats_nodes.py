"""topological_sort without a visited set: a node reached by two paths is emitted twice."""

HINT = "Mark nodes visited by node_id so that each appears exactly once."


def topological_sort(root):
    if not root.requires_grad:
        return []
    order = []
    stack = [(root, False)]
    while stack:
        node, done = stack.pop()
        if done:
            order.append(node)
            continue
        stack.append((node, True))
        for parent in node.parents:
            stack.append((parent, False))
    order.reverse()
    return order
