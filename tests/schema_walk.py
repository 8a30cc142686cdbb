"""Walking a JSON Schema's property definitions (for the "every property is documented" checks)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any


def property_schemas(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every ``properties`` entry anywhere in the schema, with its JSON pointer."""
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}/properties/{name}", sub
        for key, sub in node.items():
            yield from property_schemas(sub, f"{path}/{key}")
    elif isinstance(node, list):
        for index, sub in enumerate(node):
            yield from property_schemas(sub, f"{path}/{index}")
