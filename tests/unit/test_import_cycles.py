"""The package's modules import each other without a circle (issue 13.2).

A circle (``loader`` -> ``validate`` -> ``loader``) forces function-level imports and an import order that
only works by accident; grimp builds the import graph from the sources, function-level imports included.
"""

from __future__ import annotations

import grimp


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """One shortest circle through each direct import that has a way back, as module names."""
    found = []
    for importer in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(importer)):
            back = graph.find_shortest_chain(importer=imported, imported=importer)
            if back:
                found.append([importer, *back])
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = grimp.build_graph("rabbitadmin", exclude_type_checking_imports=True)
    assert _cycles(graph) == []


def test_the_check_sees_a_function_level_cycle() -> None:
    # The check itself can fail: a circle made of imports inside functions, as the removed ones were.
    graph = grimp.build_graph("rabbitadmin", exclude_type_checking_imports=True)
    graph.add_import(importer="rabbitadmin.model", imported="rabbitadmin.normalize")
    assert ["rabbitadmin.model", "rabbitadmin.normalize", "rabbitadmin.model"] in _cycles(graph)
