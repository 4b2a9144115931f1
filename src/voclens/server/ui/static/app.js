/* voclens review UI: vanilla JS, no build step, no external requests (only this server's /api).
 * One file for both pages: <body data-page="list"> (/) and <body data-page="theme"> (/themes/{uid}). */
(() => {
  "use strict";

  const TOKEN_KEY = "voclens.token";
  const PERIOD_KEY = "voclens.period";

  const STATUS = [
    ["new", "新規", "New"], ["triaged", "確認済み", "Triaged"],
    ["in_progress", "対応中", "In progress"], ["resolved", "解決済み", "Resolved"],
  ];
  const STATUS_JA = Object.fromEntries(STATUS.map(([k, ja]) => [k, ja]));
  const STATUS_ORDER = Object.fromEntries(STATUS.map(([k], i) => [k, i]));
  // resources/goals/departments.toml (the goals lens routes themes to these)
  // the departments a theme can be owned by: GET /api/departments (resources/goals/departments.toml)
  let DEPARTMENTS = [];
  const SENT_JA = { negative: "ネガティブ", neutral: "ニュートラル", positive: "ポジティブ", mixed: "混在" };
  const PXP_TITLE = {
    POF: "POF（Point of Failure）: 顧客満足を損なう弱点",
    POP: "POP（Point of Parity）: 顧客の最低限の期待・業界標準",
    POD: "POD（Point of Difference）: 競合と差別化できる強み",
  };
  const PXP_ORDER = { POF: 0, POP: 1, POD: 2 };
  const MIXES = [
    ["stage_mix", "カスタマージャーニー", "Journey stage",
      ["awareness", "consideration", "purchase", "use", "support", "loyalty", "none"],
      { awareness: "認知", consideration: "検討", purchase: "購入", use: "利用", support: "サポート", loyalty: "リピート・推奨", none: "なし" },
      { awareness: "#440154", consideration: "#414487", purchase: "#2A788E", use: "#22A884", support: "#7AD151", loyalty: "#FDE725", none: "#D9DEE3" }],
    ["job_mix", "ジョブ", "Job type",
      ["functional", "emotional", "social", "none"],
      { functional: "機能的", emotional: "感情的", social: "社会的", none: "なし" },
      { functional: "#334e68", emotional: "#cc79a7", social: "#e69f00", none: "#D9DEE3" }],
    ["intent_mix", "意図", "Intent",
      ["complaint", "request", "question", "praise", "other"],
      { complaint: "苦情", request: "要望", question: "質問", praise: "称賛", other: "その他" },
      { complaint: "#d55e00", request: "#E69F00", question: "#56B4E9", praise: "#0072b2", other: "#D9DEE3" }],
  ];
  const STAGE_JA = MIXES[0][4];
  const ACTION_JA = {
    rename: "名前変更", merge: "統合", split: "分割", move: "移動", status: "ステータス", owner: "担当部門",
    note: "メモ", notes: "メモ", pin: "固定",
  };

  // ---------------------------------------------------------------- DOM helpers
  const $ = (id) => document.getElementById(id);

  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, attrs, ...children) {
    const el = document.createElementNS(SVG_NS, tag);
    setAttrs(el, attrs);
    append(el, children);
    return el;
  }

  function setAttrs(el, attrs) {
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") el.setAttribute("class", v);
      else if (k === "text") el.textContent = v;
      else if (k.startsWith("on") && typeof v === "function") el.addEventListener(k.slice(2), v);
      else if (k === "value" && "value" in el && !(el instanceof SVGElement)) el.value = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
  }

  function append(el, children) {
    for (const c of children.flat(Infinity)) {
      if (c === null || c === undefined || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
  }

  const clear = (el) => { el.replaceChildren(); return el; };
  const en = (text) => h("span", { class: "en" }, text);

  // ---------------------------------------------------------------- formatting
  const isNum = (v) => typeof v === "number" && Number.isFinite(v);
  const num = (v) => (v === null || v === undefined || v === "" ? NaN : Number(v));
  const pct = (v, d = 0) => (Number.isFinite(num(v)) ? `${(num(v) * 100).toFixed(d)}%` : "—");
  const int = (v) => (Number.isFinite(num(v)) ? Math.round(num(v)).toLocaleString("ja-JP") : "—");

  function signed(v, d = 2) {
    const x = num(v);
    if (!Number.isFinite(x)) return "—";
    const t = Math.abs(x).toFixed(d);
    return x > 0.00001 ? `+${t}` : x < -0.00001 ? `−${t}` : t;
  }

  function netEl(v) {
    const x = num(v);
    const cls = !Number.isFinite(x) ? "net-neu" : x <= -0.2 ? "net-neg" : x >= 0.2 ? "net-pos" : "net-neu";
    return h("span", { class: `net ${cls}` }, signed(x));
  }

  function fmtDate(v) {
    if (!v) return "—";
    const d = new Date(v);
    if (Number.isNaN(d.getTime())) return String(v);
    return d.toLocaleString("ja-JP", { year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  }

  const statusOf = (t) => (t && t.status ? t.status : "new");
  function statusBadge(status) {
    const st = status || "new";
    return h("span", { class: `status st-${st}` }, STATUS_JA[st] || st);
  }

  function pxpBadge(tag) {
    const k = String(tag || "").toUpperCase();
    if (!PXP_TITLE[k]) return null;
    return h("span", { class: `pxp pxp-${k}`, title: PXP_TITLE[k] }, k);
  }

  function sentBadge(sent) {
    const k = sent || "neutral";
    return h("span", { class: `badge ${k}` }, SENT_JA[k] || k);
  }

  function chips(words, max, small) {
    const list = (Array.isArray(words) ? words : []).slice(0, max || 99);
    return h("div", { class: `chips${small ? " small" : ""}` }, list.map((w) => h("span", { class: "chip" }, w)));
  }

  /** "74%（VOC推定: 困りごとの割合）" -> ["74%", "VOC推定: 困りごとの割合"] */
  function splitNote(v) {
    const t = v === null || v === undefined ? "—" : String(v);
    const m = t.match(/^(.*?)（(.*)）$/);
    return m && m[1] ? [m[1], m[2]] : [t, ""];
  }

  function goalValues(g) {
    const [cur, curNote] = splitNote(g.current);
    const [tgt, tgtNote] = splitNote(g.target);
    return h("span", { class: "kpi-vals" },
      h("b", null, cur), h("span", { class: "arrow", "aria-label": "→ 目標" }, " → "), h("b", null, tgt),
      tgtNote ? h("span", { class: "kpi-note" }, `（${tgtNote}）`) : null,
      curNote ? h("span", { class: "kpi-src" }, curNote) : null);
  }

  function themeHref(uid, period) {
    const q = period ? `?period=${encodeURIComponent(period)}` : "";
    return `/themes/${encodeURIComponent(uid)}${q}`;
  }

  function sparkline(trend) {
    const pts = (Array.isArray(trend) ? trend : []).map((p) => ({ week: p.week, n: num(p.n) || 0 }));
    const W = 92, H = 26, P = 3;
    const label = pts.length
      ? `推移 Trend: ${pts.map((p) => `${p.week} ${p.n}件`).join(", ")}`
      : "推移データなし No trend data";
    const svg = s("svg", { class: "spark", width: W, height: H, viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
    svg.append(s("title", null, label));
    if (!pts.length) {
      svg.append(s("line", { x1: P, x2: W - P, y1: H / 2, y2: H / 2, stroke: "#d9e2ec", "stroke-dasharray": "3 3" }));
      return svg;
    }
    const max = Math.max(1, ...pts.map((p) => p.n));
    const step = pts.length > 1 ? (W - 2 * P) / (pts.length - 1) : 0;
    const xy = pts.map((p, i) => [P + i * step + (pts.length > 1 ? 0 : (W - 2 * P) / 2), H - P - (p.n / max) * (H - 2 * P)]);
    const line = xy.map(([x, y]) => `${x.toFixed(1)},${y.toFixed(1)}`).join(" ");
    if (xy.length > 1) {
      const area = `${P},${H - P} ${line} ${xy[xy.length - 1][0].toFixed(1)},${H - P}`;
      svg.append(s("polygon", { points: area, fill: "#eef2f7" }));
      svg.append(s("polyline", { points: line, fill: "none", stroke: "#334e68", "stroke-width": 1.6, "stroke-linejoin": "round", "stroke-linecap": "round" }));
    }
    const [lx, ly] = xy[xy.length - 1];
    svg.append(s("circle", { cx: lx.toFixed(1), cy: ly.toFixed(1), r: 2.4, fill: "#d55e00" }));
    return svg;
  }

  // ---------------------------------------------------------------- API
  class ApiError extends Error {
    constructor(status, code, message) {
      super(message);
      this.status = status;
      this.code = code;
    }
  }

  const getToken = () => localStorage.getItem(TOKEN_KEY) || "";

  async function api(path, opts = {}) {
    const url = new URL(path, location.origin);
    for (const [k, v] of Object.entries(opts.query || {})) {
      if (v !== null && v !== undefined && v !== "") url.searchParams.set(k, v);
    }
    const headers = { Accept: "application/json" };
    const token = opts.token !== undefined ? opts.token : getToken();
    if (token) headers.Authorization = `Bearer ${token}`;
    const init = { method: opts.method || "GET", headers };
    if (opts.body !== undefined) {
      headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(opts.body);
    }
    let res;
    try {
      res = await fetch(url, init);
    } catch (e) {
      throw new ApiError(0, "network_error", "サーバーに接続できません。サーバーが起動しているか確認してください。(network error)");
    }
    const text = await res.text();
    let data = null;
    if (text) {
      try { data = JSON.parse(text); } catch (e) { data = opts.raw ? text : null; }
    }
    if (!res.ok) {
      let message = data && (data.message || data.detail);
      if (Array.isArray(message)) message = message.map((d) => (d && d.msg) || JSON.stringify(d)).join("; ");
      if (message && typeof message === "object") message = JSON.stringify(message);
      const code = (data && data.code) || `http_${res.status}`;
      const err = new ApiError(res.status, code, message || `${res.status} ${res.statusText || "error"}`);
      if (res.status === 401 && !opts.noAuthRedirect) onUnauthorized(err);
      throw err;
    }
    return opts.raw ? text : data;
  }

  const errText = (e) => (e && e.message ? e.message : String(e));

  // ---------------------------------------------------------------- toasts, busy buttons, confirm
  function toast(message, kind = "ok") {
    const box = $("toasts");
    if (!box) return;
    const close = h("button", { type: "button", class: "x", "aria-label": "閉じる Close", text: "×" });
    const el = h("div", { class: `toast ${kind}`, role: kind === "err" ? "alert" : "status" },
      h("span", { class: "msg" }, kind === "err" ? "⚠ " : "✓ ", message), close);
    const remove = () => el.remove();
    close.addEventListener("click", remove);
    box.append(el);
    while (box.children.length > 4) box.firstElementChild.remove();
    setTimeout(remove, kind === "err" ? 12000 : 5000);
    return el;
  }

  /** Runs an action: disables the button meanwhile, shows success or the server's error message. */
  async function act(btn, fn, okMsg) {
    if (btn) { btn.disabled = true; btn.classList.add("busy"); btn.setAttribute("aria-busy", "true"); }
    try {
      const r = await fn();
      if (okMsg) toast(typeof okMsg === "function" ? okMsg(r) : okMsg, "ok");
      return { ok: true, value: r };
    } catch (e) {
      toast(errText(e), "err");
      return { ok: false, error: e };
    } finally {
      if (btn) { btn.disabled = false; btn.classList.remove("busy"); btn.removeAttribute("aria-busy"); }
    }
  }

  function confirmDialog({ title, body, ok, danger }) {
    const dlg = $("confirm");
    $("confirm-title").textContent = title;
    clear($("confirm-body")).append(...[].concat(body).map((b) => (b instanceof Node ? b : h("p", null, b))));
    const okBtn = $("confirm-ok");
    clear(okBtn).append(ok || "実行", en("OK"));
    okBtn.className = `btn ${danger ? "btn-danger" : "btn-primary"}`;
    if (typeof dlg.showModal !== "function") return Promise.resolve(window.confirm(title));
    return new Promise((resolve) => {
      dlg.returnValue = "";
      dlg.addEventListener("close", () => resolve(dlg.returnValue === "ok"), { once: true });
      dlg.showModal();
      $("confirm-cancel").focus();
    });
  }

  // ---------------------------------------------------------------- session
  let me = null;

  /** Who the token belongs to: GET /api/me; where the server has no such route, the role is probed. */
  async function whoami(token) {
    try {
      const r = await api("/api/me", { token, noAuthRedirect: true });
      return { name: r.name || r.user || r.token_name || "", role: r.role || "viewer" };
    } catch (e) {
      if (e.status !== 404 && e.status !== 405) throw e;
    }
    await api("/api/periods", { token, noAuthRedirect: true });
    try {
      // an editor gets 422 for this empty merge (nothing changes), a viewer gets 403
      await api("/api/themes/merge", { method: "POST", body: { themes: [], into: "" }, token, noAuthRedirect: true });
      return { name: "", role: "editor" };
    } catch (e) {
      return { name: "", role: e.status === 403 ? "viewer" : "editor" };
    }
  }

  const isEditor = () => !!me && me.role === "editor";

  function applyRole() {
    document.body.classList.toggle("viewer", !isEditor());
    document.body.classList.toggle("editor", isEditor());
    $("who").hidden = !me;
    if (!me) return;
    $("who-name").textContent = me.name || "";
    const role = $("who-role");
    role.className = `role role-${isEditor() ? "editor" : "viewer"}`;
    role.textContent = isEditor() ? "編集者 Editor" : "閲覧者 Viewer";
    role.title = isEditor() ? "閲覧と編集ができます" : "閲覧のみ（編集はできません）";
  }

  function showLogin(message) {
    me = null;
    applyRole();
    $("app").hidden = true;
    $("login").hidden = false;
    const err = $("login-error");
    err.hidden = !message;
    err.textContent = message || "";
    $("token").value = "";
    $("token").focus();
  }

  function onUnauthorized(err) {
    localStorage.removeItem(TOKEN_KEY);
    showLogin(`ログインが必要です: ${err.message}`);
  }

  async function start(page) {
    $("login-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const token = $("token").value.trim();
      const btn = ev.submitter || $("login-form").querySelector("button");
      if (!token) return;
      btn.disabled = true;
      try {
        me = await whoami(token);
        localStorage.setItem(TOKEN_KEY, token);
        $("login").hidden = true;
        await enter(page);
        toast(`ログインしました（${isEditor() ? "編集者 Editor" : "閲覧者 Viewer"}）`, "ok");
      } catch (e) {
        const msg = e.status === 401 ? `トークンが無効です: ${e.message}` : errText(e);
        $("login-error").textContent = msg;
        $("login-error").hidden = false;
      } finally {
        btn.disabled = false;
      }
    });
    $("logout").addEventListener("click", () => {
      localStorage.removeItem(TOKEN_KEY);
      showLogin("ログアウトしました。Signed out.");
    });

    const token = getToken();
    if (!token) return showLogin();
    try {
      me = await whoami(token);
    } catch (e) {
      if (e.status === 401) { localStorage.removeItem(TOKEN_KEY); return showLogin(`トークンが無効です: ${e.message}`); }
      toast(errText(e), "err");
      return showLogin(errText(e));
    }
    await enter(page);
  }

  let entered = false;
  async function enter(page) {
    applyRole();
    $("login").hidden = true;
    $("app").hidden = false;
    if (!entered) {
      entered = true;
      await (page === "theme" ? ThemePage.init() : ListPage.init());
    } else {
      await (page === "theme" ? ThemePage.reload() : ListPage.reload());
    }
  }

  async function loadPeriods() {
    const r = await api("/api/periods");
    const items = (r && r.items) || [];
    return items.slice().sort((a, b) => String(b.created || "").localeCompare(String(a.created || "")));
  }

  // ---------------------------------------------------------------- theme list (/)
  const ListPage = {
    periods: [],
    period: "",
    themes: [],
    sort: { key: "impact_rank", dir: "asc" },
    selected: [],

    async init() {
      const params = new URLSearchParams(location.search);
      $("q").value = params.get("q") || "";
      const sf = $("status-filter");
      for (const [k, ja, e] of STATUS) sf.append(h("option", { value: k }, `${ja} ${e}`));
      sf.value = params.get("status") || "";
      const [key, dir] = (params.get("sort") || "").split(":");
      if (key) this.sort = { key, dir: dir === "desc" ? "desc" : "asc" };

      this.setupSortHeaders();
      $("filters").addEventListener("submit", (ev) => { ev.preventDefault(); this.reload(); });
      $("period").addEventListener("change", () => {
        this.period = $("period").value;
        localStorage.setItem(PERIOD_KEY, this.period);
        this.selected = [];
        this.reload();
      });
      sf.addEventListener("change", () => this.reload());
      let timer = null;
      $("q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => this.reload(), 250); });
      $("merge-btn").addEventListener("click", () => this.merge());
      $("merge-clear").addEventListener("click", () => { this.selected = []; this.render(); });
      $("report-link").addEventListener("click", (ev) => { ev.preventDefault(); openReport(this.period); });

      try {
        this.periods = await loadPeriods();
      } catch (e) {
        toast(errText(e), "err");
        this.periods = [];
      }
      const sel = clear($("period"));
      for (const p of this.periods) {
        const meta = [p.n_documents != null ? `${int(p.n_documents)}件` : "", p.n_themes != null ? `${p.n_themes}テーマ` : ""].filter(Boolean).join("・");
        sel.append(h("option", { value: p.period }, meta ? `${p.period}（${meta}）` : p.period));
      }
      if (!this.periods.length) sel.append(h("option", { value: "" }, "データなし No data"));
      const wanted = params.get("period") || localStorage.getItem(PERIOD_KEY) || "";
      this.period = this.periods.some((p) => p.period === wanted) ? wanted : (this.periods[0] ? this.periods[0].period : "");
      sel.value = this.period;
      await this.reload();
    },

    async reload() {
      const status = $("status-filter").value;
      const q = $("q").value.trim();
      this.syncUrl();
      try {
        const r = await api("/api/themes", { query: { period: this.period, status, q } });
        if (r && r.period && !this.period) this.period = r.period;
        this.themes = (r && r.items) || [];
      } catch (e) {
        this.themes = [];
        toast(errText(e), "err");
      }
      const uids = new Set(this.themes.map((t) => t.theme_uid));
      this.selected = this.selected.filter((u) => uids.has(u));
      this.render();
    },

    syncUrl() {
      const p = new URLSearchParams();
      if (this.period) p.set("period", this.period);
      if ($("status-filter").value) p.set("status", $("status-filter").value);
      if ($("q").value.trim()) p.set("q", $("q").value.trim());
      if (this.sort.key !== "impact_rank" || this.sort.dir !== "asc") p.set("sort", `${this.sort.key}:${this.sort.dir}`);
      const qs = p.toString();
      history.replaceState(null, "", qs ? `/?${qs}` : "/");
    },

    setupSortHeaders() {
      for (const th of document.querySelectorAll("#themes thead th[data-key]")) {
        const btn = h("button", { type: "button", class: "sort-btn" }, ...Array.from(th.childNodes));
        th.append(btn);
        btn.addEventListener("click", () => {
          const key = th.dataset.key;
          if (this.sort.key === key) this.sort.dir = this.sort.dir === "asc" ? "desc" : "asc";
          else this.sort = { key, dir: ["num"].includes(th.dataset.type) ? "desc" : "asc" };
          this.syncUrl();
          this.render();
        });
      }
    },

    sortValue(t, key) {
      switch (key) {
        case "trend_total": return (t.trend || []).reduce((a, p) => a + (num(p.n) || 0), 0);
        case "goal_kpi": return t.goal ? t.goal.kpi || "" : null;
        case "pxp": return t.pxp in PXP_ORDER ? PXP_ORDER[t.pxp] : null;
        case "status": return STATUS_ORDER[statusOf(t)];
        case "owner": return t.owner || null;
        case "impact_rank": return isNum(num(t.impact_rank)) ? num(t.impact_rank) : null;
        default: return t[key];
      }
    },

    sorted() {
      const { key, dir } = this.sort;
      const sign = dir === "desc" ? -1 : 1;
      return this.themes.slice().sort((a, b) => {
        const va = this.sortValue(a, key), vb = this.sortValue(b, key);
        const na = va === null || va === undefined || (typeof va === "number" && !Number.isFinite(va));
        const nb = vb === null || vb === undefined || (typeof vb === "number" && !Number.isFinite(vb));
        if (na || nb) return na === nb ? 0 : na ? 1 : -1; // missing values last either way
        const c = typeof va === "number" && typeof vb === "number" ? va - vb : String(va).localeCompare(String(vb), "ja");
        return c * sign || String(a.theme_uid).localeCompare(String(b.theme_uid));
      });
    },

    render() {
      for (const th of document.querySelectorAll("#themes thead th[data-key]")) {
        if (th.dataset.key === this.sort.key) th.setAttribute("aria-sort", this.sort.dir === "asc" ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      }
      const body = clear($("themes-body"));
      const editor = isEditor();
      const full = this.selected.length >= 2;
      for (const t of this.sorted()) {
        const href = themeHref(t.theme_uid, this.period);
        const checked = this.selected.includes(t.theme_uid);
        const cb = h("input", {
          type: "checkbox", class: "sel", value: t.theme_uid, checked, disabled: !checked && full,
          "aria-label": `「${t.label}」(${t.theme_uid}) を選択 Select`,
          onchange: (ev) => this.toggle(t.theme_uid, ev.target.checked),
        });
        const g = t.goal;
        const tr = h("tr", { class: checked ? "selected" : null, "data-uid": t.theme_uid },
          editor ? h("td", { class: "c-sel editor-only" }, cb) : null,
          h("td", { class: "uid" }, t.theme_uid),
          h("td", { class: "label" }, h("a", { href }, t.label || t.theme_uid), chips(t.keywords, 3, true)),
          h("td", { class: "num" }, int(t.size), h("span", { class: "share" }, pct(t.share, 1))),
          h("td", { class: "trend" }, sparkline(t.trend)),
          h("td", { class: "num" }, netEl(t.net_sentiment)),
          h("td", { class: `num${num(t.pain_score) >= 0.4 ? " hot" : ""}` }, pct(t.pain_score)),
          h("td", null, pxpBadge(t.pxp) || h("span", { class: "muted" }, "—")),
          h("td", { class: "num" }, isNum(num(t.impact_rank))
            ? h("span", { class: `rank${num(t.impact_rank) <= 3 ? " top" : ""}` }, String(t.impact_rank)) : "—"),
          h("td", { class: "goal", title: g ? `${g.kpi}: ${g.current ?? "—"} → ${g.target ?? "—"}` : null }, g
            ? [h("span", { class: "kpi-name" }, g.kpi || "—"), goalValues(g)]
            : h("span", { class: "muted" }, "—")),
          h("td", null, statusBadge(statusOf(t))),
          h("td", { class: "owner" }, t.owner || h("span", { class: "muted" }, "未割当")),
        );
        tr.addEventListener("click", (ev) => {
          if (ev.target.closest("a, input, button, label, select")) return;
          location.href = href;
        });
        body.append(tr);
      }
      $("empty").hidden = this.themes.length > 0;
      $("count").textContent = `${this.themes.length} テーマ themes`;
      this.renderMergeBar();
    },

    toggle(uid, on) {
      this.selected = this.selected.filter((u) => u !== uid);
      if (on && this.selected.length < 2) this.selected.push(uid);
      this.render();
      const cb = document.querySelector(`#themes-body input.sel[value="${CSS.escape(uid)}"]`);
      if (cb) cb.focus();
    },

    renderMergeBar() {
      const bar = $("mergebar");
      bar.hidden = !isEditor();
      if (!isEditor()) return;
      const picked = this.selected.map((u) => this.themes.find((t) => t.theme_uid === u)).filter(Boolean);
      const info = clear($("merge-info"));
      const wrap = $("merge-into-wrap");
      bar.classList.toggle("active", picked.length > 0);
      $("merge-clear").disabled = picked.length === 0;
      if (picked.length < 2) {
        info.append(picked.length === 1
          ? `「${picked[0].label}」を選択中。もう1つ選ぶと統合できます。`
          : "統合するテーマを2つ選んでください。", en("Select two themes to merge"));
        wrap.hidden = true;
        $("merge-btn").disabled = true;
        return;
      }
      info.append(h("b", null, `${picked.length}件選択`), en(`${picked.length} selected`));
      const into = $("merge-into");
      const prev = into.value;
      clear(into);
      for (const t of picked) into.append(h("option", { value: t.theme_uid }, `${t.label} (${t.theme_uid})`));
      const biggest = picked.slice().sort((a, b) => (num(b.size) || 0) - (num(a.size) || 0))[0];
      into.value = picked.some((t) => t.theme_uid === prev) ? prev : biggest.theme_uid;
      wrap.hidden = false;
      $("merge-btn").disabled = false;
    },

    async merge() {
      const picked = this.selected.map((u) => this.themes.find((t) => t.theme_uid === u)).filter(Boolean);
      if (picked.length !== 2) return;
      const intoUid = $("merge-into").value;
      const keep = picked.find((t) => t.theme_uid === intoUid);
      const gone = picked.find((t) => t.theme_uid !== intoUid);
      const ok = await confirmDialog({
        title: "テーマを統合しますか？ Merge themes?",
        body: [
          h("p", null, "「", h("b", null, gone.label), `」(${gone.theme_uid}, ${int(gone.size)}件) を「`,
            h("b", null, keep.label), `」(${keep.theme_uid}, ${int(keep.size)}件) に統合します。`),
          h("p", { class: "note" }, `統合後は ${keep.theme_uid} のIDとラベルが残り、以後の実行にも適用されます（変更履歴に記録）。`),
        ],
        ok: "統合する",
      });
      if (!ok) return;
      const r = await act($("merge-btn"), () => api("/api/themes/merge", {
        method: "POST", body: { themes: picked.map((t) => t.theme_uid), into: keep.theme_uid, period: this.period || undefined },
      }), `統合しました: 「${gone.label}」→「${keep.label}」(${keep.theme_uid})`);
      if (r.ok) {
        this.selected = [];
        await this.reload();
        const row = document.querySelector(`#themes-body tr[data-uid="${CSS.escape(keep.theme_uid)}"] a`);
        if (row) row.focus();
      } else {
        this.renderMergeBar();
      }
    },
  };

  async function openReport(period) {
    const win = window.open("", "_blank");
    try {
      const html = await api("/api/report", { query: { period }, raw: true });
      const url = URL.createObjectURL(new Blob([html], { type: "text/html;charset=utf-8" }));
      if (win) win.location.href = url; else location.href = url;
    } catch (e) {
      if (win) win.close();
      toast(errText(e), "err");
    }
  }

  // ---------------------------------------------------------------- theme page (/themes/{uid})
  const SEG_LIMIT = 20;
  const ThemePage = {
    uid: "",
    period: "",
    theme: null,
    allThemes: [],
    segOffset: 0,
    segTotal: 0,

    async init() {
      const parts = location.pathname.split("/").filter(Boolean);
      this.uid = decodeURIComponent(parts[parts.length - 1] || "");
      const params = new URLSearchParams(location.search);
      this.period = params.get("period") || localStorage.getItem(PERIOD_KEY) || "";
      this.syncLinks();

      // rename
      $("rename-btn").addEventListener("click", () => this.editLabel(true));
      $("rename-cancel").addEventListener("click", () => this.editLabel(false));
      $("rename-form").addEventListener("keydown", (ev) => { if (ev.key === "Escape") { ev.preventDefault(); this.editLabel(false); } });
      $("rename-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.rename(ev.submitter); });
      // triage
      const ss = $("status-select");
      for (const [k, ja, e] of STATUS) ss.append(h("option", { value: k }, `${ja} ${e}`));
      $("triage-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.saveTriage(); });
      $("split-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.split(ev.submitter); });
      $("note-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.addNote(ev.submitter); });
      $("search-form").addEventListener("submit", (ev) => { ev.preventDefault(); this.search(ev.submitter); });
      // segments
      $("seg-prev").addEventListener("click", () => { this.segOffset = Math.max(0, this.segOffset - SEG_LIMIT); this.loadSegments(); });
      $("seg-next").addEventListener("click", () => { this.segOffset += SEG_LIMIT; this.loadSegments(); });
      $("seg-sentiment").addEventListener("change", () => { this.segOffset = 0; this.loadSegments(); });
      let timer = null;
      $("seg-q").addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { this.segOffset = 0; this.loadSegments(); }, 250); });

      try {
        DEPARTMENTS = (await api("/api/departments")).items.map((d) => [d.name, d.name_en || ""]);
      } catch (e) {
        toast(errText(e), "err");  // the owner list then offers the theme's suggested departments only
      }
      await this.reload();
    },

    syncLinks() {
      const q = this.period ? `/?period=${encodeURIComponent(this.period)}` : "/";
      $("back-link").href = q;
      $("nav-list").href = q;
      $("crumb-period").textContent = this.period ? `期間 Period: ${this.period}` : "";
    },

    async reload() {
      const ok = await this.loadTheme();
      if (!ok) return;
      await Promise.all([this.loadSegments(), this.loadAudit(), this.loadThemeList()]);
    },

    async loadTheme() {
      try {
        const t = await api(`/api/themes/${encodeURIComponent(this.uid)}`, { query: { period: this.period } });
        this.theme = t;
        if (t.period && !this.period) { this.period = t.period; this.syncLinks(); }
        $("gone").hidden = true;
        $("theme").hidden = false;
        this.render();
        return true;
      } catch (e) {
        this.theme = null;
        $("theme").hidden = true;
        if (e.status === 404) {
          $("gone").hidden = false;
          $("gone-msg").textContent = `${this.uid}: ${errText(e)}`;
        } else {
          toast(errText(e), "err");
        }
        return false;
      }
    },

    async loadThemeList() {
      try {
        const r = await api("/api/themes", { query: { period: this.period } });
        this.allThemes = (r && r.items) || [];
      } catch (e) {
        this.allThemes = [];
      }
      this.renderMoveTargets();
      this.renderSearchLabels();
    },

    render() {
      const t = this.theme;
      document.title = `${t.label || t.theme_uid} — voclens`;
      $("t-label").textContent = t.label || t.theme_uid;
      $("t-uid").textContent = t.theme_uid;
      clear($("t-badges")).append(...[pxpBadge(t.pxp), statusBadge(statusOf(t))].filter(Boolean));
      const kw = clear($("t-keywords"));
      for (const w of t.keywords || []) kw.append(h("span", { class: "chip" }, w));

      const kpi = (l, e, v, sub, cls) => h("div", { class: "kpi" },
        h("div", { class: "l" }, l, en(e)), h("div", { class: `v ${cls || ""}` }, v), sub ? h("div", { class: "s" }, sub) : null);
      clear($("t-kpis")).append(
        kpi("件数", "Size", int(t.size), "セグメント segments"),
        kpi("構成比", "Share", pct(t.share, 1), "全体に占める割合"),
        kpi("正味", "Net sentiment", netEl(t.net_sentiment), "ポジ − ネガ"),
        kpi("ペイン", "Pain", pct(t.pain_score), "困りごとの割合", num(t.pain_score) >= 0.4 ? "hot" : ""),
        kpi("区分", "POF/POP/POD", pxpBadge(t.pxp) || "—", t.pxp ? PXP_TITLE[String(t.pxp).toUpperCase()]?.split("）")[0].split("（")[1] : ""),
        kpi("優先", "Impact rank", isNum(num(t.impact_rank)) ? `${t.impact_rank}位` : "—", "インパクト順位"),
      );
      const goal = $("t-goal");
      goal.hidden = !t.goal;
      if (t.goal) {
        clear(goal).append(h("span", { class: "muted" }, "目標KPI", en("Goal"), "："), h("b", { class: "kpi-name" }, t.goal.kpi || "—"), "　",
          h("span", null, t.goal.current ?? "—"), h("span", { class: "arrow", "aria-label": "から目標" }, "→"),
          h("b", null, t.goal.target ?? "—"));
      }

      // triage
      $("status-select").value = statusOf(t);
      const os = clear($("owner-select"));
      os.append(h("option", { value: "" }, "— 未割当 Unassigned"));  // choosing it clears the owner
      const names = DEPARTMENTS.map(([n, e]) => [n, e]);
      for (const d of [...(t.departments || []), t.owner].filter(Boolean)) {
        if (!names.some(([n]) => n === d)) names.push([d, ""]);
      }
      const suggested = new Set(t.departments || []);
      for (const [n, e] of names) {
        os.append(h("option", { value: n }, `${n}${e ? ` ${e}` : ""}${suggested.has(n) ? "（推奨）" : ""}`));
      }
      os.value = t.owner || "";
      $("status-select").disabled = !isEditor();
      os.disabled = !isEditor();
      $("t-departments").textContent = (t.departments || []).length
        ? `関連部門（VOCからの推定）Suggested: ${(t.departments || []).join("・")}` : "";

      this.renderMixes();
      this.renderHistory();

      const ql = clear($("t-quotes"));
      const seen = new Set();
      for (const q of t.quotes || []) {
        if (seen.has(q.text)) continue;
        seen.add(q.text);
        ql.append(h("li", { class: `s-${q.sentiment || "neutral"}` }, sentBadge(q.sentiment), q.text));
      }
      if (!(t.quotes || []).length) ql.append(h("li", { class: "empty-line" }, "引用はありません。No quotes."));

      const nl = clear($("t-notes"));
      for (const n of t.notes || []) {
        nl.append(h("li", null, n.text, h("span", { class: "meta" }, `${n.author || "—"}・${fmtDate(n.created)}`)));
      }
      if (!(t.notes || []).length) nl.append(h("li", { class: "empty-line" }, "メモはまだありません。No notes yet."));
      if (!$("search-text").value && t.quotes && t.quotes[0]) $("search-text").placeholder = `例: ${t.quotes[0].text.slice(0, 30)}`;
    },

    renderMixes() {
      const box = clear($("t-mixes"));
      let any = false;
      for (const [field, ja, e, order, names, colors] of MIXES) {
        const raw = this.theme[field];
        const entries = normMix(raw);
        if (!entries.length) continue;
        any = true;
        const total = entries.reduce((a, [, v]) => a + v, 0) || 1;
        entries.sort((a, b) => (order.indexOf(a[0]) + 99 * (order.indexOf(a[0]) < 0)) - (order.indexOf(b[0]) + 99 * (order.indexOf(b[0]) < 0)));
        const bar = h("div", { class: "mix-bar", role: "img",
          "aria-label": `${ja}: ${entries.map(([k, v]) => `${names[k] || k} ${pct(v / total)}`).join(", ")}` });
        const legend = h("div", { class: "legend" });
        for (const [k, v] of entries) {
          const c = colors[k] || "#9aa5b1";
          const share = v / total;
          if (share > 0) bar.append(h("span", { style: `width:${(share * 100).toFixed(2)}%;background:${c}`, title: `${names[k] || k} ${pct(share)}` }));
          legend.append(h("span", null, h("i", { style: `background:${c}` }), names[k] || k, h("b", null, pct(share))));
        }
        box.append(h("div", { class: "mix" }, h("div", { class: "mix-title" }, ja, en(e)), bar, legend));
      }
      if (!any) box.append(h("p", { class: "empty-line" }, "内訳データはありません。No breakdown."));
    },

    renderHistory() {
      const box = clear($("t-history"));
      const hist = (this.theme.history || []).map((r) => ({ week: String(r.week), n: num(r.n) || 0, neg: num(r.n_negative) || 0 }));
      if (!hist.length) { box.append(h("p", { class: "empty-line" }, "履歴はありません。No history.")); return; }
      const W = 520, H = 120, L = 28, B = 20, T = 8;
      const max = Math.max(1, ...hist.map((r) => r.n));
      const bw = (W - L - 4) / hist.length;
      const label = `週ごとの件数: ${hist.map((r) => `${r.week} ${r.n}件（ネガティブ ${Math.round(r.neg)}）`).join(", ")}`;
      const svg = s("svg", { class: "hist", viewBox: `0 0 ${W} ${H}`, role: "img", "aria-label": label });
      svg.append(s("title", null, label));
      const y = (v) => T + (H - T - B) * (1 - v / max);
      svg.append(s("line", { x1: L, x2: W, y1: y(0), y2: y(0), stroke: "#d9e2ec" }));
      svg.append(s("text", { x: L - 4, y: y(max) + 4, "text-anchor": "end" }, String(max)));
      svg.append(s("text", { x: L - 4, y: y(0) + 3, "text-anchor": "end" }, "0"));
      hist.forEach((r, i) => {
        const x = L + 2 + i * bw;
        const w = Math.max(2, bw * 0.68);
        svg.append(s("rect", { x: x.toFixed(1), y: y(r.n).toFixed(1), width: w.toFixed(1), height: (y(0) - y(r.n)).toFixed(1), fill: "#bcccdc", rx: 1.5 },
          s("title", null, `${r.week}: ${r.n}件`)));
        svg.append(s("rect", { x: x.toFixed(1), y: y(r.neg).toFixed(1), width: w.toFixed(1), height: (y(0) - y(r.neg)).toFixed(1), fill: "#d55e00", rx: 1.5 },
          s("title", null, `${r.week}: ネガティブ ${Math.round(r.neg)}件`)));
        const every = Math.ceil(hist.length / 8);
        if (i % every === 0 || i === hist.length - 1) {
          svg.append(s("text", { x: (x + w / 2).toFixed(1), y: H - 5, "text-anchor": "middle" }, r.week.replace(/^\d{4}-/, "")));
        }
      });
      box.append(svg, h("div", { class: "legend" },
        h("span", null, h("i", { style: "background:#bcccdc" }), "件数 All"),
        h("span", null, h("i", { style: "background:#d55e00" }), "ネガティブ Negative")));
    },

    editLabel(on) {
      $("title-view").hidden = on;
      $("rename-form").hidden = !on;
      if (on) {
        const inp = $("rename-input");
        inp.value = this.theme ? this.theme.label || "" : "";
        inp.focus();
        inp.select();
      } else {
        $("rename-btn").focus();
      }
    },

    async rename(btn) {
      const label = $("rename-input").value.trim();
      if (!label) { toast("ラベルを入力してください。Enter a label.", "err"); return; }
      if (this.theme && label === this.theme.label) { this.editLabel(false); return; }
      const r = await act(btn, () => api(`/api/themes/${encodeURIComponent(this.uid)}/rename`, { method: "POST", body: { label, period: this.period || undefined } }),
        `名前を変更しました: 「${label}」`);
      if (r.ok) {
        this.editLabel(false);
        await this.reload();
      }
    },

    async saveTriage() {
      const t = this.theme;
      if (!t) return;
      const status = $("status-select").value;
      const department = $("owner-select").value;
      const jobs = [];
      if (status !== statusOf(t)) jobs.push(["status", { status }, `ステータスを「${STATUS_JA[status]}」にしました`]);
      if (department !== (t.owner || "")) {
        jobs.push(["owner", { department: department || null },
                   department ? `担当部門を「${department}」にしました` : "担当部門の割り当てを外しました"]);
      }
      if (!jobs.length) { toast("変更はありません。Nothing changed.", "ok"); return; }
      const btn = $("triage-save");
      for (const [route, body, msg] of jobs) {
        const r = await act(btn, () => api(`/api/themes/${encodeURIComponent(this.uid)}/${route}`, { method: "POST", body }), msg);
        if (!r.ok) break;
      }
      await this.reload();
    },

    async split(btn) {
      const n = parseInt($("split-n").value, 10);
      if (!(n >= 2)) { toast("分割数は2以上を指定してください。Parts must be 2 or more.", "err"); return; }
      const ok = await confirmDialog({
        title: "テーマを分割しますか？ Split theme?",
        body: [
          h("p", null, "「", h("b", null, this.theme.label), `」(${this.uid}, ${int(this.theme.size)}件) のセグメントを再クラスタリングし、${n}個のテーマに分けます。`),
          h("p", { class: "note" }, "分割は以後の実行にも適用され、変更履歴に記録されます。"),
        ],
        ok: `${n}分割する`,
      });
      if (!ok) return;
      const r = await act(btn, () => api(`/api/themes/${encodeURIComponent(this.uid)}/split`, { method: "POST", body: { into: n, period: this.period || undefined } }),
        (res) => {
          const kids = splitChildren(res);
          return kids.length ? `${n}個に分割しました: ${kids.join(", ")}` : `${n}個に分割しました`;
        });
      if (!r.ok) return;
      const kids = splitChildren(r.value);
      const ok2 = await this.loadTheme();
      if (ok2) {
        await Promise.all([this.loadSegments(), this.loadAudit(), this.loadThemeList()]);
      } else if (kids.length) {
        clear($("gone-h")).append("テーマを分割しました", en("Theme split"));
        const msg = clear($("gone-msg"));
        msg.append(`${this.uid} は ${kids.length} 個のテーマに分割されました。新しいテーマ: `);
        const items = (r.value && r.value.themes) || [];
        kids.forEach((k, i) => {
          const it = items.find((x) => x && x.theme_uid === k);
          msg.append(i ? "、" : "", h("a", { href: themeHref(k, this.period) }, it && it.label ? `${it.label} (${k})` : k));
        });
        document.title = `${this.uid} — voclens`;
      }
    },

    async addNote(btn) {
      const text = $("note-text").value.trim();
      if (!text) { toast("メモを入力してください。Enter a note.", "err"); return; }
      const r = await act(btn, () => api(`/api/themes/${encodeURIComponent(this.uid)}/notes`, { method: "POST", body: { text } }),
        "メモを追加しました");
      if (r.ok) {
        $("note-text").value = "";
        await Promise.all([this.loadTheme(), this.loadAudit()]);
      }
    },

    async loadSegments() {
      const body = clear($("segs-body"));
      let r;
      try {
        r = await api("/api/segments", {
          query: { period: this.period, theme: this.uid, limit: SEG_LIMIT, offset: this.segOffset,
            sentiment: $("seg-sentiment").value, q: $("seg-q").value.trim() },
        });
      } catch (e) {
        toast(errText(e), "err");
        return;
      }
      const items = (r && r.items) || [];
      this.segTotal = num(r && r.total) || 0;
      if (items.length === 0 && this.segOffset > 0 && this.segTotal > 0) {
        this.segOffset = Math.max(0, Math.floor((this.segTotal - 1) / SEG_LIMIT) * SEG_LIMIT);
        return this.loadSegments();
      }
      for (const seg of items) {
        const sel = h("select", { "aria-label": `セグメント ${seg.seg_id} の移動先 Move to`, class: "move-target" });
        const btn = h("button", { type: "button", class: "btn btn-ghost btn-sm" }, "移動", en("Move"));
        btn.addEventListener("click", () => this.move(seg, sel, btn));
        body.append(h("tr", { "data-seg": seg.seg_id },
          h("td", { class: "num muted" }, String(seg.seg_id)),
          h("td", { class: "text" }, seg.text),
          h("td", null, sentBadge(seg.sentiment)),
          h("td", { class: "small" }, STAGE_JA[seg.journey_stage] || seg.journey_stage || "—"),
          isEditor() ? h("td", { class: "move editor-only" }, h("div", { class: "row" }, sel, btn)) : null));
      }
      if (!items.length) {
        body.append(h("tr", null, h("td", { colspan: 5, class: "empty-line" }, "セグメントはありません。No segments.")));
      }
      const from = items.length ? this.segOffset + 1 : 0;
      $("seg-range").textContent = `${from}–${this.segOffset + items.length} / ${int(this.segTotal)}件`;
      $("seg-prev").disabled = this.segOffset <= 0;
      $("seg-next").disabled = this.segOffset + items.length >= this.segTotal;
      this.renderMoveTargets();
    },

    renderMoveTargets() {
      const others = this.allThemes.filter((t) => t.theme_uid !== this.uid);
      for (const sel of document.querySelectorAll("#segs-body select.move-target")) {
        const prev = sel.value;
        clear(sel).append(h("option", { value: "" }, "移動先を選択…"));
        for (const t of others) sel.append(h("option", { value: t.theme_uid }, `${t.theme_uid} ${t.label}`));
        sel.value = prev;
      }
    },

    async move(seg, sel, btn) {
      const target = sel.value;
      if (!target) { toast("移動先のテーマを選んでください。Choose a theme.", "err"); sel.focus(); return; }
      const label = (this.allThemes.find((t) => t.theme_uid === target) || {}).label || target;
      const period = seg.period || this.period;
      const r = await act(btn, () => api(`/api/segments/${encodeURIComponent(period)}/${encodeURIComponent(seg.seg_id)}/move`,
        { method: "POST", body: { theme: target } }), (res) => {
        const n = res && Array.isArray(res.moved_segments) ? res.moved_segments.length : 1;
        return `セグメント ${seg.seg_id} を「${label}」(${target}) に移動しました` + (n > 1 ? `（同じ文書の ${n} セグメント）` : "");
      });
      if (r.ok) await this.reload();
    },

    async loadAudit() {
      const body = clear($("audit-body"));
      let items = [];
      try {
        const r = await api("/api/audit", { query: { theme: this.uid } });
        items = (r && r.items) || [];
      } catch (e) {
        body.append(h("tr", null, h("td", { colspan: 4, class: "empty-line" }, errText(e))));
        return;
      }
      items = items.slice().sort((a, b) => String(b.at || "").localeCompare(String(a.at || "")));
      for (const a of items) {
        const payload = payloadText(a.payload);
        body.append(h("tr", null,
          h("td", { class: "when" }, fmtDate(a.at)),
          h("td", null, a.user || "—"),
          h("td", null, h("span", { class: "action" }, ACTION_JA[a.action] ? `${ACTION_JA[a.action]} ${a.action}` : a.action || "—")),
          h("td", { class: "payload" }, payload || "")));
      }
      if (!items.length) body.append(h("tr", null, h("td", { colspan: 4, class: "empty-line" }, "変更はまだありません。No changes yet.")));
    },

    async search(btn) {
      const text = $("search-text").value.trim();
      if (!text) return;
      const list = clear($("search-results"));
      const r = await act(btn, () => api("/api/search", { method: "POST", body: { text, limit: 10, period: this.period || undefined } }));
      if (!r.ok) return;
      const items = (r.value && r.value.items) || [];
      this.searchItems = items;
      for (const it of items) {
        list.append(h("li", { "data-theme": it.theme_uid || "", "data-label": it.theme_label || "" },
          h("span", { class: "sim", title: "類似度 similarity" }, pct(it.similarity)), sentBadge(it.sentiment), it.text,
          h("span", { class: "meta" }, it.theme_uid
            ? h("a", { href: themeHref(it.theme_uid, it.period || this.period), class: "theme-link" }, it.theme_uid)
            : "—", " ", h("span", { class: "tlabel" }), it.period ? `・${it.period}` : "")));
      }
      if (!items.length) list.append(h("li", { class: "empty-line" }, "見つかりませんでした。No matches."));
      this.renderSearchLabels();
      toast(`${items.length}件の類似の声 similar segments`, "ok");
    },

    renderSearchLabels() {
      for (const li of document.querySelectorAll("#search-results li[data-theme]")) {
        const t = this.allThemes.find((x) => x.theme_uid === li.dataset.theme);
        const span = li.querySelector(".tlabel");
        if (span) span.textContent = t ? t.label : li.dataset.label || "";
      }
    },
  };

  function payloadText(p) {
    if (p === null || p === undefined) return "";
    if (typeof p !== "object") return String(p);
    const val = (v) => (Array.isArray(v) ? v.map(val).join(", ") : v && typeof v === "object" ? JSON.stringify(v) : String(v));
    return Object.entries(p).filter(([, v]) => v !== null && v !== undefined && v !== "")
      .map(([k, v]) => `${k}: ${val(v)}`).join("　");
  }

  function normMix(raw) {
    if (!raw) return [];
    let entries = [];
    if (Array.isArray(raw)) {
      entries = raw.map((r) => [r.key ?? r.name ?? r.stage ?? r.job ?? r.intent ?? r[0], num(r.share ?? r.value ?? r.n ?? r[1])]);
    } else if (typeof raw === "object") {
      entries = Object.entries(raw).map(([k, v]) => [k, num(v)]);
    }
    return entries.filter(([k, v]) => k !== undefined && Number.isFinite(v) && v > 0);
  }

  function splitChildren(res) {
    if (!res || typeof res !== "object") return [];
    const arr = res.themes || res.children || res.items || res.into_themes || [];
    if (!Array.isArray(arr)) return [];
    return arr.map((x) => (typeof x === "string" ? x : x && x.theme_uid)).filter(Boolean);
  }

  document.addEventListener("DOMContentLoaded", () => {
    start(document.body.dataset.page || "list").catch((e) => toast(errText(e), "err"));
  });
})();
