"""io/ has no import cycles between its modules (document <-> coco_convert was one)."""

import grimp


def test_no_import_cycle_inside_io():
    graph = grimp.build_graph("annotator", include_external_packages=False)
    modules = {m for m in graph.modules if m.startswith("annotator.io")}
    edges = {m: graph.find_modules_directly_imported_by(m) & modules for m in modules}
    state: dict[str, int] = {}  # 1: on the DFS stack, 2: done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for target in sorted(edges[module]):
            if state.get(target) == 1:
                cycle = [*stack[stack.index(target) :], module, target]
                raise AssertionError("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target, [*stack, module])
        state[module] = 2

    for module in sorted(modules):
        if module not in state:
            visit(module, [])
