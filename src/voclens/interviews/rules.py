"""KH Coder coding rules (コーディングルール), so researchers can reuse their rule files.

A rule file is a list of codes. Each code is a header line ``＊コード名`` (full-width asterisk, or
ASCII ``*``) followed by one condition, which may run over several lines::

    # オルタネイトモデル
    ＊きっかけ
    きっかけ or 指摘 or near(見る-気になる)

    ＊行動
    ( 入会 | 申し込む | 購入 )
      and not seq(買う-ない)

Lines starting with ``#`` are comments and blank lines are skipped (a ``#`` after a condition is
not a comment, as in KH Coder). A code's condition may be split over lines anywhere between tokens.

Reading follows KH Coder's reader and condition parser (``kh_lib/kh_cod.pm``,
``kh_lib/kh_cod/a_code.pm``, ``kh_lib/kh_cod/a_code/atom/*.pm`` in github.com/ko-ichi-h/khcoder),
the developer's answers on its issue tracker (#131, #306, #400, #513, #523, #585) and the manual's
section A.2.5 as quoted there. A condition holds:

Words
    ``使う`` matches tokens whose 語彙素 (lemma) or written base form is 使う, so it matches 使った
    and 使います. Write the lemma (``繋がる``) to match every spelling (つながる, 繋がった), a written
    form (``つながる``) to match that spelling only. A word UniDic splits into several tokens
    (``使い方``, ``時間がない``, ``気になる``) matches those tokens in a row, each by its base form.
    ``"語"`` is the same word quoted. ``卒業+論文`` is a phrase: the words directly one after another.
Strings
    ``'文字列'`` is plain text, not tied to word boundaries (``'である。'`` does not match であった。);
    ``''`` inside the quotes is one ``'``.
Part of speech and form
    ``語-->品詞``, ``語->活用形``, ``語=>表層形``, ``語-->品詞->活用形`` and ``語-->品詞=>表層形`` as in
    KH Coder. Part-of-speech names are UniDic's (名詞, 動詞, 形容詞, 形状詞, 固有名詞, 人名, 地名,
    サ変可能, …, or a path such as ``名詞-固有名詞``); KH Coder's own names are translated where UniDic
    has a counterpart (サ変名詞, 形容動詞, 名詞B, 名詞C, 動詞B, 形容詞B, 副詞B, 否定助動詞). Note that
    名詞/動詞/形容詞 are UniDic's broad classes, wider than KH Coder's (where 米 is 名詞C, not 名詞).
    活用形 are UniDic's (未然形 covers 未然形-一般 and 未然形-サ); IPADIC's 基本形 means 終止形 or 連体形.
Operators
    ``and``, ``or``, ``not`` in any case, and ``&``, ``|``, ``!``, ``&!`` (and not), ``|!`` (or not),
    also full width (＆ ｜ ！). Precedence as in KH Coder's SQL: not, then and, then or. ``A not B``
    is an error: write ``A and not B``. Parentheses nest freely and, unlike KH Coder, need no spaces
    around them; full-width （ ） work too.
near and seq
    ``near(A-B)`` / ``near(A-B-C)``: the words close together, in any order: each next word within
    10 tokens (KH Coder's default, 「前後10語以内」) of the last one found. ``seq(A-B)``: the same, in
    the given order. Options: ``[5]`` a window of 5; ``[b]`` / ``[d]`` also in the same sentence /
    paragraph (window still 10); ``[b5]``, ``[d3]`` both; ``[b0]`` the same sentence at any
    distance. Inside the parentheses only words joined by ``-``: no quotes, filters or operators
    (KH Coder #400, #513).
Other codes
    ``<＊コード名>`` (also ``<*名>``, ``<名>``) is another code's condition. Unlike KH Coder, that code
    may come later in the file; codes that use each other in a circle are an error.
Counts
    A word's value is how often it occurs (near/seq: how often they hold), so ``語 >= 2``,
    ``> >= < <= ==`` and ``+ - * /`` work as in KH Coder (the developer's ``デザイン >= 2``, #585).

Not supported, each with a clear :class:`ConfigError`: external variables and headings
(``<>変数名-->値``, ``<>見出し1-->…``), document numbers (``No. == 3``), document length (``lw``,
``lc``) and KH Coder part-of-speech names with no UniDic counterpart (組織名, ナイ形容, 未知語, タグ).

Units: KH Coder codes sentences, paragraphs or sections; here each text passed in is one unit.
Sentences end at 。！？!? and line breaks, paragraphs at line breaks; they matter only for
``[b]`` / ``[d]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Sequence

from voclens.errors import ConfigError
from voclens.text.tokenize import Token, tokenize

DEFAULT_WINDOW = 10  # KH Coder's near/seq default: within 10 words

__all__ = ["DEFAULT_WINDOW", "Rule", "code_segments", "load_rules", "match", "parse_condition", "parse_rules"]

_HEADER_MARKS = ("＊", "*")
_SENTENCE_END = frozenset({"。", "！", "？", "!", "?", "．"})


def _err(line: int | None, code: str | None, problem: str, fix: str) -> ConfigError:
    where = "Coding rules"
    if line is not None:
        where += f", line {line}"
    if code:
        where += f" (＊{code})"
    return ConfigError(f"{where}: {problem}. {fix}")


# --- parts of speech ------------------------------------------------------------------------

_UNIDIC_POS = frozenset("""
名詞 代名詞 形状詞 連体詞 副詞 接続詞 感動詞 動詞 形容詞 助動詞 助詞 接頭辞 接尾辞 記号 補助記号 空白
普通名詞 固有名詞 数詞 助動詞語幹 一般 非自立可能 タリ 名詞的 形容詞的 動詞的 形状詞的 格助詞 係助詞 副助詞
接続助詞 終助詞 準体助詞 句点 読点 括弧開 括弧閉 文字 ＡＡ フィラー
サ変可能 形状詞可能 サ変形状詞可能 副詞可能 助数詞可能 助数詞 人名 地名 顔文字
""".split())

_CFORMS = ("未然形", "連用形", "終止形", "連体形", "仮定形", "已然形", "命令形", "意志推量形", "語幹", "ク語法")


def _hiragana(s: str) -> bool:
    return bool(s) and all("\u3041" <= ch <= "\u309f" or ch == "ー" for ch in s)


def _one_kanji(s: str) -> bool:
    return len(s) == 1 and "\u4e00" <= s <= "\u9fff"


# KH Coder's part-of-speech names (its own system on top of ChaSen/MeCab-IPADIC) translated to UniDic
_KH_POS: dict[str, Callable[[Token], bool]] = {
    "サ変名詞": lambda t: t.pos == "名詞" and t.pos3 in ("サ変可能", "サ変形状詞可能"),
    "形容動詞": lambda t: t.pos == "形状詞" or (t.pos == "名詞" and t.pos3 in ("形状詞可能", "サ変形状詞可能")),
    "名詞B": lambda t: t.pos == "名詞" and _hiragana(t.surface),
    "名詞C": lambda t: t.pos == "名詞" and _one_kanji(t.surface),
    "動詞B": lambda t: t.pos == "動詞" and _hiragana(t.base),
    "形容詞B": lambda t: t.pos == "形容詞" and _hiragana(t.base),
    "副詞B": lambda t: t.pos == "副詞" and _hiragana(t.surface),
    "否定助動詞": lambda t: t.pos == "助動詞" and t.base in ("ない", "ぬ", "ず", "ん"),
    "形容詞（非自立）": lambda t: t.pos == "形容詞" and t.pos2 == "非自立可能",
}
_KH_POS_UNSUPPORTED = ("組織名", "ナイ形容", "未知語", "タグ", "その他")


def _pos_predicate(name: str, line: int, code: str | None) -> Callable[[Token], bool]:
    if name in _KH_POS:
        return _KH_POS[name]
    if name in _KH_POS_UNSUPPORTED:
        raise _err(line, code, f"KH Coder's part of speech {name!r} has no counterpart in UniDic, which voclens uses",
                   "Drop the part of speech or use a UniDic one (名詞, 固有名詞, 人名, 地名, 動詞, 形容詞, 副詞, …)")
    parts = name.split("-")
    unknown = [p for p in parts if p not in _UNIDIC_POS]
    if unknown:
        raise _err(line, code, f"unknown part of speech {name!r}",
                   "Use a UniDic part of speech (名詞, 代名詞, 動詞, 形容詞, 形状詞, 副詞, 助動詞, 助詞, 固有名詞, 人名, 地名, "
                   "サ変可能, 形状詞可能, 副詞可能, …, or a path such as 名詞-固有名詞) or one of KH Coder's: "
                   + ", ".join(_KH_POS))
    if len(parts) == 1:
        return lambda t: name in (t.pos, t.pos2, t.pos3)
    n = len(parts)
    return lambda t: [t.pos, t.pos2, t.pos3][:n] == parts


def _cform_predicate(name: str, line: int, code: str | None) -> Callable[[Token], bool]:
    if name == "基本形":  # IPADIC's dictionary form: UniDic splits it into 終止形 and 連体形
        return lambda t: t.cform.startswith(("終止形", "連体形"))
    if not name.startswith(_CFORMS):
        raise _err(line, code, f"unknown conjugation form {name!r}",
                   "Use a UniDic 活用形 (" + ", ".join(_CFORMS) + ", or a full one such as 連用形-促音便) or 基本形")
    return lambda t: t.cform.startswith(name)  # 未然形 covers 未然形-一般, 未然形-サ, …


# --- compiled conditions --------------------------------------------------------------------

class _Node:
    def value(self, ctx: "_Context") -> float:  # pragma: no cover - abstract
        raise NotImplementedError


@dataclass(eq=False)
class _Num(_Node):
    n: float

    def value(self, ctx):
        return self.n


@dataclass(eq=False)
class _Word(_Node):
    """A word or phrase: one key set per token; a token matches when its lemma or base is in the set."""

    text: str
    patterns: tuple[frozenset[str], ...]
    test: Callable[[Token], bool] | None = None  # part of speech / conjugation / surface filter
    key: tuple = field(default=())

    def value(self, ctx):
        return len(ctx.positions(self))


@dataclass(eq=False)
class _Str(_Node):
    text: str

    def value(self, ctx):
        return ctx.raw().count(_squash(self.text))


@dataclass(eq=False)
class _Near(_Node):
    words: list[_Word]
    ordered: bool  # seq()
    window: int  # 0: no distance limit
    unit: str  # "", "b" (sentence) or "d" (paragraph)
    raw: str

    def value(self, ctx):
        return ctx.near(self)


@dataclass(eq=False)
class _CodeRef(_Node):
    name: str
    line: int
    target: "Rule | None" = None

    def value(self, ctx):
        return ctx.rule_value(self.target)


@dataclass(eq=False)
class _Not(_Node):
    x: _Node

    def value(self, ctx):
        return 0.0 if self.x.value(ctx) else 1.0


@dataclass(eq=False)
class _And(_Node):
    a: _Node
    b: _Node

    def value(self, ctx):
        return 1.0 if (self.a.value(ctx) and self.b.value(ctx)) else 0.0


@dataclass(eq=False)
class _Or(_Node):
    a: _Node
    b: _Node

    def value(self, ctx):
        return 1.0 if (self.a.value(ctx) or self.b.value(ctx)) else 0.0


_CMP = {">": lambda a, b: a > b, ">=": lambda a, b: a >= b, "<": lambda a, b: a < b, "<=": lambda a, b: a <= b,
        "==": lambda a, b: a == b, "=": lambda a, b: a == b}
_ARITH = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b,
          "/": lambda a, b: a / b if b else 0.0}  # MySQL: x/0 is NULL, i.e. false


@dataclass(eq=False)
class _Bin(_Node):
    op: str
    a: _Node
    b: _Node

    def value(self, ctx):
        x, y = self.a.value(ctx), self.b.value(ctx)
        if self.op in _CMP:
            return 1.0 if _CMP[self.op](x, y) else 0.0
        return float(_ARITH[self.op](x, y))


@dataclass(eq=False)
class Rule:
    """One code of a rule file: its name (without ＊) and its compiled condition."""

    name: str
    condition: _Node
    line: int = 0  # line of the ＊ header in the rule file (0 when built from a lone condition)
    source: str = ""  # the condition as written

    def __repr__(self) -> str:
        return f"Rule({self.name!r}, {self.source!r})"


# --- reading a condition --------------------------------------------------------------------

@dataclass
class _Tok:
    kind: str  # atom, num, and, or, not, cmp, arith, lparen, rparen
    text: str
    line: int
    node: _Node | None = None


_OPWORDS = {"and": ["and"], "&": ["and"], "＆": ["and"], "or": ["or"], "|": ["or"], "｜": ["or"],
            "not": ["not"], "!": ["not"], "！": ["not"]}
for _a, _b in (("&", "!"), ("＆", "！"), ("&", "！"), ("＆", "!")):
    _OPWORDS[_a + _b] = ["and", "not"]
for _a, _b in (("|", "!"), ("｜", "！"), ("|", "！"), ("｜", "!")):
    _OPWORDS[_a + _b] = ["or", "not"]
del _a, _b
_OPEN, _CLOSE = "(（", ")）"
_NEAR_RE = re.compile(r"(near|seq)[(（]", re.IGNORECASE)
_NUM_RE = re.compile(r"\d+(?:\.\d+)?")


class _Lexer:
    def __init__(self, lines: Sequence[tuple[int, str]], code: str | None):
        self.code = code
        self.text = "\n".join(s for _, s in lines)
        self.starts: list[tuple[int, int]] = []  # (offset, line number)
        off = 0
        for no, s in lines:
            self.starts.append((off, no))
            off += len(s) + 1

    def line_at(self, i: int) -> int:
        no = self.starts[0][1] if self.starts else 1
        for off, n in self.starts:
            if off > i:
                break
            no = n
        return no

    def tokens(self) -> list[_Tok]:
        s, n, i = self.text, len(self.text), 0
        out: list[_Tok] = []
        while i < n:
            c = s[i]
            if c.isspace():
                i += 1
                continue
            line = self.line_at(i)
            if c in _OPEN:
                out.append(_Tok("lparen", c, line))
                i += 1
                continue
            if c in _CLOSE:
                out.append(_Tok("rparen", c, line))
                i += 1
                continue
            if c in "'\"":
                j, buf = i + 1, []
                while True:
                    k = s.find(c, j)
                    if k < 0:
                        raise _err(line, self.code, f"the quote {c} opened here is never closed (at {s[i:i + 20]!r})",
                                   f"Close it with a second {c}; to put {c} inside, double it ({c}{c})")
                    buf.append(s[j:k])
                    if k + 1 < n and s[k + 1] == c:
                        buf.append(c)
                        j = k + 2
                        continue
                    j = k + 1
                    break
                content = "".join(buf).replace("\n", " ")
                if not content.strip():
                    raise _err(line, self.code, f"empty quoted word {s[i:j]!r}", "Put a word or string between the quotes")
                node = _Str(content) if c == "'" else _word(content, line, self.code)
                out.append(_Tok("atom", s[i:j], line, node))
                i = j
                continue
            m = _NEAR_RE.match(s, i)
            if m:
                k = min((p for p in (s.find(")", m.end()), s.find("）", m.end())) if p >= 0), default=-1)
                if k < 0:
                    raise _err(line, self.code, f"{m.group(1)}( is never closed (at {s[i:i + 30]!r})",
                               f"Write it as {m.group(1)}(語-語) on one line")
                j = k + 1
                if j < n and s[j] in "[［":
                    e = min((p for p in (s.find("]", j), s.find("］", j)) if p >= 0), default=-1)
                    if e < 0:
                        raise _err(line, self.code, f"the option bracket of {s[i:j + 1]!r} is never closed",
                                   "Close it: near(A-B)[5], [b], [d], [b5]")
                    j = e + 1
                raw = s[i:j]
                out.append(_Tok("atom", raw, line, _near(raw, line, self.code)))
                i = j
                continue
            if c == "<" and i + 1 < n and s[i + 1] not in "=>" and not s[i + 1].isspace():
                k = s.find(">", i)
                if k > 0 and "\n" not in s[i:k]:
                    raw = s[i:k + 1]
                    name = raw[1:-1].strip().lstrip("＊*").strip()
                    if not name:
                        raise _err(line, self.code, f"empty code reference {raw!r}", "Write <＊コード名>")
                    out.append(_Tok("atom", raw, line, _CodeRef(name, line)))
                    i = k + 1
                    continue
            j = i
            while j < n and not s[j].isspace() and s[j] not in _OPEN and s[j] not in _CLOSE:
                j += 1
            chunk = s[i:j]
            i = j
            low = chunk.lower()
            if low in _OPWORDS:
                out.extend(_Tok(op, chunk, line) for op in _OPWORDS[low])
            elif chunk in _CMP:
                out.append(_Tok("cmp", chunk, line))
            elif chunk in _ARITH:
                out.append(_Tok("arith", chunk, line))
            elif _NUM_RE.fullmatch(chunk):
                out.append(_Tok("num", chunk, line, _Num(float(chunk))))
            else:
                out.append(_Tok("atom", chunk, line, _atom(chunk, line, self.code)))
        return out


def _atom(chunk: str, line: int, code: str | None) -> _Node:
    if chunk.startswith("<>"):
        raise _err(line, code, f"{chunk!r} is an external variable or heading condition (<>変数名-->値), which voclens "
                   "does not support",
                   "Filter the texts by that variable before coding; to reuse another code's condition write <＊コード名>")
    if chunk in ("lw", "lc"):
        raise _err(line, code, f"document length {chunk!r} is not supported",
                   "Filter texts by length before coding, or remove the condition")
    if chunk == "No.":
        raise _err(line, code, "document numbers (No. == n) are not supported", "Select the texts before coding instead")
    if chunk.startswith(("'", '"')):
        raise _err(line, code, f"stray quote in {chunk!r}", "Quote the whole word: '文字列' or \"語\"")
    for sep in ("-->", "->", "=>"):
        if sep in chunk:
            return _filtered_word(chunk, line, code)
    if "+" in chunk:
        parts = chunk.split("+")
        if any(not p for p in parts):
            raise _err(line, code, f"empty word in the phrase {chunk!r}", "Join words with single + signs: 卒業+論文")
        words = [_word(p, line, code) for p in parts]
        return _Word(chunk, tuple(p for w in words for p in w.patterns), None, ("phrase", chunk))
    return _word(chunk, line, code)


def _rule_tokens(text: str) -> list[Token]:
    return [t for t in tokenize(text) if t.pos != "空白" and t.surface.strip()]


def _word(text: str, line: int | None, code: str | None) -> _Word:
    text = text.strip()
    toks = _rule_tokens(text)
    if not toks:
        raise _err(line, code, f"{text!r} contains no word", "Remove it or write a word")
    if len(toks) == 1:
        pats = (frozenset({text, toks[0].surface, toks[0].base}),)
    else:
        pats = tuple(frozenset({t.surface, t.base}) for t in toks)
    return _Word(text, pats, None, ("word", pats))


_FILTER_RE = [
    (re.compile(r"^(.+)-->(.+)->(.+)$"), ("pos", "cform")),
    (re.compile(r"^(.+)-->(.+)=>(.+)$"), ("pos", "surface")),
    (re.compile(r"^(.+)-->(.+)$"), ("pos",)),
    (re.compile(r"^(.+)->(.+)$"), ("cform",)),
    (re.compile(r"^(.+)=>(.+)$"), ("surface",)),
]


def _filtered_word(chunk: str, line: int, code: str | None) -> _Word:
    for rx, kinds in _FILTER_RE:
        m = rx.match(chunk)
        if m:
            break
    else:
        raise _err(line, code, f"cannot read {chunk!r}", "Write 語-->品詞, 語->活用形, 語=>表層形 or 語-->品詞->活用形")
    w = _word(m.group(1), line, code)
    if len(w.patterns) != 1:
        raise _err(line, code, f"{m.group(1)!r} is several words in UniDic, so it cannot take a part of speech or form",
                   "Put the filter on a single word, or drop it")
    tests: list[Callable[[Token], bool]] = []
    for kind, arg in zip(kinds, m.groups()[1:]):
        arg = arg.strip()
        if kind == "pos":
            tests.append(_pos_predicate(arg, line, code))
        elif kind == "cform":
            tests.append(_cform_predicate(arg, line, code))
        else:
            tests.append(lambda t, s=arg: t.surface == s)
    return _Word(chunk, w.patterns, lambda t: all(f(t) for f in tests), ("filtered", w.patterns, chunk))


_NEAR_FULL = re.compile(r"^(near|seq)[(（](.*)[)）](?:[\[［](.*)[\]］])?$", re.IGNORECASE | re.DOTALL)


def _near(raw: str, line: int, code: str | None) -> _Near:
    m = _NEAR_FULL.match(raw)
    if not m:
        kind = "seq" if raw.lower().startswith("seq") else "near"
        raise _err(line, code, f"cannot read {raw!r}", f"Write {kind}(語-語) or {kind}(語-語)[オプション]")
    kind, body, opt = m.group(1).lower(), m.group(2), m.group(3)
    if any(q in body for q in "'\""):
        raise _err(line, code, f"{raw!r}: {kind}() takes words only, not quoted strings (as in KH Coder)",
                   f"Write the words bare: {kind}(太陽-電池)")
    if any(x in body for x in ("-->", "->", "=>")):
        raise _err(line, code, f"{raw!r}: {kind}() takes base forms only, not part-of-speech or form filters (as in "
                   "KH Coder)", f"Drop the filter inside {kind}(); combine with 'and' outside if needed")
    names = [p.strip() for p in body.split("-")]
    if len(names) < 2 or any(not p for p in names):
        raise _err(line, code, f"{raw!r}: {kind}() needs two or more words joined by '-'", f"Write {kind}(語-語) or {kind}(語-語-語)")
    if len(set(names)) != len(names):
        raise _err(line, code, f"{raw!r}: the same word twice in {kind}()",
                   "Use different words; to require a word twice, write 語 >= 2")
    if any(re.search(r"\s|\band\b|\bor\b|\||&", p) for p in names):
        raise _err(line, code, f"{raw!r}: {kind}() takes words joined by '-' only (no spaces or operators)",
                   f"Write one {kind}() per combination and join them with or")
    window, unit = DEFAULT_WINDOW, ""
    if opt is not None:
        o = opt.strip()
        mo = re.fullmatch(r"([bdBD]?)(\d*)", o)
        if not o or not mo or (not mo.group(1) and not mo.group(2)):
            raise _err(line, code, f"{raw!r}: unknown option [{opt}]",
                       "Use [n] (window of n words), [b] (same sentence), [d] (same paragraph), or [b5] / [d5]")
        unit = mo.group(1).lower()
        if mo.group(2):
            window = int(mo.group(2))
    words = [_word(p, line, code) for p in names]
    return _Near(words, kind == "seq", window, unit, raw)


class _Parser:
    def __init__(self, toks: list[_Tok], code: str | None, last_line: int):
        self.toks, self.i, self.code, self.last_line = toks, 0, code, last_line

    def peek(self) -> _Tok | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self) -> _Tok:
        t = self.toks[self.i]
        self.i += 1
        return t

    def parse(self) -> _Node:
        if not self.toks:
            raise _err(self.last_line, self.code, "the code has no condition", "Write a condition under the ＊ line, or delete the code")
        node = self.expr()
        t = self.peek()
        if t is not None:
            prev = self.toks[self.i - 1]
            if t.kind == "rparen":
                raise _err(t.line, self.code, f"')' has no matching '(' (after {prev.text!r})", "Remove it or add the '('")
            if t.kind == "not":
                raise _err(t.line, self.code, f"{t.text!r} cannot follow {prev.text!r} directly",
                           f"Write '{prev.text} and not …' (or &!) to exclude, '{prev.text} or not …' to allow")
            if t.text.startswith(("#", "＃")):
                raise _err(t.line, self.code, f"{t.text!r} after {prev.text!r}: a comment cannot follow a condition",
                           "Put comments on lines of their own starting with #")
            if prev.kind == "atom" and prev.text.lower() in ("near", "seq") and t.kind == "lparen":
                raise _err(t.line, self.code, f"space between {prev.text!r} and '('", f"Write {prev.text}(語-語) with no space")
            raise _err(t.line, self.code, f"missing operator between {prev.text!r} and {t.text!r}",
                       f"Join them with and / or, or write a phrase as {prev.text}+{t.text} or near({prev.text}-{t.text})")
        return node

    def expr(self) -> _Node:
        node = self.and_expr()
        while (t := self.peek()) is not None and t.kind == "or":
            self.take()
            node = _Or(node, self.and_expr())
        return node

    def and_expr(self) -> _Node:
        node = self.not_expr()
        while (t := self.peek()) is not None and t.kind == "and":
            self.take()
            node = _And(node, self.not_expr())
        return node

    def not_expr(self) -> _Node:
        t = self.peek()
        if t is not None and t.kind == "not":
            self.take()
            return _Not(self.not_expr())
        return self.cmp_expr()

    def cmp_expr(self) -> _Node:
        node = self.sum_expr()
        t = self.peek()
        if t is not None and t.kind == "cmp":
            self.take()
            node = _Bin(t.text, node, self.sum_expr())
        return node

    def sum_expr(self) -> _Node:
        node = self.product()
        while (t := self.peek()) is not None and t.kind == "arith" and t.text in "+-":
            self.take()
            node = _Bin(t.text, node, self.product())
        return node

    def product(self) -> _Node:
        node = self.primary()
        while (t := self.peek()) is not None and t.kind == "arith" and t.text in "*/":
            self.take()
            node = _Bin(t.text, node, self.primary())
        return node

    def primary(self) -> _Node:
        t = self.peek()
        if t is None:
            prev = self.toks[self.i - 1]
            raise _err(prev.line, self.code, f"the condition ends after {prev.text!r}", f"Add a word after {prev.text!r} or remove it")
        if t.kind == "lparen":
            self.take()
            node = self.expr()
            close = self.peek()
            if close is None or close.kind != "rparen":
                if close is None:
                    raise _err(t.line, self.code, "'(' opened here is never closed", "Add the matching ')'")
                prev = self.toks[self.i - 1]
                raise _err(close.line, self.code, f"missing operator or ')' between {prev.text!r} and {close.text!r}",
                           "Join them with and / or, or close the parenthesis")
            self.take()
            return node
        if t.kind in ("atom", "num"):
            self.take()
            return t.node  # type: ignore[return-value]
        prev = self.toks[self.i - 1].text if self.i else None
        what = f"right after {prev!r}" if prev else "at the start of the condition"
        raise _err(t.line, self.code, f"{t.text!r} {what}, where a word should be",
                   "Put a word (or a parenthesised condition) before it, or remove it")


def _walk(node: _Node) -> Iterable[_Node]:
    yield node
    for child in ("x", "a", "b"):
        sub = getattr(node, child, None)
        if isinstance(sub, _Node):
            yield from _walk(sub)


def _compile(lines: Sequence[tuple[int, str]], code: str | None, last_line: int) -> _Node:
    return _Parser(_Lexer(lines, code).tokens(), code, last_line).parse()


def parse_condition(condition: str, *, name: str = "condition") -> Rule:
    """One condition without a ＊ header (e.g. ``Code.rule``), as a :class:`Rule` named ``name``.

    ``<＊コード名>`` references need the whole file: use :func:`parse_rules` for those.
    """
    lines = list(enumerate(condition.splitlines() or [""], start=1))
    rule = Rule(name, _compile(lines, name, len(lines)), 0, condition.strip())
    for n in _walk(rule.condition):
        if isinstance(n, _CodeRef):
            raise _err(n.line, name, f"<＊{n.name}> refers to another code, which a lone condition cannot see",
                       "Put the codes in one rule file and read it with parse_rules")
    return rule


def parse_rules(text: str) -> list[Rule]:
    """Read a KH Coder coding-rule file: ``＊コード名`` headers, each followed by its condition."""
    text = text.lstrip("\ufeff")
    blocks: list[tuple[str, int, list[tuple[int, str]]]] = []
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.rstrip()
        stripped = line.strip()
        if not stripped or stripped.startswith(("#", "＃")):
            continue
        if line.startswith(_HEADER_MARKS):
            name = line[1:].strip()
            if not name:
                raise _err(no, None, "a ＊ header without a code name", "Write the name right after the asterisk: ＊コード名")
            blocks.append((name, no, []))
            continue
        if not blocks:
            raise _err(no, None, f"{stripped[:30]!r} comes before the first code header",
                       "Start each code with a line ＊コード名 (full-width or ASCII asterisk), or comment the line out with #")
        blocks[-1][2].append((no, line))
    rules: list[Rule] = []
    seen: dict[str, int] = {}
    for name, no, body in blocks:
        if name in seen:
            raise _err(no, name, f"the code ＊{name} is defined twice (first at line {seen[name]})", "Rename or merge one of them")
        seen[name] = no
        cond = _compile(body, name, no) if body else _Parser([], name, no).parse()
        rules.append(Rule(name, cond, no, " ".join(s.strip() for _, s in body)))
    by_name = {r.name: r for r in rules}
    for r in rules:
        for n in _walk(r.condition):
            if isinstance(n, _CodeRef):
                n.target = by_name.get(n.name)
                if n.target is None:
                    raise _err(n.line, r.name, f"<＊{n.name}> refers to no code of this file",
                               "Define ＊" + n.name + " in the file or fix the name (codes: " + ", ".join(by_name) + ")")
    for r in rules:
        _check_cycle(r, [])
    return rules


def _check_cycle(rule: Rule, path: list[Rule]) -> None:
    if rule in path:
        chain = " -> ".join("＊" + r.name for r in path[path.index(rule):] + [rule])
        raise _err(rule.line, rule.name, f"codes refer to each other in a circle ({chain})",
                   "Break the circle: a code cannot use itself, directly or through others")
    for n in _walk(rule.condition):
        if isinstance(n, _CodeRef) and n.target is not None:
            _check_cycle(n.target, path + [rule])


def load_rules(path: str | Path) -> list[Rule]:
    """A rule file from disk: UTF-8 (with or without BOM) or Shift_JIS/CP932, which KH Coder on Windows saves."""
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"{p} does not exist. Check the path of the coding-rule file.")
    data = p.read_bytes()
    for enc in ("utf-8-sig", "cp932"):
        try:
            return parse_rules(data.decode(enc))
        except UnicodeDecodeError:
            continue
    raise ConfigError(f"{p}: cannot read the coding-rule file as UTF-8 or Shift_JIS. Save it as UTF-8 and try again.")


# --- matching -------------------------------------------------------------------------------

def _squash(s: str) -> str:
    return re.sub(r"\s+", " ", s)


class _Context:
    """One text's tokens with everything conditions ask of them, computed once and cached."""

    def __init__(self, tokens: Sequence[Token], text: str | None = None):
        self.tokens = list(tokens)
        self.text = text
        self._positions: dict[tuple, list[int]] = {}
        self._rules: dict[int, float] = {}
        self._units: dict[str, list[int]] = {}
        self._raw: str | None = None

    def positions(self, w: _Word) -> list[int]:
        key = w.key or ("node", id(w))
        hit = self._positions.get(key)
        if hit is None:
            toks, pats, k = self.tokens, w.patterns, len(w.patterns)
            hit = []
            for i in range(len(toks) - k + 1):
                if all(toks[i + j].lemma in pats[j] or toks[i + j].base in pats[j] for j in range(k)):
                    if w.test is None or w.test(toks[i]):
                        hit.append(i)
            self._positions[key] = hit
        return hit

    def raw(self) -> str:
        if self._raw is None:
            if self.text is not None:
                s = self.text
            else:
                parts, end = [], None
                for t in self.tokens:
                    if end is not None and t.start > end:
                        parts.append(" ")
                    parts.append(t.surface)
                    end = t.end
                s = "".join(parts)
            self._raw = _squash(s)
        return self._raw

    def units(self, kind: str) -> list[int]:
        """Sentence ("b") or paragraph ("d") number of each token."""
        got = self._units.get(kind)
        if got is None:
            sent, para, s, p = [], [], 0, 0
            prev: Token | None = None
            for t in self.tokens:
                if prev is not None:
                    gap = self.text[prev.end:t.start] if self.text is not None else ""
                    if "\n" in gap or "\r" in gap:
                        p += 1
                        s += 1
                    elif prev.surface in _SENTENCE_END:
                        s += 1
                sent.append(s)
                para.append(p)
                prev = t
            self._units = {"b": sent, "d": para}
            got = self._units[kind]
        return got

    def near(self, nd: _Near) -> float:
        """KH Coder's near/seq check (atom/near.pm, atom/sequence.pm): from each occurrence, walk on
        through the later occurrences; each new word must come within ``window`` tokens of the last
        word counted (and in the same sentence/paragraph for [b]/[d]); seq also wants them in order."""
        occ = sorted((pos, wi) for wi, w in enumerate(nd.words) for pos in self.positions(w))
        m = len(nd.words)
        unit = self.units(nd.unit) if nd.unit else None
        found = 0
        for n in range(len(occ) - m + 1):
            if nd.ordered and occ[n][1] != 0:
                continue
            if occ[n + 1][1] == occ[n][1]:  # the same word comes next: start from that one instead
                continue
            seen: set[int] = set()
            last = occ[n][0]
            for pos, wi in occ[n:]:
                if nd.window > 0 and pos - last > nd.window:
                    break
                if unit is not None and unit[pos] != unit[occ[n][0]]:
                    break
                if wi not in seen and (not nd.ordered or wi == len(seen)):
                    seen.add(wi)
                    last = pos
                    if len(seen) == m:
                        found += 1
                        break
        return float(found)

    def rule_value(self, rule: Rule) -> float:
        v = self._rules.get(id(rule))
        if v is None:
            v = float(rule.condition.value(self))
            self._rules[id(rule)] = v
        return v


def match(rule: Rule, tokens: Sequence[Token], text: str | None = None) -> bool:
    """Does ``rule`` hold for one text's tokens?

    Pass ``text`` (the string the tokens came from) to let '文字列' see the exact characters and
    near/seq's [d] see paragraph breaks; without it both are rebuilt from the tokens (no line breaks).
    """
    return _Context(tokens, text).rule_value(rule) != 0


def code_segments(rules: Sequence[Rule], texts: Iterable[str]) -> list[list[str]]:
    """The names of the codes each text matches, in rule-file order; each text is tokenised once."""
    out: list[list[str]] = []
    for text in texts:
        text = text if isinstance(text, str) else ("" if text is None else str(text))
        ctx = _Context(tokenize(text), text)
        out.append([r.name for r in rules if ctx.rule_value(r) != 0])
    return out
