"""A recursive depth-first topological sort: correct, but a 10,000-node chain exceeds Python's recursion limit."""

HINT = "Replace the recursion by an explicit stack."


def topological_sort(root):
    if not root.requires_grad:
        return []
    seen = set()
    order = []

    def visit(node):
        if node.node_id in seen:
            return
        seen.add(node.node_id)
        for parent in node.parents:
            visit(parent)
        order.append(node)

    visit(root)
    order.reverse()
    return order
