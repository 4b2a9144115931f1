"""Codebooks: built-in ones from the seeds, YAML/JSON files, and REFI-QDA .qdc.

A codebook file lists codes with an id, a name, a description, examples, a colour, an optional
parent (or nested ``children``) and an optional KH Coder rule used for deductive coding:

    name: my-study
    codes:
      - id: barrier
        name: 抑圧
        description: 実現を妨げている要因
        examples: [続ける自信がなかった]
        color: "#D55E00"
        rule: 自信 or 不安 or 面倒
        children:
          - {id: cost, name: 費用, rule: 高い or 料金}
"""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

from voclens.errors import ConfigError, InputError, MissingDependencyError
from voclens.interviews.model import Code, Codebook

def builtin_names() -> list[str]:
    folder = resources.files("voclens.resources").joinpath("codebooks")
    return sorted(p.name.rsplit(".", 1)[0] for p in folder.iterdir() if p.name.endswith(".yaml"))


def load_codebook(spec: str | Path) -> Codebook:
    """A built-in codebook by name (alt-model, job-map, job-types, journey-stages) or a file
    (.yaml, .yml, .json, .qdc)."""
    spec = str(spec)
    if spec in builtin_names():
        text = resources.files("voclens.resources").joinpath("codebooks").joinpath(f"{spec}.yaml").read_text(encoding="utf-8")
        return _from_mapping(_yaml(text, spec), spec)
    path = Path(spec)
    if not path.is_file():
        raise ConfigError(f"Codebook {spec!r} is neither a built-in ({', '.join(builtin_names())}) nor a file. "
                          "Give one of those names or the path to a .yaml, .json or .qdc codebook.")
    suffix = path.suffix.lower()
    if suffix == ".qdc":
        from voclens.interviews.refi import read_qdc

        return read_qdc(path)
    text = path.read_text(encoding="utf-8-sig")
    if suffix in (".yaml", ".yml"):
        return _from_mapping(_yaml(text, str(path)), path.stem)
    if suffix == ".json":
        try:
            return _from_mapping(json.loads(text), path.stem)
        except json.JSONDecodeError as exc:
            raise InputError(f"{path} is not valid JSON ({exc}). Fix the codebook file.") from exc
    raise ConfigError(f"Unsupported codebook file {path.name}: use .yaml, .yml, .json or .qdc.")


def save_codebook(codebook: Codebook, path: str | Path) -> Path:
    """YAML or JSON by extension; .qdc for REFI-QDA."""
    path = Path(path)
    if path.suffix.lower() == ".qdc":
        from voclens.interviews.refi import write_qdc

        write_qdc(codebook, path)
        return path
    data = {"name": codebook.name, "description": codebook.description, "codes": [
        {k: v for k, v in {"id": c.id, "name": c.name, "description": c.description, "examples": c.examples,
                           "parent": c.parent, "color": c.color, "rule": c.rule}.items() if v not in (None, "", [])}
        for c in codebook.codes]}
    if path.suffix.lower() == ".json":
        path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    else:
        path.write_text(_yaml_module().safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _yaml_module():
    try:
        import yaml
    except ImportError as exc:  # pragma: no cover - core dependency
        raise MissingDependencyError("YAML codebooks", "pip install pyyaml") from exc
    return yaml


def _yaml(text: str, where: str) -> dict:
    yaml = _yaml_module()
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise InputError(f"{where} is not valid YAML ({exc}). Fix the codebook file.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("codes"), list):
        raise InputError(f"{where}: a codebook needs a top-level 'codes' list. See voclens.interviews.codebook for the format.")
    return data


def _slug(name: str, taken: set[str]) -> str:
    base = re.sub(r"[^0-9A-Za-z_-]+", "-", name).strip("-").lower() or f"code{len(taken) + 1}"
    slug, n = base, 2
    while slug in taken:
        slug, n = f"{base}-{n}", n + 1
    return slug


def _from_mapping(data: dict, default_name: str) -> Codebook:
    codes: list[Code] = []
    taken: set[str] = set()

    def add(item: dict, parent: str | None, path: str) -> None:
        if not isinstance(item, dict) or not item.get("name"):
            raise InputError(f"Codebook {default_name}: code at {path} needs a 'name'. Fix the codebook file.")
        if isinstance(item.get("id"), bool):
            raise InputError(f"Codebook {default_name}: code {item['name']!r} has id {item['id']} — YAML reads yes/no/on/off "
                             "as true/false. Quote the id (id: \"yes\").")
        cid = str(item.get("id") or _slug(str(item["name"]), taken))
        if cid in taken:
            raise InputError(f"Codebook {default_name}: code id {cid!r} appears twice. Give each code its own id.")
        taken.add(cid)
        examples = item.get("examples") or []
        codes.append(Code(cid, str(item["name"]), str(item.get("description") or ""),
                          [str(e) for e in (examples if isinstance(examples, list) else [examples])],
                          item.get("parent") or parent, item.get("color"), item.get("rule")))
        for j, child in enumerate(item.get("children") or []):
            add(child, cid, f"{path}.children[{j}]")

    for i, item in enumerate(data["codes"]):
        add(item, None, f"codes[{i}]")
    known = {c.id for c in codes}
    for c in codes:
        if c.parent and c.parent not in known:
            raise InputError(f"Codebook {default_name}: code {c.id!r} names parent {c.parent!r}, which is not in the codebook.")
    return Codebook(str(data.get("name") or default_name), codes, str(data.get("description") or ""))
