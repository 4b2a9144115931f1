"""REFI-QDA exchange: codebooks (``.qdc``) and projects (``.qdpx``) for NVivo, ATLAS.ti, MAXQDA, QualCoder.

API
---
``write_qdc(codebook, path)`` / ``read_qdc(path) -> Codebook``
    Codebook exchange file, root ``CodeBook`` in ``urn:QDA-XML:codebook:1.0``.
``write_qdpx(path, transcripts, codebook, codings, users=None, project_name="voclens")`` /
``read_qdpx(path) -> (transcripts, codebook, codings)``
    Project exchange file: a zip holding ``project.qde`` (root ``Project`` in
    ``urn:QDA-XML:project:1.0``) and one UTF-8 text file per transcript under ``sources/``.
``validate_qdc(xml_bytes)`` / ``validate_qde(xml_bytes)``
    Check against the official XSDs in ``voclens/resources/refi/``. Raises ``InputError`` with
    the validation error lines. Both writers run this check before anything reaches the disk.

Mapping
-------
* ``Code`` -> ``Code`` element. Hierarchy is nested ``Code`` elements, ``color`` is ``#RRGGBB``,
  and ``isCodable`` is always true (a foreign ``isCodable="false"`` category is read as an
  ordinary code). The guid is ``Code.id`` itself when that is already a GUID; otherwise it is a
  deterministic UUID5 of the id (``code_guid``), so the same id always gets the same guid. The
  ``Description`` holds the description, then an ``Examples:`` block (``- `` items), then
  ``[voclens] key: <json>`` lines for what the schema has no place for: the original id when it
  is not a GUID, and ``rule``. Reading reverses this exactly. A description without the markers
  (written by another tool) is read as plain description text.
* ``Transcript`` -> ``TextSource`` with ``plainTextPath="internal://<guid>.txt"``. The text is stored
  byte for byte as UTF-8 without a BOM under ``sources/<guid>.txt``. QualCoder writes
  ``Sources/`` and reads either case; ``read_qdpx`` also accepts either, and a BOM. ``Transcript.case`` ->
  ``Cases/Case`` with a ``SourceRef``. Turns have no place in REFI-QDA and are not exported.
* ``Coding`` -> one ``PlainTextSelection`` with one ``Coding``/``CodeRef``. ``creatingUser`` is the
  guid of the ``User`` named after ``Coding.coder``, and ``name`` is the selected text (shortened).
  ``Coding.note`` and ``score`` go into the selection's ``Description``, the score on a
  ``[voclens] score:`` line. On reading, the coder is the user's name.
* ``read_qdc`` cannot recover ``Codebook.name`` (the format has none), so it uses the file
  stem. ``read_qdpx`` uses the project name, and ``Codebook.description`` travels in the
  project ``Description``.

Positions: what ``startPosition`` / ``endPosition`` count
-----------------------------------------------------------
What we found:

1. The schema (``Project-mrt2019.xsd``, ``PlainTextSelectionType``) types both attributes as
   ``xsd:integer`` and names no unit. The 1.5 specification text (section 9.2 "Text
   selections") could not be read in the stored material available to us. Only its table of
   contents was reachable (docslib.org/doc/13283886, pdfslide.us copy). We therefore do not
   quote it.
2. QualCoder, the one open-source implementation whose code we could read, uses **Unicode code points** of the
   decoded plain-text file, counted from 0, with the end exclusive. On import
   (``qualcoder/refi.py``, ``RefiImport.load_codings_for_text``) it takes
   ``seltext = source['fulltext'][pos0:pos1]``, a Python ``str`` slice of the UTF-8 text. On
   export (``RefiExport.text_selection_xml``) it writes its stored ``code_text.pos0/pos1``,
   which index ``fulltext`` the same way. QualCoder PR #1482 (2026-08) states it plainly:
   Python counts code points, while Qt's widgets count UTF-16 units. An emoji is 1 in Python
   and 2 in Qt, so positions taken from Qt must be converted before they are stored.
3. Line ends differ between tools. QualCoder's importer (``RefiImport.load_text_source``) notes that **ATLAS.ti**
   writes positions "as though \\r\\n is one character" while its ``.txt`` holds ``\\r\\n``. For
   other tools, **NVivo** among them, it pads each ``\\n`` when the file has CRLF, so those
   tools count CRLF as two. Its export option for **MAXQDA** writes CRLF into the file but
   keeps LF-based positions (``RefiExport.export_project``).
4. We found no public statement on whether NVivo, ATLAS.ti or MAXQDA count characters outside
   the BMP (emoji) as one unit or as two UTF-16 units. Their string types would suggest UTF-16,
   but that is unverified.

The rule voclens applies:

* By default, positions count **Unicode code points** of exactly the text stored in
  ``sources/``. There is no newline translation, no BOM, and the end is exclusive. This is
  what QualCoder reads and writes, and it equals our model's offsets. Full-width characters
  are BMP code points, so they count 1 in every convention. Only characters outside the BMP
  (😊, 👍, rare kanji from CJK Extension B and later) count 1 here and 2 in UTF-16.
* ``write_qdpx(..., position_unit="utf16")`` writes UTF-16 code units instead, for a tool that
  turns out to count that way. The conversion happens here, at the boundary. The model keeps
  code points. A position that falls inside a surrogate pair is rejected, never rounded.
* ``read_qdpx(..., position_unit="auto")`` (the default) reads code points unless the file
  shows otherwise. If a selection is in range only as UTF-16, or the selections' ``name``
  excerpts match the UTF-16 reading of texts that contain non-BMP characters better, it reads
  UTF-16. Pass ``"codepoint"`` or ``"utf16"`` to force a unit.
* Texts are written as they are. When a text contains ``\\r``, a warning says that ATLAS.ti
  and MAXQDA may count CRLF as one character. In that case, normalise the text to LF before
  exporting.
* On reading, a text stored with CRLF is counted as stored (CRLF = two) unless the project's
  ``origin`` names ATLAS.ti or its selections show that CRLF was counted as one. In that case
  the transcript comes back with LF line ends, so offsets still index ``Transcript.text``.
  ``read_qdpx(..., crlf="one"|"two")`` forces the choice. The same evidence as for
  ``position_unit`` is used.
"""

from __future__ import annotations

import bisect
import json
import re
import uuid
import warnings
import zipfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from importlib import resources
from pathlib import Path
from collections.abc import Iterable
from typing import Literal

from lxml import etree

from voclens.errors import ConfigError, InputError
from voclens.interviews.model import Code, Codebook, Coding, Transcript

NS_PROJECT = "urn:QDA-XML:project:1.0"
NS_CODEBOOK = "urn:QDA-XML:codebook:1.0"
ORIGIN = "voclens"
SOURCES_DIR = "sources"

PositionUnit = Literal["codepoint", "utf16"]
_UNITS = ("codepoint", "utf16")

# Namespace for our deterministic UUID5s: ids, coders and transcript names map to stable guids.
VOCLENS_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://github.com/voclens/voclens/refi-qda")

_GUID_RE = re.compile(
    r"^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
    r"|\{[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\})$"
)
_RGB_RE = re.compile(r"^#(?:[0-9A-Fa-f]{6}|[0-9A-Fa-f]{3})$")
# Characters XML 1.0 cannot carry (C0 controls except TAB/LF/CR, surrogates, U+FFFE/U+FFFF).
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_META_RE = re.compile(r"^\[voclens\] ([a-z_]+): (.*)$")
_EXAMPLES_HEADER = "Examples:"
_NAME_MAX = 80  # characters of the selected text kept in PlainTextSelection/@name


# --------------------------------------------------------------------------- guids


def is_guid(value: str) -> bool:
    """True when ``value`` matches the REFI-QDA ``GUIDType`` pattern (with or without braces)."""
    return bool(_GUID_RE.match(value or ""))


def _guid(kind: str, key: str) -> str:
    return str(uuid.uuid5(VOCLENS_NAMESPACE, f"{kind}:{key}"))


def code_guid(code_id: str) -> str:
    """The guid written for ``Code.id``: the id itself when it is a GUID, else a stable UUID5."""
    return code_id if is_guid(code_id) else _guid("code", code_id)


def user_guid(name: str) -> str:
    return _guid("user", name)


def source_guid(transcript_name: str) -> str:
    return _guid("source", transcript_name)


# --------------------------------------------------------------------------- positions


class _Positions:
    """Converts code-point offsets of one text to and from REFI positions in a given unit."""

    def __init__(self, text: str):
        self.text = text
        self.n = len(text)
        self.bmp_only = len(text.encode("utf-16-le")) // 2 == self.n
        self._u16: list[int] | None = None

    @property
    def u16(self) -> list[int]:
        """``u16[i]`` = UTF-16 units before code point ``i``; length ``n + 1``."""
        if self._u16 is None:
            acc, out = 0, [0]
            for ch in self.text:
                acc += 2 if ord(ch) > 0xFFFF else 1
                out.append(acc)
            self._u16 = out
        return self._u16

    def length(self, unit: str) -> int:
        return self.n if unit == "codepoint" or self.bmp_only else self.u16[-1]

    def to_unit(self, offset: int, unit: str) -> int:
        if not 0 <= offset <= self.n:
            raise ValueError(f"offset {offset} outside 0..{self.n}")
        if unit == "codepoint" or self.bmp_only:
            return offset
        return self.u16[offset]

    def from_unit(self, position: int, unit: str) -> int:
        """Code-point offset for a REFI position; ValueError when out of range or mid-pair."""
        if not 0 <= position <= self.length(unit):
            raise ValueError(f"position {position} outside 0..{self.length(unit)} ({unit})")
        if unit == "codepoint" or self.bmp_only:
            return position
        i = bisect.bisect_left(self.u16, position)
        if self.u16[i] != position:
            raise ValueError(f"UTF-16 position {position} falls inside a surrogate pair")
        return i


def to_refi_positions(text: str, start: int, end: int, unit: PositionUnit = "codepoint") -> tuple[int, int]:
    """Our code-point span -> (startPosition, endPosition) in ``unit``."""
    p = _Positions(text)
    return p.to_unit(start, _check_unit(unit)), p.to_unit(end, unit)


def from_refi_positions(text: str, start: int, end: int, unit: PositionUnit = "codepoint") -> tuple[int, int]:
    """(startPosition, endPosition) in ``unit`` -> our code-point span."""
    p = _Positions(text)
    return p.from_unit(start, _check_unit(unit)), p.from_unit(end, unit)


def _check_unit(unit: str, allow_auto: bool = False) -> str:
    allowed = _UNITS + (("auto",) if allow_auto else ())
    if unit not in allowed:
        raise ConfigError(f"position_unit {unit!r} is not one of {', '.join(allowed)}.")
    return unit


# --------------------------------------------------------------------------- validation


@lru_cache(maxsize=2)
def _schema(filename: str) -> etree.XMLSchema:
    ref = resources.files("voclens.resources").joinpath("refi", filename)
    with resources.as_file(ref) as p:
        return etree.XMLSchema(etree.parse(str(p)))


def _validate(xml: bytes | etree._Element, schema_file: str, what: str) -> None:
    try:
        doc = etree.fromstring(xml) if isinstance(xml, (bytes, bytearray)) else xml
    except etree.XMLSyntaxError as e:
        raise InputError(f"{what} is not well-formed XML: {e}") from e
    schema = _schema(schema_file)
    if not schema.validate(doc):
        lines = [f"line {err.line}: {err.message}" for err in schema.error_log]
        shown = "\n  ".join(lines[:20]) + (f"\n  ... and {len(lines) - 20} more" if len(lines) > 20 else "")
        raise InputError(f"{what} does not validate against the REFI-QDA schema {schema_file}:\n  {shown}")


def validate_qde(xml_bytes: bytes) -> None:
    """Raise InputError listing the errors when ``xml_bytes`` is not a valid ``project.qde``."""
    _validate(xml_bytes, "Project-mrt2019.xsd", "project.qde")


def validate_qdc(xml_bytes: bytes) -> None:
    """Raise InputError listing the errors when ``xml_bytes`` is not a valid ``.qdc`` codebook."""
    _validate(xml_bytes, "Codebook.xsd", "codebook (.qdc)")


# --------------------------------------------------------------------------- descriptions


def _xml_safe(s: str) -> str:
    return _XML_BAD.sub("", s)


def _compose(text: str, examples: Iterable[str] = (), meta: dict[str, object] | None = None) -> str:
    parts = []
    if text:
        parts.append(text)
    examples = list(examples)
    if examples:
        items = ["- " + ex.replace("\n", "\n  ") for ex in examples]
        parts.append(_EXAMPLES_HEADER + "\n" + "\n".join(items))
    lines = [f"[voclens] {k}: {json.dumps(v, ensure_ascii=False)}" for k, v in (meta or {}).items() if v is not None]
    if lines:
        parts.append("\n".join(lines))
    return "\n\n".join(parts)


def _parse(desc: str, with_examples: bool = True) -> tuple[str, list[str], dict[str, object]]:
    """Inverse of ``_compose``: (text, examples, meta). Foreign text comes back as ``text``."""
    meta: dict[str, object] = {}
    lines = desc.split("\n")
    while lines and (m := _META_RE.match(lines[-1])):
        try:
            meta[m.group(1)] = json.loads(m.group(2))
        except json.JSONDecodeError:
            break
        lines.pop()
    if meta and lines and lines[-1] == "":
        lines.pop()
    examples: list[str] = []
    for i in range(len(lines) - 1 if with_examples else -1, -1, -1):
        if lines[i] != _EXAMPLES_HEADER or (i > 0 and lines[i - 1] != ""):
            continue
        body = lines[i + 1:]
        if body and body[0].startswith("- ") and all(ln.startswith(("- ", "  ")) for ln in body):
            for ln in body:
                if ln.startswith("- "):
                    examples.append(ln[2:])
                else:
                    examples[-1] += "\n" + ln[2:]
            lines = lines[: max(i - 1, 0)]
        break
    return "\n".join(lines), examples, meta


# --------------------------------------------------------------------------- codebook


def _ordered_tree(codebook: Codebook) -> tuple[list[Code], dict[str, list[Code]]]:
    """(roots, children by parent id) in codebook order; InputError on bad ids or hierarchy."""
    by_id: dict[str, Code] = {}
    guids: dict[str, str] = {}
    for c in codebook.codes:
        if not c.id:
            raise InputError(f"codebook {codebook.name!r}: code {c.name!r} has an empty id. Give every code an id.")
        if c.id in by_id:
            raise InputError(f"codebook {codebook.name!r}: code id {c.id!r} is used twice. Code ids must be unique.")
        g = code_guid(c.id).lower().strip("{}")
        if g in guids:
            raise InputError(f"codebook {codebook.name!r}: codes {guids[g]!r} and {c.id!r} map to the same guid {g}.")
        guids[g] = c.id
        if c.color is not None and not _RGB_RE.match(c.color):
            raise InputError(
                f"codebook {codebook.name!r}: code {c.id!r} has colour {c.color!r}; REFI-QDA needs '#RRGGBB' (or '#RGB')."
            )
        by_id[c.id] = c
    roots: list[Code] = []
    children: dict[str, list[Code]] = {}
    for c in codebook.codes:
        if c.parent in (None, ""):
            roots.append(c)
        elif c.parent not in by_id:
            raise InputError(
                f"codebook {codebook.name!r}: code {c.id!r} names parent {c.parent!r}, which is not in the codebook."
            )
        else:
            children.setdefault(c.parent, []).append(c)
    # every code must hang from a root: anything left over is in a cycle
    seen: set[str] = set()
    stack = list(roots)
    while stack:
        c = stack.pop()
        seen.add(c.id)
        stack.extend(children.get(c.id, []))
    if len(seen) != len(by_id):
        loop = sorted(set(by_id) - seen)
        raise InputError(f"codebook {codebook.name!r}: codes {loop} form a parent cycle. Fix their parent ids.")
    return roots, children


def _code_element(parent: etree._Element, code: Code, children: dict[str, list[Code]], ns: str) -> None:
    attrs = {"guid": code_guid(code.id), "name": _xml_safe(code.name), "isCodable": "true"}
    if code.color:
        attrs["color"] = code.color
    el = etree.SubElement(parent, f"{{{ns}}}Code", attrs)
    meta = {"id": None if is_guid(code.id) else code.id, "rule": code.rule}
    desc = _compose(code.description, code.examples, meta)
    if desc:
        etree.SubElement(el, f"{{{ns}}}Description").text = _xml_safe(desc)
    for child in children.get(code.id, []):
        _code_element(el, child, children, ns)


def _codes_element(parent: etree._Element, codebook: Codebook, ns: str) -> None:
    roots, children = _ordered_tree(codebook)
    codes = etree.SubElement(parent, f"{{{ns}}}Codes")
    for c in roots:
        _code_element(codes, c, children, ns)


def _serialize(root: etree._Element) -> bytes:
    return etree.tostring(root, xml_declaration=True, encoding="utf-8", pretty_print=True)


def codebook_to_qdc_bytes(codebook: Codebook) -> bytes:
    """The ``.qdc`` document for ``codebook``, validated against ``Codebook.xsd``."""
    if not codebook.codes:
        raise InputError(f"codebook {codebook.name!r} has no codes; a REFI-QDA codebook needs at least one.")
    root = etree.Element(f"{{{NS_CODEBOOK}}}CodeBook", {"origin": ORIGIN}, nsmap={None: NS_CODEBOOK})
    _codes_element(root, codebook, NS_CODEBOOK)
    data = _serialize(root)
    validate_qdc(data)
    return data


def write_qdc(codebook: Codebook, path: str | Path) -> Path:
    """Write ``codebook`` as a REFI-QDA codebook exchange file (``.qdc``). Returns the path."""
    path = Path(path)
    data = codebook_to_qdc_bytes(codebook)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def _local(el: etree._Element) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _children(el: etree._Element, name: str) -> list[etree._Element]:
    return [c for c in el if _local(c) == name]


def _read_codes(codes_el: etree._Element, where: str) -> tuple[list[Code], dict[str, str]]:
    """Codes under a ``Codes`` element, depth first; also guid (normalised) -> Code.id."""
    out: list[Code] = []
    ids: dict[str, str] = {}

    def walk(el: etree._Element, parent: str | None) -> None:
        guid = (el.get("guid") or "").strip()
        name = el.get("name")
        if not guid or name is None:
            raise InputError(f"{where}: a Code element (line {el.sourceline}) lacks its guid or name attribute.")
        key = guid.lower().strip("{}")
        if key in ids:
            raise InputError(f"{where}: code guid {guid} appears twice (line {el.sourceline}).")
        desc_el = next(iter(_children(el, "Description")), None)
        text, examples, meta = _parse((desc_el.text or "") if desc_el is not None else "")
        code_id = meta.get("id") if isinstance(meta.get("id"), str) and meta.get("id") else guid
        color = el.get("color")
        if color and len(color) == 4:  # '#RGB' -> '#RRGGBB', the form our model uses
            color = "#" + "".join(ch * 2 for ch in color[1:])
        rule = meta.get("rule")
        ids[key] = code_id
        out.append(
            Code(
                id=code_id,
                name=name,
                description=text,
                examples=examples,
                parent=parent,
                color=color or None,
                rule=rule if isinstance(rule, str) else None,
            )
        )
        for child in _children(el, "Code"):
            walk(child, code_id)

    for el in _children(codes_el, "Code"):
        walk(el, None)
    seen: set[str] = set()
    for c in out:
        if c.id in seen:
            raise InputError(f"{where}: code id {c.id!r} appears twice.")
        seen.add(c.id)
    return out, ids


def _parse_xml(data: bytes, where: str) -> etree._Element:
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
    try:
        return etree.fromstring(data, parser)
    except etree.XMLSyntaxError as e:
        raise InputError(f"{where} is not well-formed XML: {e}") from e


def read_qdc(path: str | Path, *, validate: bool = False) -> Codebook:
    """Read a REFI-QDA codebook (``.qdc``). ``validate=True`` also checks it against the XSD."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read the codebook file ({e.strerror or e}).") from e
    root = _parse_xml(data, str(path))
    if _local(root) != "CodeBook" or etree.QName(root).namespace not in (NS_CODEBOOK, NS_PROJECT):
        raise InputError(
            f"{path}: root element is {root.tag!r}; a REFI-QDA codebook has root CodeBook in namespace {NS_CODEBOOK}."
        )
    if validate:
        _validate(root, "Codebook.xsd", str(path))
    codes_el = next(iter(_children(root, "Codes")), None)
    if codes_el is None:
        raise InputError(f"{path}: the CodeBook element has no Codes element.")
    codes, _ = _read_codes(codes_el, str(path))
    return Codebook(name=path.stem, codes=codes)


# --------------------------------------------------------------------------- project: write


def _stamp(dt: datetime) -> str:
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _excerpt(text: str) -> str:
    s = _xml_safe(text)
    return s if len(s) <= _NAME_MAX else s[: _NAME_MAX - 3] + "..."


def project_to_qde_bytes(
    transcripts: list[Transcript],
    codebook: Codebook,
    codings: list[Coding],
    users: list[str] | None = None,
    project_name: str = "voclens",
    *,
    position_unit: PositionUnit = "codepoint",
    created: datetime | None = None,
) -> tuple[bytes, dict[str, tuple[str, bytes]]]:
    """(project.qde bytes, {transcript name: (zip member, UTF-8 text)}), validated against the XSD."""
    unit = _check_unit(position_unit)
    stamp = _stamp(created or datetime.now(timezone.utc))
    names = [t.name for t in transcripts]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise InputError(f"transcript names {dup} are used more than once; each transcript needs a unique name.")
    by_name = {t.name: t for t in transcripts}
    code_ids = {c.id for c in codebook.codes}

    user_names: list[str] = []
    for name in list(users or []) + [c.coder for c in codings]:
        if name not in user_names:
            user_names.append(name)

    P = f"{{{NS_PROJECT}}}"
    root = etree.Element(P + "Project", nsmap={None: NS_PROJECT})
    root.set("name", _xml_safe(project_name))
    root.set("origin", ORIGIN)
    if user_names:
        root.set("creatingUserGUID", user_guid(user_names[0]))
    root.set("creationDateTime", stamp)

    if user_names:
        users_el = etree.SubElement(root, P + "Users")
        for name in user_names:
            etree.SubElement(users_el, P + "User", {"guid": user_guid(name), "name": _xml_safe(name)})
    if codebook.codes:
        _codes_element(etree.SubElement(root, P + "CodeBook"), codebook, NS_PROJECT)

    cases: dict[str, list[str]] = {}
    for t in transcripts:
        if t.case:
            cases.setdefault(t.case, []).append(source_guid(t.name))
    if cases:
        cases_el = etree.SubElement(root, P + "Cases")
        for case, sources in cases.items():
            case_el = etree.SubElement(cases_el, P + "Case", {"guid": _guid("case", case), "name": _xml_safe(case)})
            for g in sources:
                etree.SubElement(case_el, P + "SourceRef", {"targetGUID": g})

    per_source: dict[str, list[Coding]] = {}
    for c in codings:
        if c.source not in by_name:
            raise InputError(f"a coding points to transcript {c.source!r}, which is not among the transcripts given.")
        if c.code not in code_ids:
            raise InputError(f"a coding on {c.source!r} uses code {c.code!r}, which is not in codebook {codebook.name!r}.")
        per_source.setdefault(c.source, []).append(c)

    files: dict[str, tuple[str, bytes]] = {}
    if transcripts:
        sources_el = etree.SubElement(root, P + "Sources")
    for t in transcripts:
        if "\r" in t.text:
            warnings.warn(
                f"transcript {t.name!r} contains carriage returns; voclens counts each \\r as a character, but "
                "ATLAS.ti and MAXQDA may count CRLF as one. Normalise line ends to LF before exporting for them.",
                stacklevel=3,
            )
        sguid = source_guid(t.name)
        member = f"{SOURCES_DIR}/{sguid}.txt"
        files[t.name] = (member, t.text.encode("utf-8", errors="surrogatepass"))
        src = etree.SubElement(
            sources_el,
            P + "TextSource",
            {"guid": sguid, "name": _xml_safe(t.name), "plainTextPath": f"internal://{sguid}.txt", "creationDateTime": stamp},
        )
        pos = _Positions(t.text)
        used: set[str] = set()
        for c in per_source.get(t.name, []):
            if not 0 <= c.start <= c.end <= pos.n:
                raise InputError(
                    f"coding {c.code!r} by {c.coder!r} on {t.name!r} spans {c.start}..{c.end}, "
                    f"outside the text (0..{pos.n}) or reversed."
                )
            key = f"{t.name}\x1f{c.start}\x1f{c.end}\x1f{c.code}\x1f{c.coder}"
            k, n = key, 1
            while k in used:
                n += 1
                k = f"{key}\x1f{n}"
            used.add(k)
            ugid = user_guid(c.coder)
            sel = etree.SubElement(
                src,
                P + "PlainTextSelection",
                {
                    "guid": _guid("selection", k),
                    "name": _excerpt(t.text[c.start:c.end]),
                    "startPosition": str(pos.to_unit(c.start, unit)),
                    "endPosition": str(pos.to_unit(c.end, unit)),
                    "creatingUser": ugid,
                    "creationDateTime": stamp,
                },
            )
            desc = _compose(c.note, (), {"score": c.score})
            if desc:
                etree.SubElement(sel, P + "Description").text = _xml_safe(desc)
            coding_el = etree.SubElement(
                sel, P + "Coding", {"guid": _guid("coding", k), "creatingUser": ugid, "creationDateTime": stamp}
            )
            etree.SubElement(coding_el, P + "CodeRef", {"targetGUID": code_guid(c.code)})

    if codebook.description:
        etree.SubElement(root, P + "Description").text = _xml_safe(codebook.description)
    data = _serialize(root)
    validate_qde(data)
    return data, files


def write_qdpx(
    path: str | Path,
    transcripts: list[Transcript],
    codebook: Codebook,
    codings: list[Coding],
    users: list[str] | None = None,
    project_name: str = "voclens",
    *,
    position_unit: PositionUnit = "codepoint",
    created: datetime | None = None,
) -> Path:
    """Write a REFI-QDA project (``.qdpx``): ``project.qde`` plus ``sources/<guid>.txt`` per transcript.

    ``users`` adds project members besides the coders found in ``codings``. ``position_unit``
    chooses what ``startPosition``/``endPosition`` count (see the module docstring). ``created``
    fixes the timestamps (default: now), which makes the archive reproducible byte for byte.
    """
    created = created or datetime.now(timezone.utc)
    qde, files = project_to_qde_bytes(
        transcripts, codebook, codings, users, project_name, position_unit=position_unit, created=created
    )
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    utc = (created if created.tzinfo else created.replace(tzinfo=timezone.utc)).astimezone(timezone.utc)
    when = (max(utc.year, 1980), utc.month, utc.day, utc.hour, utc.minute, utc.second)
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, data in [("project.qde", qde), *files.values()]:
            info = zipfile.ZipInfo(name, date_time=when)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return path


# --------------------------------------------------------------------------- project: read


def _decode_text(data: bytes, where: str) -> str:
    if data.startswith(b"\xef\xbb\xbf"):
        data, enc = data[3:], "utf-8"
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        enc = "utf-16"
    else:
        enc = "utf-8"
    try:
        return data.decode(enc)
    except UnicodeDecodeError as e:
        raise InputError(
            f"{where}: not valid {enc.upper()} text (bad byte at offset {e.start}). REFI-QDA plain text must be UTF-8."
        ) from e


@dataclass
class _RawSelection:
    source: str  # transcript name
    start: int
    end: int
    name: str | None
    line: int | None
    codings: list[tuple[str, str]]  # (code guid, creatingUser guid)
    description: str
    whole: bool = False  # a Coding on the TextSource itself: the whole text, offsets already code points


def _find_member(zf: zipfile.ZipFile, filename: str) -> str | None:
    names = zf.namelist()
    lower = {n.lower(): n for n in names}
    for folder in (SOURCES_DIR, "Sources"):
        hit = lower.get(f"{folder}/{filename}".lower())
        if hit:
            return hit
    for n in names:  # some exporters nest or flatten the folder
        if n.rsplit("/", 1)[-1].lower() == filename.lower():
            return n
    return None


def _source_text(zf: zipfile.ZipFile, src: etree._Element, qdpx: Path, base_path: str | None) -> str:
    where = f"{qdpx}: TextSource {src.get('name') or src.get('guid')!r}"
    content = next(iter(_children(src, "PlainTextContent")), None)
    if content is not None:
        return content.text or ""
    ptp = src.get("plainTextPath")
    if not ptp:
        raise InputError(f"{where} has neither plainTextPath nor PlainTextContent; its text cannot be found.")
    if ptp.startswith("internal://"):
        filename = ptp[len("internal://"):].lstrip("/")
        member = _find_member(zf, filename)
        if member is None:
            raise InputError(f"{where}: {ptp} is not in the archive (looked for {SOURCES_DIR}/{filename}).")
        return _decode_text(zf.read(member), f"{qdpx}!{member}")
    if ptp.startswith("absolute://"):
        rest = ptp[len("absolute://"):]
        file = Path(rest.lstrip("/") if re.match(r"^/*[A-Za-z]:", rest) else rest)  # Windows drive or POSIX path
    elif ptp.startswith("relative://"):
        file = Path(base_path or qdpx.parent) / ptp[len("relative://"):].lstrip("/")
    else:
        raise InputError(f"{where}: plainTextPath {ptp!r} uses an unknown scheme (internal://, relative://, absolute://).")
    try:
        return _decode_text(file.read_bytes(), str(file))
    except OSError as e:
        raise InputError(f"{where}: external text {ptp} cannot be read ({e.strerror or e}).") from e


_Reading = tuple[str, bool]  # (unit, CRLF counted as one character)


def _choose_reading(
    raw: list[_RawSelection], texts: dict[str, str], candidates: list[_Reading]
) -> _Reading:
    """The reading of positions the file's own selections support best; ties go to the first candidate.

    Evidence: a selection that fits the text under some readings and not others, and the
    selection ``name`` excerpts, which most tools fill with the start of the selected text.
    """
    if len(candidates) == 1:
        return candidates[0]
    views: dict[tuple[str, bool], _Positions] = {}

    def view(source: str, lf: bool) -> _Positions:
        key = (source, lf)
        if key not in views:
            t = texts[source]
            views[key] = _Positions(t.replace("\r\n", "\n") if lf else t)
        return views[key]

    votes = {c: 0 for c in candidates}
    for s in raw:
        if s.whole:
            continue
        slices: dict[_Reading, str | None] = {}
        for unit, lf in candidates:
            p = view(s.source, lf)
            try:
                a, b = p.from_unit(s.start, unit), p.from_unit(s.end, unit)
                slices[(unit, lf)] = p.text[a:b] if a <= b else None
            except ValueError:
                slices[(unit, lf)] = None
        if len(set(slices.values())) == 1:
            continue  # every reading gives the same span: no evidence
        for c, sl in slices.items():
            if sl is not None and any(v is None for v in slices.values()):
                votes[c] += 10
        if s.name:
            name = s.name[:-3] if s.name.endswith("...") else s.name.rstrip("…")
            for c, sl in slices.items():
                if name and sl is not None and _xml_safe(sl).startswith(name):
                    votes[c] += 1
    best = max(votes.values())
    return next(c for c in candidates if votes[c] == best)


def read_qdpx(
    path: str | Path, *, position_unit: str = "auto", crlf: str = "auto", validate: bool = False
) -> tuple[list[Transcript], Codebook, list[Coding]]:
    """Read a REFI-QDA project: (transcripts, codebook, codings), offsets in code points.

    Text sources only; picture, PDF, audio and video sources are skipped with a warning.
    Selections without a Coding (annotations) are skipped. ``validate=True`` also checks
    ``project.qde`` against the XSD; by default reading is lenient, because real exports
    often bend the schema. ``position_unit`` is ``"auto"`` (see the module docstring),
    ``"codepoint"`` or ``"utf16"``. ``crlf`` says how a text stored with CRLF line ends is
    counted: ``"two"`` (as stored), ``"one"`` (the text is returned with LF line ends, as
    ATLAS.ti counts), or ``"auto"``.
    """
    unit_req = _check_unit(position_unit, allow_auto=True)
    if crlf not in ("auto", "one", "two"):
        raise ConfigError(f"crlf {crlf!r} is not one of auto, one, two.")
    path = Path(path)
    try:
        zf = zipfile.ZipFile(path)
    except FileNotFoundError as e:
        raise InputError(f"{path}: no such file.") from e
    except (zipfile.BadZipFile, OSError) as e:
        raise InputError(f"{path}: not a REFI-QDA project (.qdpx must be a zip archive): {e}") from e
    with zf:
        qde_name = next((n for n in zf.namelist() if n.lower().endswith(".qde") and "/" not in n.strip("/")), None)
        if qde_name is None:
            raise InputError(f"{path}: the archive has no project.qde at its top level; it is not a REFI-QDA project.")
        root = _parse_xml(zf.read(qde_name), f"{path}!{qde_name}")
        if _local(root) != "Project" or etree.QName(root).namespace != NS_PROJECT:
            raise InputError(
                f"{path}!{qde_name}: root element is {root.tag!r}; expected Project in namespace {NS_PROJECT}."
            )
        if validate:
            _validate(root, "Project-mrt2019.xsd", f"{path}!{qde_name}")
        where = f"{path}!{qde_name}"

        users: dict[str, str] = {}
        for users_el in _children(root, "Users"):
            for u in _children(users_el, "User"):
                g = (u.get("guid") or "").lower().strip("{}")
                users[g] = u.get("name") or u.get("id") or u.get("guid") or "unknown"

        codes: list[Code] = []
        guid_to_id: dict[str, str] = {}
        for cb in _children(root, "CodeBook"):
            for codes_el in _children(cb, "Codes"):
                got, ids = _read_codes(codes_el, where)
                codes += got
                guid_to_id.update(ids)
        desc_el = next(iter(_children(root, "Description")), None)
        codebook = Codebook(
            name=root.get("name") or path.stem,
            codes=codes,
            description=(desc_el.text or "") if desc_el is not None else "",
        )

        case_of: dict[str, str] = {}
        for cases_el in _children(root, "Cases"):
            for case in _children(cases_el, "Case"):
                for ref in _children(case, "SourceRef"):
                    case_of.setdefault((ref.get("targetGUID") or "").lower().strip("{}"), case.get("name") or "")

        transcripts: list[Transcript] = []
        positions: dict[str, _Positions] = {}
        raw: list[_RawSelection] = []
        skipped: list[str] = []
        for sources_el in _children(root, "Sources"):
            for src in sources_el:
                kind = _local(src)
                if kind != "TextSource":
                    if kind:
                        skipped.append(f"{kind} {src.get('name') or src.get('guid')!r}")
                    continue
                sguid = (src.get("guid") or "").lower().strip("{}")
                text = _source_text(zf, src, path, root.get("basePath"))
                name = src.get("name") or src.get("guid") or f"source{len(transcripts) + 1}"
                if name in positions:
                    name = f"{name} [{sguid[:8]}]"
                positions[name] = _Positions(text)
                transcripts.append(
                    Transcript(name=name, text=text, case=case_of.get(sguid, ""), path=str(path), format="txt")
                )
                for sel in _children(src, "PlainTextSelection"):
                    try:
                        start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
                    except (TypeError, ValueError):
                        raise InputError(
                            f"{where}: PlainTextSelection on line {sel.sourceline} in {name!r} has startPosition="
                            f"{sel.get('startPosition')!r} endPosition={sel.get('endPosition')!r}; both must be integers."
                        ) from None
                    sel_user = sel.get("creatingUser") or sel.get("modifyingUser") or ""
                    pairs = []
                    for coding in _children(sel, "Coding"):
                        ref = next(iter(_children(coding, "CodeRef")), None)
                        if ref is None:
                            raise InputError(f"{where}: Coding on line {coding.sourceline} has no CodeRef.")
                        pairs.append((ref.get("targetGUID") or "", coding.get("creatingUser") or sel_user))
                    d = next(iter(_children(sel, "Description")), None)
                    raw.append(_RawSelection(name, start, end, sel.get("name"), sel.sourceline, pairs,
                                             (d.text or "") if d is not None else ""))
                for coding in _children(src, "Coding"):  # whole-source coding
                    ref = next(iter(_children(coding, "CodeRef")), None)
                    if ref is None:
                        raise InputError(f"{where}: Coding on line {coding.sourceline} has no CodeRef.")
                    raw.append(_RawSelection(name, 0, len(text), None, coding.sourceline,
                                             [(ref.get("targetGUID") or "", coding.get("creatingUser") or "")], "",
                                             whole=True))
        if skipped:
            warnings.warn(f"{path}: skipped non-text sources (only TextSource is read): {', '.join(skipped)}", stacklevel=2)

    texts = {t.name: t.text for t in transcripts}
    has_crlf = any("\r\n" in t for t in texts.values())
    origin = (root.get("origin") or "").lower()
    lf_options = [False] if not has_crlf or crlf == "two" else [True] if crlf == "one" else (
        [True, False] if "atlas" in origin else [False, True]  # QualCoder: ATLAS.ti counts CRLF as one
    )
    units = list(_UNITS) if unit_req == "auto" else [unit_req]
    unit, lf = _choose_reading(raw, texts, [(u, n) for n in lf_options for u in units])
    if lf:
        for t in transcripts:
            t.text = t.text.replace("\r\n", "\n")
            positions[t.name] = _Positions(t.text)
        for s in raw:
            if s.whole:
                s.end = len(positions[s.source].text)
    codings: list[Coding] = []
    for s in raw:
        p = positions[s.source]
        try:
            if s.start > s.end:
                raise ValueError("startPosition is after endPosition")
            if s.whole:
                start, end = s.start, s.end
            else:
                start, end = p.from_unit(s.start, unit), p.from_unit(s.end, unit)
        except ValueError as e:
            raise InputError(
                f"{where}: selection {s.start}..{s.end} on line {s.line} in {s.source!r} does not fit the text "
                f"({p.length(unit)} {unit} units): {e}."
            ) from None
        note, _, meta = _parse(s.description, with_examples=False)
        score = meta.get("score")
        for target, creator in s.codings:
            code_id = guid_to_id.get(target.lower().strip("{}"))
            if code_id is None:
                raise InputError(
                    f"{where}: a Coding on line {s.line} in {s.source!r} refers to code {target!r}, "
                    "which is not in the project's CodeBook."
                )
            coder = users.get(creator.lower().strip("{}"), "unknown") if creator else "unknown"
            codings.append(
                Coding(
                    source=s.source,
                    start=start,
                    end=end,
                    code=code_id,
                    coder=coder,
                    score=float(score) if isinstance(score, (int, float)) else None,
                    note=note,
                )
            )
    return transcripts, codebook, codings


__all__ = [
    "NS_CODEBOOK",
    "NS_PROJECT",
    "PositionUnit",
    "code_guid",
    "codebook_to_qdc_bytes",
    "from_refi_positions",
    "is_guid",
    "project_to_qde_bytes",
    "read_qdc",
    "read_qdpx",
    "source_guid",
    "to_refi_positions",
    "user_guid",
    "validate_qdc",
    "validate_qde",
    "write_qdc",
    "write_qdpx",
]
