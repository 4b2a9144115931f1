"""The browser review UI, end to end: the real app (uvicorn on 127.0.0.1) over a store built from
the demo data, driven by headless Chromium through Playwright.

An editor logs in, sees the theme list, merges two themes, renames one, and the result shows in
the page and through the API; a viewer sees no editing controls. The page makes no request
outside the server (offline: no CDN, no web fonts). A screenshot of the review is written to
``$VOCLENS_ARTIFACTS`` (default ``tests/artifacts``) as ``ui_review.png`` (and ``ui_theme.png``).
"""

from __future__ import annotations

import os
import re
import socket
import threading
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = Path(os.environ.get("VOCLENS_ARTIFACTS") or ROOT / "tests" / "artifacts")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="UI tests need the system Chromium at /usr/bin/chromium "
                                                     "(apt-get install -y chromium fonts-noto-cjk)"),
]

sync_api = pytest.importorskip("playwright.sync_api", reason="UI tests need playwright (pip install -e '.[test]')")
httpx = pytest.importorskip("httpx", reason="UI tests need httpx (pip install -e '.[test]')")
uvicorn = pytest.importorskip("uvicorn", reason="UI tests need uvicorn (the server's dependency)")

TIMEOUT_MS = 20_000


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory, demo_files):
    """(base url, editor token, viewer token): the app over a store holding the demo run."""
    import voclens
    from voclens.server import auth
    from voclens.server.app import create_app
    from voclens.store.store import Store

    root = tmp_path_factory.mktemp("ui")
    store = root / "voclens.duckdb"
    voclens.analyze(demo_files, store=store)
    with Store(store) as st:
        editor = auth.add_token(st.con, "pm-editor", "editor")
        viewer = auth.add_token(st.con, "pm-viewer", "viewer")

    app = create_app(store, root / "data", start_worker=False)
    port = _free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=srv.run, name="voclens-ui-test-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not srv.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the voclens server did not start")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}", editor, viewer
    finally:
        srv.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


@pytest.fixture()
def page(browser, server):
    """A fresh page (own localStorage) that records console errors and any request leaving the server."""
    base = server[0]
    ctx = browser.new_context(viewport={"width": 1360, "height": 900}, locale="ja-JP", timezone_id="Asia/Tokyo")
    ctx.set_default_timeout(TIMEOUT_MS)
    pg = ctx.new_page()
    pg.errors, pg.outside = [], []
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: pg.errors.append(f"console: {m.text}") if m.type == "error" else None)

    def route(r):
        u = urlparse(r.request.url)
        if u.scheme in ("http", "https") and f"{u.scheme}://{u.netloc}" != base:
            pg.outside.append(r.request.url)
            return r.abort()
        return r.continue_()

    pg.route("**/*", route)
    yield pg
    ctx.close()


def _api(server, token, method, path, **kw):
    with httpx.Client(base_url=server[0], headers={"Authorization": f"Bearer {token}"}, timeout=60) as c:
        r = c.request(method, path, **kw)
    return r


def _login(pg, base, token):
    pg.goto(base + "/")
    sync_api.expect(pg.locator("#login")).to_be_visible()
    pg.get_by_label("APIトークン").fill(token)
    pg.get_by_role("button", name="ログイン").click()
    sync_api.expect(pg.locator("#themes-body tr").first).to_be_visible()


def _shot(pg, name: str) -> Path:
    pg.evaluate("document.querySelectorAll('.toast .x').forEach((x) => x.click())")  # dismiss the messages
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    pg.screenshot(path=str(path), full_page=True)
    return path


def _real_errors(pg) -> list[str]:
    # Chromium logs every non-2xx fetch as "Failed to load resource"; the UI shows those itself
    return [e for e in pg.errors if "Failed to load resource" not in e]


def test_editor_reviews_merges_and_renames(server, page):
    base, editor, _ = server
    expect = sync_api.expect
    pg = page

    # a wrong token is refused with the server's message
    pg.goto(base + "/")
    pg.get_by_label("APIトークン").fill("vl_not-a-token")
    pg.get_by_role("button", name="ログイン").click()
    expect(pg.locator("#login-error")).to_be_visible()
    expect(pg.locator("#login-error")).to_contain_text("トークンが無効です")

    _login(pg, base, editor)
    expect(pg.locator("#who-role")).to_have_text("編集者 Editor")
    expect(pg.locator("#who-name")).to_have_text("pm-editor")

    themes = _api(server, editor, "GET", "/api/themes").json()
    period, items = themes["period"], themes["items"]
    assert len(items) >= 4
    rows = pg.locator("#themes-body tr")
    expect(rows).to_have_count(len(items))
    for t in items[:3]:
        expect(pg.locator(f'#themes-body tr[data-uid="{t["theme_uid"]}"]')).to_contain_text(t["label"])
    assert pg.locator("#themes-body svg.spark").count() == len(items)
    expect(pg.locator("#period")).to_have_value(period)

    # filters and sorting
    word = items[0]["keywords"][0]
    hits = _api(server, editor, "GET", "/api/themes", params={"q": word}).json()["items"]
    assert 0 < len(hits) < len(items)
    pg.get_by_label("検索").fill(word)
    expect(rows).to_have_count(len(hits))
    expect(pg.locator(f'#themes-body tr[data-uid="{items[0]["theme_uid"]}"]')).to_be_visible()
    expect(pg).to_have_url(re.compile(r"[?&]q="))
    pg.get_by_label("検索").fill("")
    expect(rows).to_have_count(len(items))
    pg.locator("#themes thead th[data-key=size] button").click()
    biggest = max(items, key=lambda t: t["size"])
    expect(rows.first).to_have_attribute("data-uid", biggest["theme_uid"])
    pg.locator("#themes thead th[data-key=impact_rank] button").click()
    expect(rows.first).to_have_attribute("data-uid", min(items, key=lambda t: t["impact_rank"])["theme_uid"])

    # merge the two smallest themes, keeping the larger one
    b, a = sorted(items, key=lambda t: t["size"])[:2]
    pg.get_by_label(f'「{a["label"]}」({a["theme_uid"]}) を選択').check()
    expect(pg.locator("#merge-btn")).to_be_disabled()
    pg.get_by_label(f'「{b["label"]}」({b["theme_uid"]}) を選択').check()
    expect(pg.locator("#merge-btn")).to_be_enabled()
    expect(pg.locator("#merge-into")).to_have_value(a["theme_uid"])
    pg.locator("#merge-btn").click()
    dialog = pg.locator("dialog#confirm")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text(b["label"])
    pg.locator("#confirm-ok").click()
    expect(pg.locator(".toast.ok").last).to_contain_text("統合しました")
    expect(rows).to_have_count(len(items) - 1)
    expect(pg.locator(f'#themes-body tr[data-uid="{b["theme_uid"]}"]')).to_have_count(0)
    merged_row = pg.locator(f'#themes-body tr[data-uid="{a["theme_uid"]}"]')
    expect(merged_row).to_contain_text(f'{a["size"] + b["size"]}')

    after = {t["theme_uid"]: t for t in _api(server, editor, "GET", "/api/themes", params={"period": period}).json()["items"]}
    assert b["theme_uid"] not in after
    assert after[a["theme_uid"]]["size"] == a["size"] + b["size"]

    # the theme page: rename inline
    merged_row.get_by_role("link").click()
    pg.wait_for_url(f"**/themes/{a['theme_uid']}**")
    expect(pg.locator("#t-label")).to_have_text(a["label"])
    expect(pg.locator("#t-uid")).to_have_text(a["theme_uid"])
    expect(pg.locator("#t-quotes li").first).to_be_visible()
    expect(pg.locator("#segs-body tr").first).to_be_visible()
    expect(pg.locator("#audit-body")).to_contain_text("統合")
    new_label = f"{a['label']}（統合）"
    pg.get_by_role("button", name="名前を変更").click()
    box = pg.get_by_label("新しいラベル")
    expect(box).to_be_focused()
    box.fill(new_label)
    box.press("Enter")
    expect(pg.locator(".toast.ok").last).to_contain_text("名前を変更しました")
    expect(pg.locator("#t-label")).to_have_text(new_label)
    expect(pg.locator("#audit-body")).to_contain_text("名前変更")
    expect(pg).to_have_title(f"{new_label} — voclens")

    # a note, and status/owner through the triage form
    pg.get_by_label("メモを追加").fill("配送チームと確認する")
    pg.get_by_role("button", name="追加").click()
    expect(pg.locator("#t-notes")).to_contain_text("配送チームと確認する")
    pg.get_by_label("ステータス").select_option("in_progress")
    from voclens.lenses.themes import departments

    # every department of resources/goals/departments.toml (GET /api/departments), and 未割当
    expect(pg.locator("#owner-select option")).to_have_count(len(departments()) + 1)
    pg.get_by_label("担当部門").select_option("物流")
    pg.locator("#triage-save").click()
    expect(pg.locator("#t-badges .status")).to_have_text("対応中")

    detail = _api(server, editor, "GET", f"/api/themes/{a['theme_uid']}", params={"period": period}).json()
    assert detail["label"] == new_label
    assert detail["status"] == "in_progress" and detail["owner"] == "物流"
    assert any(n["text"] == "配送チームと確認する" for n in detail["notes"])
    audit = _api(server, editor, "GET", "/api/audit", params={"theme": a["theme_uid"]}).json()["items"]
    assert {"merge", "rename", "note", "status", "owner"} <= {x["action"] for x in audit}
    assert all(x["user"] == "pm-editor" for x in audit)

    # similar complaints
    pg.get_by_label("文章").fill("配達が遅れて困った")
    pg.get_by_role("button", name="検索", exact=False).last.click()
    expect(pg.locator("#search-results li").first).to_be_visible()
    expect(pg.locator("#search-results .sim").first).to_contain_text("%")
    _shot(pg, "ui_theme.png")

    # back to the list: the rename shows there too
    pg.get_by_role("link", name="テーマ一覧").first.click()
    row = pg.locator(f'#themes-body tr[data-uid="{a["theme_uid"]}"]')
    expect(row).to_contain_text(new_label)
    expect(row.locator(".status")).to_have_text("対応中")
    expect(row).to_contain_text("物流")
    shot = _shot(pg, "ui_review.png")
    assert shot.stat().st_size > 10_000

    assert not pg.outside, f"requests outside the server: {pg.outside}"
    assert not _real_errors(pg), _real_errors(pg)


def test_viewer_sees_no_editing_controls(server, page):
    base, _, viewer = server
    pg = page
    expect = sync_api.expect
    _login(pg, base, viewer)
    expect(pg.locator("#who-role")).to_have_text("閲覧者 Viewer")
    expect(pg.locator("#themes-body input[type=checkbox]")).to_have_count(0)
    expect(pg.locator("#mergebar")).to_be_hidden()
    pg.locator("#themes-body tr a").first.click()
    expect(pg.locator("#t-label")).to_be_visible()
    for sel in ("#rename-btn", "#note-form", "#split-form", "#triage-save"):
        expect(pg.locator(sel)).to_be_hidden()
    expect(pg.locator("#status-select")).to_be_disabled()
    expect(pg.locator("#segs-body tr").first).to_be_visible()
    expect(pg.locator("#segs-body select")).to_have_count(0)
    # logging out forgets the token
    pg.get_by_role("button", name="ログアウト").click()
    expect(pg.locator("#login")).to_be_visible()
    assert pg.evaluate("localStorage.getItem('voclens.token')") is None
    assert not pg.outside
    assert not _real_errors(pg), _real_errors(pg)


def test_errors_are_shown(server, page):
    base, editor, _ = server
    pg = page
    expect = sync_api.expect
    _login(pg, base, editor)
    # someone else merges the theme away while it is open: the split the server refuses shows its message
    items = _api(server, editor, "GET", "/api/themes").json()["items"]
    c, d = items[-1], items[-2]
    pg.locator(f'#themes-body tr[data-uid="{c["theme_uid"]}"] a').click()
    expect(pg.locator("#t-uid")).to_have_text(c["theme_uid"])
    r = _api(server, editor, "POST", "/api/themes/merge", json={"themes": [d["theme_uid"], c["theme_uid"]], "into": d["theme_uid"]})
    assert r.status_code == 200, r.text
    pg.get_by_role("button", name="分割").click()
    expect(pg.locator("dialog#confirm")).to_be_visible()
    pg.locator("#confirm-ok").click()
    expect(pg.locator(".toast.err").last).to_contain_text(f"No theme '{c['theme_uid']}'")
    # a page for a theme that is not there
    pg.goto(base + "/themes/T9999")
    expect(pg.locator("#gone")).to_be_visible()
    expect(pg.locator("#gone-msg")).to_contain_text("No theme 'T9999'")
    # a token the server no longer accepts sends the user back to the login form
    pg.evaluate("localStorage.setItem('voclens.token', 'vl_revoked')")
    pg.goto(base + "/")
    expect(pg.locator("#login")).to_be_visible()
    expect(pg.locator("#login-error")).to_contain_text("トークンが無効です")
    assert not pg.outside
