"""Turn one input file into a table of raw string cells, whatever its format or encoding.

Everything downstream (column detection, dates, ids) works on strings, so every reader returns
the same thing: a DataFrame whose cells are ``str`` (or ``None`` when a JSON/Excel/Parquet cell
is missing) and an ``info`` dict saying how the file was read. Text formats are decoded here
with a detected encoding: Japanese feedback arrives as UTF-8, UTF-8 with BOM (Excel "CSV UTF-8"),
CP932 (Excel's default "CSV") or UTF-16 (Excel "Unicode text"), and users should not have to know
which one they have.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import decimal
import io
import json
import math
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from voclens.errors import ConfigError, InputError

# Cells that hold bytes we could not decode carry this character in place of the bad bytes, so
# the row can be sent to rejects as ``undecodable`` after parsing. U+10FFFE is a Unicode
# noncharacter: it never occurs in real text, unlike U+FFFD which a file may legitimately hold.
UNDECODABLE = "\U0010fffe"
_ERRORS = "voclens-undecodable"
codecs.register_error(_ERRORS, lambda exc: (UNDECODABLE, exc.end))

# More than this share of undecodable lines means the encoding is wrong, not a few bad rows.
MAX_BAD_LINE_SHARE = 0.25

FORMATS = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".tab": "tsv",
    ".txt": "txt",
    ".jsonl": "jsonl",
    ".ndjson": "jsonl",
    ".json": "json",
    ".xlsx": "xlsx",
    ".xlsm": "xlsx",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SUPPORTED = ", ".join(FORMATS)

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16: the UTF-32 LE BOM starts with the UTF-16 one
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


# -- encodings ---------------------------------------------------------------------------------
def detect_encoding(data: bytes) -> str:
    """Name the encoding of ``data``: BOM, UTF-8, CP932, EUC-JP, then charset-normalizer's guess.

    UTF-8 is tried before CP932 because UTF-8 Japanese often decodes as CP932 without error
    (as mojibake), never the other way round. A file that is UTF-8 except for a few bad lines is
    still called UTF-8 (the bad lines become rejects) rather than CP932 mojibake.
    """
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    bomless16 = _bomless_utf16(data)
    if bomless16:
        return bomless16
    try:
        data.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    if _line_share(data, "utf-8") >= 0.5:
        return "utf-8"
    try:
        strict = True
        as_cp932 = data.decode("cp932")
    except UnicodeDecodeError:
        strict = False
        as_cp932 = data.decode("cp932", errors="replace")
    if (strict or _line_share(data, "cp932") >= 0.5) and _plausible_japanese(as_cp932):
        return "cp932"
    try:  # EUC-JP (old Unix/web exports) also decodes as CP932, but as half-width kana noise
        data.decode("euc_jp")
        return "euc_jp"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[: 1 << 20]).best()
    return best.encoding if best is not None else "utf-8"


def _bomless_utf16(data: bytes) -> str | None:
    """UTF-16 without BOM shows NUL bytes on one side of most ASCII characters."""
    sample = data[:65536]
    pairs = len(sample) // 2
    if pairs < 4 or b"\x00" not in sample:
        return None
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    if odd > 0.2 * pairs and even < 0.02 * pairs:
        return "utf-16-le"
    if even > 0.2 * pairs and odd < 0.02 * pairs:
        return "utf-16-be"
    return None


def _plausible_japanese(text: str) -> bool:
    """Real CP932 text is mostly full-width; bytes of another encoding read as CP932 come out as
    half-width katakana (U+FF61–FF9F) and user-defined characters (U+E000–F8FF)."""
    sample = text[:200000]
    wide = [ch for ch in sample if ord(ch) > 0x7F]
    if not wide:
        return True
    odd = sum(1 for ch in wide if "\uff61" <= ch <= "\uff9f" or "\ue000" <= ch <= "\uf8ff")
    return odd <= 0.4 * len(wide)


def _line_share(data: bytes, encoding: str, limit: int = 20000) -> float:
    """Share of non-ASCII lines (of the first ``limit``) that decode strictly in ``encoding``."""
    lines = [ln for ln in data.split(b"\n", limit)[:limit] if not ln.isascii()]
    if not lines:
        return 0.0
    ok = 0
    for ln in lines:
        try:
            ln.decode(encoding)
            ok += 1
        except UnicodeDecodeError:
            pass
    return ok / len(lines)


def decode_text(data: bytes, path: Path, forced: str | None = None) -> tuple[str, str, int]:
    """Decode a whole text file; return (text, encoding, number of lines with bad bytes).

    Bad bytes become :data:`UNDECODABLE` so that their rows can be rejected one by one. If too
    many lines are bad the encoding is wrong and we stop with advice instead of loading garbage.
    """
    encoding = forced or detect_encoding(data)
    try:
        codecs.lookup(encoding)
    except LookupError as exc:
        raise ConfigError(
            f"Unknown encoding '{encoding}' given for {path.name}. Use a Python codec name such as utf-8, cp932 or utf-16."
        ) from exc
    try:
        text = data.decode(encoding)
        bad = 0
    except UnicodeDecodeError:
        text = data.decode(encoding, errors=_ERRORS)
        lines = text.count("\n") + 1
        bad = sum(1 for ln in text.split("\n") if UNDECODABLE in ln)
        if bad > MAX_BAD_LINE_SHARE * lines:
            raise InputError(
                f"{path}: {bad} of {lines} lines cannot be decoded as {encoding}. The file is in another "
                "encoding: save it as UTF-8, or name its encoding with --encoding (e.g. cp932, utf-16, euc-jp)."
            ) from None
    if text.startswith("\ufeff"):  # a BOM left by a forced plain 'utf-8'
        text = text[1:]
    if "\x00" in text:  # stray NULs (broken exports) would cut cells short in the C parser
        text = text.replace("\x00", "")
    return text, encoding, bad


# -- readers -----------------------------------------------------------------------------------
def read_table(path: str | Path, settings: Any = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Read one file into (DataFrame of raw string cells, info).

    ``info`` holds ``path``, ``format``, ``encoding`` (None for binary formats),
    ``undecodable_lines``, ``not_text`` ({column: [row positions]} of JSON cells that were
    objects or arrays, so a structured value is not taken for a text) and ``malformed`` (row
    positions of CSV records with more fields than the header).
    """
    path = Path(path)
    if path.is_dir():
        raise InputError(f"{path} is a folder. Pass the files inside it, e.g. {path}/*.csv.")
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unsupported file type '{path.suffix or '(no extension)'}'. Supported: {SUPPORTED}. "
            "Save the file in one of these formats (Excel: 'CSV UTF-8' or .xlsx)."
        )
    if not path.exists():
        raise InputError(f"{path}: file not found. Check the path (relative paths start from {Path.cwd()}).")
    forced = getattr(settings, "encoding", None) if settings is not None else None
    info: dict[str, Any] = {"path": str(path), "format": fmt, "encoding": None, "undecodable_lines": 0, "not_text": {}, "malformed": []}
    try:
        if fmt in ("xlsx", "parquet"):
            df = _read_xlsx(path) if fmt == "xlsx" else _read_parquet(path)
        else:
            text, info["encoding"], info["undecodable_lines"] = decode_text(path.read_bytes(), path, forced)
            if fmt == "txt" and info["encoding"].startswith("utf-16") and _looks_tabular(text):
                fmt = info["format"] = "tsv"  # Excel "Unicode text" export: tab-separated, .txt name
            if fmt in ("csv", "tsv"):
                df, info["malformed"] = _read_delimited(text, "\t" if fmt == "tsv" else _sniff_sep(text), path)
            elif fmt == "txt":
                df = _read_lines(text)
            elif fmt == "jsonl":
                df, info["not_text"] = _read_jsonl(text, path)
            else:
                df, info["not_text"] = _read_json(text, path)
    except (InputError, ConfigError):
        raise
    except Exception as exc:  # a library error on a broken file: name the file and what to do
        raise InputError(
            f"{path}: cannot be read as {fmt} ({type(exc).__name__}: {exc}). Check that the file is a "
            f"valid {fmt} file and not truncated; re-export it if it came from another tool."
        ) from exc
    df.columns = [_clean_header(c) for c in df.columns]
    return df.reset_index(drop=True), info


def _clean_header(name: Any) -> str:
    return str(name).replace(UNDECODABLE, "\ufffd").replace("\x00", "").strip()


def _sniff_sep(text: str) -> str:
    """The separator from the header line: a .csv with tabs but no commas is tab-separated
    (a common Excel mix-up); a header without any separator means a one-column file."""
    header = text.split("\n", 1)[0]
    if "\t" in header and "," not in header:
        return "\t"
    if ";" in header and "," not in header and "\t" not in header:
        return ";"
    if "," not in header and '"' not in header:
        return "\x1f"  # one column: an unquoted comma inside a text must not split it
    return ","


def _looks_tabular(text: str) -> bool:
    head = text.split("\n", 5)[:5]
    return bool(head) and "\t" in head[0] and all(ln.count("\t") == head[0].count("\t") for ln in head[1:] if ln.strip())


def _read_delimited(text: str, sep: str, path: Path) -> tuple[pd.DataFrame, list[int]]:
    """pandas' C parser on all-string columns; blank lines kept so row numbers match records."""
    try:
        df = pd.read_csv(
            # UTF-8 bytes, not a StringIO: that holds 4 bytes per character (~0.4 GB more at a
            # million posts), and the C parser reads bytes without converting each block back
            io.BytesIO(text.encode("utf-8")),
            encoding="utf-8",
            sep=sep,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            skip_blank_lines=False,
            engine="c",
        )
        return df, []
    except pd.errors.EmptyDataError:
        raise InputError(f"{path}: the file is empty. Check that you exported the right file.") from None
    except pd.errors.ParserError:
        return _read_delimited_lenient(text, sep)


def _read_delimited_lenient(text: str, sep: str) -> tuple[pd.DataFrame, list[int]]:
    """Fallback when some records have more fields than the header (an unquoted comma in a text).

    Such records keep their place (row numbers stay right) with their surplus fields joined into
    the last column, and are listed so they are rejected as ``malformed`` instead of failing the
    whole file or being parsed into the wrong columns.
    """
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=sep))
    header, body = rows[0], rows[1:]  # a blank line is [] (padded below), as the C parser does
    n = len(header)
    fixed, malformed = [], []
    for i, r in enumerate(body):
        if len(r) > n:
            malformed.append(i)
            r = r[: n - 1] + [sep.join(r[n - 1 :])]
        elif len(r) < n:
            r = r + [""] * (n - len(r))
        fixed.append(r)
    return pd.DataFrame(fixed, columns=pd.Index(_dedupe(header)), dtype=object), malformed


def _dedupe(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for name in names:
        if name in seen:
            seen[name] += 1
            out.append(f"{name}.{seen[name]}")
        else:
            seen[name] = 0
            out.append(name)
    return out


def _read_lines(text: str) -> pd.DataFrame:
    """One text per line; every line is a record (blank ones are rejected later, not dropped)."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return pd.DataFrame({"text": pd.Series(lines, dtype=object)})


def _cell(value: Any) -> tuple[str | None, bool]:
    """A JSON (or Python) value as a raw string cell; the flag says it was not a scalar.

    Numbers are written as a CSV would hold them (4.0 -> "4"), dates in ISO 8601 so their
    offset survives, and structures as JSON so that they can be flagged ``not_text``.
    """
    if isinstance(value, np.generic):
        value = value.item()
    if value is None:
        return None, False
    if isinstance(value, str):
        return value, False
    if isinstance(value, bool):
        return ("true" if value else "false"), False
    if isinstance(value, float):
        if math.isnan(value):
            return None, False
        return (str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)), False
    if isinstance(value, (int, decimal.Decimal)):
        return str(value), False
    if value is pd.NaT or value is pd.NA:
        return None, False
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat(), False
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, ensure_ascii=False, default=str), True
    return str(value), True


def _frame_from_objects(objs: list[Any], first_row: int = 0) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    columns: dict[str, None] = {}
    for o in objs:
        if isinstance(o, dict):
            columns.update(dict.fromkeys(map(str, o)))
    if not columns:
        columns = {"text": None}
    data: dict[str, list[str | None]] = {c: [None] * len(objs) for c in columns}
    not_text: dict[str, list[int]] = {}
    for i, o in enumerate(objs):
        if not isinstance(o, dict):
            o = {"text": o}  # a bare string (or value) per record is the text
            data.setdefault("text", [None] * len(objs))
        for k, v in o.items():
            cell, structured = _cell(v)
            data[str(k)][i] = cell
            if structured:
                not_text.setdefault(str(k), []).append(i)
    return pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in data.items()}), not_text


def _read_jsonl(text: str, path: Path) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    objs = []
    for lineno, line in enumerate(text.split("\n"), 1):
        if not line.strip():
            continue
        try:
            objs.append(json.loads(line))
        except json.JSONDecodeError as exc:
            if UNDECODABLE in line:
                objs.append({"text": line})  # keep the row: it will be rejected as undecodable
                continue
            raise InputError(
                f"{path}: line {lineno} is not valid JSON ({exc.msg}). Each line of a .jsonl file must be "
                "one JSON object; fix that line or save the file as .csv."
            ) from None
    return _frame_from_objects(objs)


def _read_json(text: str, path: Path) -> tuple[pd.DataFrame, dict[str, list[int]]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        hint = " It looks like JSON Lines: rename it to .jsonl." if text.lstrip().startswith("{") and "\n{" in text else ""
        raise InputError(f"{path}: not valid JSON ({exc.msg} at line {exc.lineno}).{hint}") from None
    if isinstance(data, dict):
        for key in ("records", "data", "items", "rows", "results"):
            if isinstance(data.get(key), list):
                data = data[key]
                break
        else:
            lists = [v for v in data.values() if isinstance(v, list)]
            if len(lists) == 1:
                data = lists[0]
    if not isinstance(data, list):
        raise InputError(
            f"{path}: expected a JSON list of records, or an object with a 'records' or 'data' list. "
            "Reshape the file, or save it as .jsonl with one object per line."
        )
    return _frame_from_objects(data)


_OOXML_ESCAPE = re.compile(r"_x(00[01][0-9A-Fa-f]|005[Ff])_")


def _read_xlsx(path: Path) -> pd.DataFrame:
    """First sheet, every cell as text; trailing blank rows (formatting leftovers) dropped."""
    df = pd.read_excel(path, sheet_name=0, dtype=str, engine="openpyxl")
    df = df.astype(object).where(df.notna(), None)
    for name in df.columns:  # Excel stores CR as _x000D_ and openpyxl leaves it escaped
        col = df[name]
        has = col.map(lambda v: isinstance(v, str) and "_x" in v)
        if has.any():
            df.loc[has, name] = col[has].map(lambda v: _OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), v))
    filled = df.notna().any(axis=1).to_numpy()
    last = filled.nonzero()[0].max() + 1 if filled.any() else 0
    return df.iloc[:last]


def _read_parquet(path: Path) -> pd.DataFrame:
    """Parquet keeps types; render them as the strings a CSV of the same data would hold."""
    df = pd.read_parquet(path)
    out = {}
    for name in df.columns:
        col = df[name]
        if pd.api.types.is_float_dtype(col) and col.dropna().map(float.is_integer).all():
            col = col.astype("Int64")  # ids stored as float because of gaps: 1001.0 -> "1001"
        if isinstance(col.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_any_dtype(col):
            strings = col.map(lambda v: v.isoformat() if pd.notna(v) else None)
        else:
            strings = col.map(lambda v: _cell(v)[0] if not _is_missing(v) else None)
        out[str(name)] = strings.astype(object)
    return pd.DataFrame(out)


def _is_missing(v: Any) -> bool:
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):  # arrays and lists
        return False
