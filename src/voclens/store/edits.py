"""Human edits to themes, kept in the store so that they survive every later run.

An edits file (TOML) is a list of operations, applied in order after the run's themes are
matched to their stable ids:

    [[rename]]            # a new label, kept from now on
    theme = "T0003"
    label = "配送遅延"

    [[pin]]               # keep the current label even when the keywords change
    theme = "T0002"

    [[merge]]             # the listed themes become one; later runs keep them together
    themes = ["T0004", "T0009"]
    into = "T0004"

    [[split]]             # re-cluster the theme's segments into N parts in this and later runs
    theme = "T0005"
    into = 2

    [[move]]              # put one document's segments into another theme (this period)
    document = "R-010231"
    theme = "T0001"
"""

from __future__ import annotations

from pathlib import Path

from voclens.config import read_toml
from voclens.errors import ConfigError

OPS = {"rename": ("theme", "label"), "pin": ("theme",), "merge": ("themes", "into"), "split": ("theme", "into"),
       "move": ("document", "theme")}


def validate_edit(edit: dict) -> None:
    op = edit.get("op")
    if op not in OPS:
        raise ConfigError(f"Unknown edit {op!r}; known edits: {', '.join(OPS)}. Fix the edits file.")
    missing = [k for k in OPS[op] if k not in edit]
    if missing:
        raise ConfigError(f"Edit {op!r} needs {missing} (got {sorted(edit)}). Fix the edits file.")
    if op == "merge" and edit["into"] not in edit["themes"]:
        raise ConfigError(f"merge: 'into' ({edit['into']}) must be one of 'themes' {edit['themes']}.")
    if op == "split" and (not isinstance(edit["into"], int) or edit["into"] < 2):
        raise ConfigError(f"split: 'into' must be an integer >= 2, got {edit['into']!r}.")


def read_edits(path: str | Path) -> list[dict]:
    data = read_toml(path, "--edits", "See voclens.store.edits for the format.")
    edits = []
    for op, items in data.items():
        for item in items if isinstance(items, list) else [items]:
            e = {"op": op, **item}
            validate_edit(e)
            edits.append(e)
    return edits


def merge_map(edits: list[dict]) -> dict[str, str]:
    """uid -> the uid it was merged into (followed to the end of the chain)."""
    parent: dict[str, str] = {}
    for e in edits:
        if e["op"] == "merge":
            for t in e["themes"]:
                if t != e["into"]:
                    parent[t] = e["into"]

    def root(u: str) -> str:
        seen = set()
        while u in parent and u not in seen:
            seen.add(u)
            u = parent[u]
        return u

    return {u: root(u) for u in parent}
