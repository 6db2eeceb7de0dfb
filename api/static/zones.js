// Zone editor: a camera's latest frame with every shop's frontage polygon drawn over it (an SVG in frame
// coordinates, so the polygons stay put whatever size the picture is shown at). Admins drag vertices (pointer
// events: mouse, pen and touch alike), insert one on an edge's midpoint handle, delete one, draw a new polygon or
// delete one; every edit is checked by the server's own rules (POST .../zones/check) and each problem is marked
// where it is. Saving makes a new version; older versions can be viewed, exported and imported as YAML.
// Operators see the same page read-only (the API refuses their edits anyway). Text goes in via textContent only.
"use strict";

I18N.add({
  "z.title": { zh: "区域编辑", en: "zone editor" },
  "z.signin": { zh: "登录", en: "Sign in" },
  "z.token": { zh: "API 令牌（管理员或操作员）", en: "API token (admin or operator)" },
  "z.open": { zh: "打开区域编辑", en: "Open the zone editor" },
  "z.token-hint": { zh: "令牌只保存在此标签页中。", en: "The token stays in this tab only (sessionStorage)." },
  "z.camera": { zh: "摄像头", en: "Camera" },
  "z.refresh": { zh: "刷新画面", en: "Refresh frame" },
  "z.readonly": { zh: "只读", en: "Read-only" },
  "z.reload": { zh: "重新加载", en: "Reload" },
  "z.restore": { zh: "以此为草稿", en: "Use as draft" },
  "z.back": { zh: "回到当前版本", en: "Back to the current version" },
  "z.draw": { zh: "绘制新多边形", en: "Draw new polygon" },
  "z.redraw": { zh: "重新绘制多边形", en: "Redraw polygon" },
  "z.done": { zh: "完成", en: "Done" },
  "z.cancel": { zh: "取消", en: "Cancel" },
  "z.delete-vertex": { zh: "删除顶点", en: "Delete point" },
  "z.delete-polygon": { zh: "删除多边形", en: "Delete polygon" },
  "z.undo": { zh: "撤销", en: "Undo" },
  "z.help": {
    zh: "拖动顶点移动；点击边中点的小圆圈插入顶点；选中顶点后按 Delete 删除。绘制时逐点点击，点第一个点或“完成”闭合。",
    en: "Drag a point to move it; tap an edge's small midpoint circle to add a point; select a point and press " +
      "Delete to remove it. To draw, tap point after point and close on the first point or with Done.",
  },
  "z.drawing-help": {
    zh: "正在为 {shop} 绘制：逐点点击画面，点第一个点或“完成”闭合（已 {n} 点）。",
    en: "Drawing for {shop}: tap the frame point by point; close on the first point or with Done ({n} so far).",
  },
  "z.shops": { zh: "商户", en: "Shops" },
  "z.no-shops": { zh: "此摄像头还没有责任区。", en: "No frontages on this camera yet." },
  "z.add-shop": { zh: "添加", en: "Add" },
  "z.add-shop-ph": { zh: "按名称或编号添加商户", en: "Add a shop by name or id" },
  "z.unknown-shop": { zh: "没有这个商户：{q}", en: "No such shop: {q}" },
  "z.polygons": { zh: "{n} 个多边形", en: "{n} polygon(s)" },
  "z.none-here": { zh: "无多边形", en: "no polygon" },
  "z.problems": { zh: "校验", en: "Check" },
  "z.checking": { zh: "正在校验…", en: "Checking…" },
  "z.check-ok": { zh: "没有问题。", en: "No problems." },
  "z.check-bad": { zh: "{n} 个问题，修正后才能保存：", en: "{n} problem(s); fix them before saving:" },
  "z.check-failed": { zh: "校验失败：{e}", en: "The check failed: {e}" },
  "z.unchanged": { zh: "（未修改）", en: "(unchanged)" },
  "z.save-title": { zh: "保存", en: "Save" },
  "z.note-ph": { zh: "修改说明（可选）", en: "What changed (optional)" },
  "z.save": { zh: "保存为新版本", en: "Save as a new version" },
  "z.saved": { zh: "已保存为第 {v} 版。", en: "Saved as version {v}." },
  "z.refused": { zh: "服务器拒绝保存：见校验中的问题。", en: "The server refused to save: see the problems under Check." },
  "z.conflict": {
    zh: "其他人已保存了新版本（第 {v} 版）。重新加载后再修改；你的修改将被丢弃。",
    en: "Someone else saved a newer version ({v}). Reload to edit it; your changes will be dropped.",
  },
  "z.versions": { zh: "版本", en: "Versions" },
  "z.who": { zh: "作者与时间", en: "Who, when" },
  "z.note": { zh: "备注", en: "Note" },
  "z.view": { zh: "查看", en: "View" },
  "z.current": { zh: "当前", en: "current" },
  "z.viewing": {
    zh: "正在查看第 {v} 版（{author}，{at}），只读。", en: "Viewing version {v} ({author}, {at}), read-only.",
  },
  "z.version": { zh: "第 {v} 版", en: "version {v}" },
  "z.no-version": { zh: "尚未保存过（来自配置）", en: "not saved yet (from the config)" },
  "z.export": { zh: "导出 YAML", en: "Export YAML" },
  "z.import": { zh: "导入 YAML", en: "Import YAML" },
  "z.imported": { zh: "已导入为第 {v} 版。", en: "Imported as version {v}." },
  "z.frame": { zh: "最新画面（{at}）· {w}×{h}", en: "Latest frame ({at}) · {w}×{h}" },
  "z.no-frame": {
    zh: "此摄像头还没有画面，在 {w}×{h} 的空白画面上编辑。", en: "No frame from this camera yet: editing on a blank {w}×{h} frame.",
  },
  "z.recording-frame": {
    zh: "录像第 {t} 秒的画面（未打码，查看已记入摄像头日志）· {w}×{h}",
    en: "Recording frame at {t} s (unredacted; this view is in the camera's ledger) · {w}×{h}",
  },
  "z.recording-at": { zh: "录像第（秒）", en: "Recording at (s)" },
  "z.recording": { zh: "录像画面", en: "Frame from recording" },
  "z.no-cameras": { zh: "没有摄像头。", en: "No cameras." },
  "z.staff-only": { zh: "此页面仅供管理员和操作员使用。", en: "This page is for admins and operators." },
  "z.discard": { zh: "放弃未保存的修改？", en: "Drop your unsaved changes?" },
  "z.min-points": { zh: "多边形至少需要 3 个点；可删除整个多边形。", en: "A polygon needs 3 points; delete the whole polygon instead." },
  "z.loading": { zh: "加载中…", en: "Loading…" },
  "z.bad-token": { zh: "令牌无效，请重新输入。", en: "That token was not accepted. Enter it again." },
  "p.self": { zh: "自相交", en: "Self-intersection" },
  "p.outside": { zh: "超出画面", en: "Outside the frame" },
  "p.overlap": { zh: "与其他商户的责任区重叠", en: "Overlaps another shop's frontage" },
  "p.points": { zh: "点数不足", en: "Too few points" },
  "p.area": { zh: "面积为零", en: "No area" },
  "p.shop": { zh: "未知商户", en: "Unknown shop" },
  "p.duplicate": { zh: "每个商户在一个摄像头上只能有一个多边形", en: "One polygon per shop and camera" },
  "p.other": { zh: "问题", en: "Problem" },
});

const NS = "http://www.w3.org/2000/svg";
const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#17becf", "#e377c2", "#bcbd22", "#8c564b",
  "#7f7f7f", "#393b79"];
const REASONS = [ // the server's reasons (English) -> a short label in the page's language
  [/self-intersect|ring self|invalid polygon/i, "p.self"], [/outside/i, "p.outside"],
  [/overlaps/i, "p.overlap"], [/at least 3|points?, got/i, "p.points"], [/degenerate|area/i, "p.area"],
  [/already has a frontage/i, "p.duplicate"], [/unknown shop/i, "p.shop"],
];

const S = {
  me: null, cameras: [], cam: null, width: 1280, height: 720,
  base: null, doc: null, savedJson: "[]", frontages: [], viewing: null,
  shops: [], colours: new Map(), names: new Map(),
  sel: { fi: null, vi: null }, shop: null, drawing: null, drag: null,
  undo: [], problems: [], check: "ok", checkError: "", checkSeq: 0, checkTimer: null,
  frameUrl: null, hasFrame: false, saving: false, versions: [],
};

const svg = () => $("overlay");
const canEdit = () => Boolean(S.me) && S.me.role === "admin" && !S.viewing;
const shown = () => (S.viewing ? S.viewing.frontages : S.frontages);
const json = (frontages) => JSON.stringify(frontages); // every field kept (allow_overlap too)
const dirty = () => json(S.frontages) !== S.savedJson;
const shopName = (id) => S.names.get(id) || id;

// fetch with the token that hands back the response whatever its status (the editor reads 404, 409 and 422
// bodies itself); a refused token signs out like everywhere else.
async function call(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    signOut(I18N.t("z.bad-token"));
    throw new Error("unauthorized");
  }
  return res;
}

async function detailOf(res) {
  try {
    const body = await res.json();
    if (typeof body.detail === "string") return body.detail;
    if (Array.isArray(body.detail)) return body.detail.map((d) => d.msg || d.reason || JSON.stringify(d)).join("; ");
    return JSON.stringify(body);
  } catch (_) {
    return res.statusText;
  }
}

async function getJson(path) {
  const res = await call(path);
  if (!res.ok) throw new Error(`${res.status}: ${await detailOf(res)}`);
  return res.json();
}

function colour(shopId) {
  if (!S.colours.has(shopId)) S.colours.set(shopId, PALETTE[S.colours.size % PALETTE.length]);
  return S.colours.get(shopId);
}

function el(tag, attrs = {}, parent = null) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (parent) parent.append(node);
  return node;
}

// ---- geometry in frame pixels ----

function toFrame(e) {
  const pt = svg().createSVGPoint();
  pt.x = e.clientX;
  pt.y = e.clientY;
  const p = pt.matrixTransform(svg().getScreenCTM().inverse());
  return [clampX(Math.round(p.x)), clampY(Math.round(p.y))];
}
const clampX = (x) => Math.min(S.width, Math.max(0, x));
const clampY = (y) => Math.min(S.height, Math.max(0, y));
const pxPerScreen = () => S.width / Math.max(1, svg().getBoundingClientRect().width);
const coarse = () => window.matchMedia("(pointer: coarse)").matches;

function centroid(poly) {
  const n = poly.length;
  return [poly.reduce((a, p) => a + p[0], 0) / n, poly.reduce((a, p) => a + p[1], 0) / n];
}

// ---- the overlay ----

let frameRequested = false;
function render() {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => { frameRequested = false; draw(); });
}

function draw() {
  const root = svg();
  const k = pxPerScreen();
  const r = (coarse() ? 12 : 7) * k;
  root.setAttribute("viewBox", `0 0 ${S.width} ${S.height}`);
  root.classList.toggle("editing", canEdit());
  root.classList.toggle("drawing", Boolean(S.drawing));
  root.replaceChildren();
  el("rect", { x: 0, y: 0, width: S.width, height: S.height, class: S.hasFrame ? "bg" : "bg blank" }, root);
  const bad = badFrontages();
  const list = shown();
  list.forEach((f, fi) => {
    const c = colour(f.shop_id);
    const selected = !S.viewing && fi === S.sel.fi;
    const poly = el("polygon", {
      points: f.polygon.map((p) => p.join(",")).join(" "), fill: c, stroke: bad.has(fi) ? "#e00000" : c,
      class: `zone${selected ? " selected" : ""}${bad.has(fi) ? " bad" : ""}`, "data-fi": fi,
      "data-shop-id": f.shop_id,
    }, root);
    el("title", {}, poly).textContent = shopName(f.shop_id);
  });
  list.forEach((f) => { // labels above every polygon
    const [cx, cy] = centroid(f.polygon);
    const t = el("text", { x: cx, y: cy, "font-size": 14 * k, class: "label", "stroke-width": 3 * k }, root);
    t.textContent = shopName(f.shop_id);
  });
  if (!S.viewing && S.sel.fi !== null && S.frontages[S.sel.fi] && canEdit()) handles(root, S.sel.fi, r);
  if (S.drawing) drawingPath(root, r);
  for (const p of S.viewing ? [] : S.problems) {
    if (!Array.isArray(p.point)) continue;
    const g = el("g", { class: "problem-mark" }, root);
    el("circle", { cx: p.point[0], cy: p.point[1], r: r * 1.3 }, g);
    const d = r * 0.7;
    el("path", { d: `M${p.point[0] - d} ${p.point[1] - d}L${p.point[0] + d} ${p.point[1] + d}` +
      `M${p.point[0] - d} ${p.point[1] + d}L${p.point[0] + d} ${p.point[1] - d}` }, g);
    el("title", {}, g).textContent = p.reason;
  }
}

function handles(root, fi, r) {
  const poly = S.frontages[fi].polygon;
  poly.forEach((p, i) => { // midpoint handles first, so vertices lie on top
    const q = poly[(i + 1) % poly.length];
    el("circle", { cx: (p[0] + q[0]) / 2, cy: (p[1] + q[1]) / 2, r: r * 0.65, class: "mid", "data-mi": i }, root);
  });
  poly.forEach((p, i) => {
    el("circle", { cx: p[0], cy: p[1], r, class: `vertex${i === S.sel.vi ? " chosen" : ""}`, "data-vi": i }, root);
  });
}

function drawingPath(root, r) {
  const pts = S.drawing.points;
  const c = colour(S.drawing.shop_id);
  el("polyline", { points: pts.map((p) => p.join(",")).join(" "), stroke: c, class: "drawing-line" }, root);
  pts.forEach((p, i) => {
    el("circle", { cx: p[0], cy: p[1], r: i === 0 ? r * 1.2 : r * 0.8, class: i === 0 ? "vertex first" : "vertex",
      "data-draw": i }, root);
  });
}

// which frontages a problem names: by its index when that is the shop's polygon, else every polygon of the shop
function badFrontages() {
  const out = new Set();
  if (S.viewing) return out;
  for (const p of S.problems) {
    const f = S.frontages[p.index];
    if (Number.isInteger(p.index) && f && f.shop_id === p.shop_id) out.add(p.index);
    else S.frontages.forEach((g, i) => { if (g.shop_id === p.shop_id) out.add(i); });
  }
  return out;
}

// ---- editing ----

function pushUndo() {
  S.undo.push(json(S.frontages));
  if (S.undo.length > 100) S.undo.shift();
}

function changed() {
  S.conflict = null;
  refreshControls();
  render();
  scheduleCheck();
}

function selectFrontage(fi, vi = null) {
  S.sel = { fi, vi };
  if (fi !== null && shown()[fi]) S.shop = shown()[fi].shop_id;
  refreshControls();
  render();
}

function onPointerDown(e) {
  if (e.button !== undefined && e.button > 0) return;
  const t = e.target;
  if (S.drawing) {
    e.preventDefault();
    if (t.dataset.draw === "0" && S.drawing.points.length >= 3) finishDrawing();
    else if (t.dataset.draw === undefined) {
      S.drawing.points.push(toFrame(e));
      drawingHelp();
      render();
    }
    return;
  }
  if (t.dataset.vi !== undefined && canEdit()) {
    e.preventDefault();
    pushUndo();
    S.sel.vi = Number(t.dataset.vi);
    startDrag(e, { kind: "vertex", fi: S.sel.fi, vi: S.sel.vi, moved: false });
  } else if (t.dataset.mi !== undefined && canEdit()) {
    e.preventDefault();
    pushUndo();
    const poly = S.frontages[S.sel.fi].polygon;
    const i = Number(t.dataset.mi);
    const q = poly[(i + 1) % poly.length];
    poly.splice(i + 1, 0, [Math.round((poly[i][0] + q[0]) / 2), Math.round((poly[i][1] + q[1]) / 2)]);
    S.sel.vi = i + 1;
    startDrag(e, { kind: "vertex", fi: S.sel.fi, vi: i + 1, moved: true }); // an insert is a change already
    changed();
  } else if (t.dataset.fi !== undefined) {
    const fi = Number(t.dataset.fi);
    selectFrontage(fi);
    if (canEdit()) {
      e.preventDefault();
      pushUndo();
      startDrag(e, { kind: "move", fi, from: toFrame(e), orig: S.frontages[fi].polygon.map((p) => [...p]),
        moved: false });
    }
  } else {
    selectFrontage(null);
  }
}

function startDrag(e, drag) {
  S.drag = { ...drag, pointer: e.pointerId };
  svg().setPointerCapture(e.pointerId); // on the svg, which outlives the handles each render replaces
  render();
}

function onPointerMove(e) {
  const d = S.drag;
  if (!d || e.pointerId !== d.pointer) return;
  e.preventDefault();
  const [x, y] = toFrame(e);
  const poly = S.frontages[d.fi].polygon;
  if (d.kind === "vertex") {
    if (poly[d.vi][0] === x && poly[d.vi][1] === y) return;
    poly[d.vi] = [x, y];
  } else {
    const xs = d.orig.map((p) => p[0]);
    const ys = d.orig.map((p) => p[1]); // the whole polygon stays inside the frame
    const dx = Math.min(S.width - Math.max(...xs), Math.max(-Math.min(...xs), x - d.from[0]));
    const dy = Math.min(S.height - Math.max(...ys), Math.max(-Math.min(...ys), y - d.from[1]));
    if (!dx && !dy && !d.moved) return;
    S.frontages[d.fi].polygon = d.orig.map((p) => [p[0] + dx, p[1] + dy]);
  }
  d.moved = true;
  render();
}

function onPointerUp(e) {
  const d = S.drag;
  if (!d || e.pointerId !== d.pointer) return;
  S.drag = null;
  if (svg().hasPointerCapture(e.pointerId)) svg().releasePointerCapture(e.pointerId);
  if (!d.moved) {
    S.undo.pop(); // a tap only selected
    refreshControls();
    render();
    return;
  }
  changed();
}

function deleteVertex() {
  const { fi, vi } = S.sel;
  if (!canEdit() || fi === null || vi === null) return;
  const poly = S.frontages[fi].polygon;
  if (poly.length <= 3) {
    say(I18N.t("z.min-points"), true);
    return;
  }
  pushUndo();
  poly.splice(vi, 1);
  S.sel.vi = null;
  changed();
}

function deletePolygon() {
  if (!canEdit() || S.sel.fi === null) return;
  pushUndo();
  S.frontages.splice(S.sel.fi, 1);
  S.sel = { fi: null, vi: null };
  changed();
}

function undo() {
  if (!canEdit() || !S.undo.length) return;
  S.frontages = JSON.parse(S.undo.pop());
  S.sel = { fi: null, vi: null };
  changed();
}

function startDrawing() {
  if (!canEdit() || !S.shop) return;
  S.drawing = { shop_id: S.shop, points: [] };
  S.sel = { fi: null, vi: null };
  drawingHelp();
  refreshControls();
  render();
}

function drawingHelp() {
  $("help").textContent = S.drawing
    ? I18N.t("z.drawing-help", { shop: shopName(S.drawing.shop_id), n: S.drawing.points.length })
    : I18N.t("z.help");
}

function finishDrawing() {
  const d = S.drawing;
  if (!d || d.points.length < 3) return;
  pushUndo();
  let fi = S.frontages.findIndex((f) => f.shop_id === d.shop_id); // one polygon per shop and camera: replace it
  if (fi >= 0) S.frontages[fi] = { ...S.frontages[fi], polygon: d.points };
  else fi = S.frontages.push({ shop_id: d.shop_id, polygon: d.points }) - 1;
  S.drawing = null;
  S.sel = { fi, vi: null };
  drawingHelp();
  changed();
}

function cancelDrawing() {
  S.drawing = null;
  drawingHelp();
  refreshControls();
  render();
}

// ---- live validation ----

function scheduleCheck() {
  clearTimeout(S.checkTimer);
  S.checkSeq += 1;
  S.check = "pending";
  refreshControls();
  S.checkTimer = setTimeout(() => runCheck().catch((e) => {
    if (e.message !== "unauthorized") { S.check = "failed"; S.checkError = e.message; refreshControls(); }
  }), 250);
}

async function runCheck() {
  const seq = S.checkSeq;
  const res = await call(`/cameras/${encodeURIComponent(S.cam)}/zones/check`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ frontages: JSON.parse(json(S.frontages)) }),
  });
  if (seq !== S.checkSeq) return; // a newer edit is being checked
  if (!res.ok) throw new Error(`${res.status}: ${await detailOf(res)}`);
  const body = await res.json();
  S.problems = body.problems || [];
  S.check = body.ok && !S.problems.length ? "ok" : "bad";
  refreshControls();
  render();
}

// The problems of a 422 in FastAPI's shape, as the check gives them: loc ["body", "frontages", entry, "polygon",
// vertex] names the entry; msg is "shop 'id', where: reason (at x, y)".
async function problemsOf(res) {
  let body = {};
  try { body = await res.json(); } catch (_) { /* not JSON */ }
  if (!Array.isArray(body.detail)) {
    return [{ shop_id: "", index: null, reason: typeof body.detail === "string" ? body.detail : res.statusText, point: null }];
  }
  return body.detail.map((d) => {
    const loc = d.loc || [];
    const msg = String(d.msg || "");
    const shop = /^shop '([^']*)'/.exec(msg);
    const at = /\(at (-?[\d.e+-]+), (-?[\d.e+-]+)\)$/.exec(msg);
    return {
      shop_id: shop ? shop[1] : "", index: loc[1] === "frontages" && Number.isInteger(loc[2]) ? loc[2] : null,
      reason: msg.replace(/^shop '[^']*', /, ""), point: at ? [Number(at[1]), Number(at[2])] : null,
    };
  });
}

function reasonLabel(reason) {
  const hit = REASONS.find(([re]) => re.test(reason || ""));
  return I18N.t(hit ? hit[1] : "p.other");
}

function renderProblems() {
  const list = $("problems");
  list.replaceChildren();
  const state = $("check-state");
  state.className = "hint";
  if (S.viewing) {
    state.textContent = "";
    return;
  }
  if (S.check === "pending") state.textContent = I18N.t("z.checking");
  else if (S.check === "failed") {
    state.textContent = I18N.t("z.check-failed", { e: S.checkError });
    state.className = "hint error";
  } else if (!S.problems.length) state.textContent = I18N.t("z.check-ok") + (dirty() ? "" : ` ${I18N.t("z.unchanged")}`);
  else {
    state.textContent = I18N.t("z.check-bad", { n: S.problems.length });
    state.className = "hint error";
  }
  for (const p of S.problems) {
    const li = document.createElement("li");
    li.className = "problem";
    li.dataset.shopId = p.shop_id;
    const b = document.createElement("b");
    b.textContent = `${reasonLabel(p.reason)} · ${shopName(p.shop_id)}`;
    const span = document.createElement("span");
    span.textContent = p.point ? `${p.reason} (${Math.round(p.point[0])}, ${Math.round(p.point[1])})` : p.reason;
    li.append(b, span);
    li.addEventListener("click", () => {
      const fi = Number.isInteger(p.index) && S.frontages[p.index] ? p.index
        : S.frontages.findIndex((f) => f.shop_id === p.shop_id);
      if (fi >= 0) selectFrontage(fi);
    });
    list.append(li);
  }
}

// ---- the panel ----

function refreshControls() {
  const edit = canEdit();
  for (const node of document.querySelectorAll(".edit-only")) node.hidden = !(S.me && S.me.role === "admin");
  $("readonly-badge").hidden = edit;
  $("edit-tools").hidden = !edit;
  $("help").hidden = !edit;
  $("draw").hidden = Boolean(S.drawing);
  $("draw").disabled = !S.shop;
  $("draw").textContent = I18N.t(S.frontages.some((f) => f.shop_id === S.shop) ? "z.redraw" : "z.draw");
  $("draw-done").hidden = !S.drawing;
  $("draw-done").disabled = !S.drawing || S.drawing.points.length < 3;
  $("draw-cancel").hidden = !S.drawing;
  $("delete-vertex").disabled = S.sel.fi === null || S.sel.vi === null || Boolean(S.drawing);
  $("delete-polygon").disabled = S.sel.fi === null || Boolean(S.drawing);
  $("undo").disabled = !S.undo.length || Boolean(S.drawing);
  $("save").disabled = !edit || S.saving || Boolean(S.drawing) || !dirty() || S.check !== "ok";
  $("import").disabled = !edit;
  renderShops();
  renderProblems();
  renderVersionLabel();
}

function renderShops() {
  const ids = [...new Set([...shown().map((f) => f.shop_id), ...S.shops])];
  const list = $("shops");
  list.replaceChildren();
  if (!ids.length) {
    const li = document.createElement("li");
    li.className = "hint";
    li.textContent = I18N.t("z.no-shops");
    list.append(li);
  }
  for (const id of ids) {
    const n = shown().filter((f) => f.shop_id === id).length;
    const li = document.createElement("li");
    li.dataset.shopId = id;
    li.tabIndex = 0;
    if (id === S.shop) li.classList.add("selected");
    if (S.problems.some((p) => p.shop_id === id) && !S.viewing) li.classList.add("bad");
    const sw = document.createElement("span");
    sw.className = "swatch";
    sw.style.background = colour(id); // CSSOM, which the CSP allows (no inline style attribute)
    const name = document.createElement("span");
    name.className = "name";
    name.textContent = shopName(id);
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = `${id} · ${n ? I18N.t("z.polygons", { n }) : I18N.t("z.none-here")}`;
    li.append(sw, name, meta);
    const pick = () => {
      S.shop = id;
      const fi = shown().findIndex((f) => f.shop_id === id);
      selectFrontage(fi >= 0 ? fi : null);
    };
    li.addEventListener("click", pick);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") pick(); });
    list.append(li);
  }
}

function renderVersionLabel() {
  const v = S.viewing ? S.viewing.version : S.base;
  $("version-label").textContent = v ? I18N.t("z.version", { v }) : I18N.t("z.no-version");
  $("viewing").hidden = !S.viewing;
  if (S.viewing) {
    $("viewing-text").textContent = I18N.t("z.viewing", {
      v: S.viewing.version, author: S.viewing.author || "—", at: I18N.fmtTime(S.viewing.at),
    });
  }
  $("conflict").hidden = !S.conflict;
  if (S.conflict) $("conflict-text").textContent = I18N.t("z.conflict", { v: S.conflict });
  const frame = S.recordingT != null ? "z.recording-frame" : S.hasFrame ? "z.frame" : "z.no-frame";
  $("frame-note").textContent = I18N.t(frame, {
    w: S.width, h: S.height, at: I18N.fmtTime(S.frameAt), t: S.recordingT,
  });
}

function renderVersions() {
  const body = $("versions").tBodies[0];
  body.replaceChildren();
  for (const v of S.versions) {
    const row = body.insertRow();
    row.dataset.version = v.version;
    if (v.version === (S.viewing ? S.viewing.version : S.base)) row.classList.add("selected");
    row.insertCell().textContent = String(v.version);
    const who = row.insertCell();
    const when = document.createElement("small");
    when.textContent = I18N.fmtTime(v.at);
    who.append(v.author || "—", document.createElement("br"), when);
    row.insertCell().textContent = v.note || "";
    const cell = row.insertCell();
    if (v.version === S.base) {
      cell.textContent = I18N.t("z.current");
      cell.className = "hint";
    } else {
      const btn = document.createElement("button");
      btn.type = "button";
      btn.className = "view";
      btn.textContent = I18N.t("z.view");
      btn.addEventListener("click", () => viewVersion(v.version).catch(fail));
      cell.append(btn);
    }
  }
}

// ---- loading, saving, versions, YAML ----

async function loadNames(ids) {
  const missing = ids.filter((id) => !S.names.has(id));
  await Promise.all(missing.map(async (id) => {
    const res = await call(`/shops/${encodeURIComponent(id)}`);
    S.names.set(id, res.ok ? (await res.json()).name : id);
  }));
}

async function loadFrame() {
  if (S.frameUrl) URL.revokeObjectURL(S.frameUrl);
  S.frameUrl = null;
  const res = await call(`/cameras/${encodeURIComponent(S.cam)}/snapshot.jpg`);
  await showFrame(res, null);
}

// A frame from the camera's recording, t seconds in (the server logs each view: it is unredacted). Refused (a
// live stream, no file, past its end): the reason shows and the frame on screen stays.
async function loadRecordingFrame(t) {
  const res = await call(`/cameras/${encodeURIComponent(S.cam)}/recording-frame.jpg?t=${encodeURIComponent(t)}`);
  if (!res.ok) {
    say(await detailOf(res), true);
    return;
  }
  if (S.frameUrl) URL.revokeObjectURL(S.frameUrl);
  S.frameUrl = null;
  await showFrame(res, res.headers.get("X-Frame-Time"));
  say("");
}

async function showFrame(res, recordingT) {
  S.hasFrame = res.ok;
  S.recordingT = recordingT;
  S.frameAt = res.ok ? res.headers.get("X-Captured-At") : null;
  if (res.ok) {
    S.frameUrl = URL.createObjectURL(await res.blob());
    $("frame").src = S.frameUrl;
  } else {
    $("frame").removeAttribute("src");
  }
  $("frame").hidden = !res.ok;
}

function sizeStage() {
  const stage = $("stage");
  stage.style.aspectRatio = `${S.width} / ${S.height}`;
  stage.style.maxWidth = `calc((100vh - 9rem) * ${S.width / S.height})`;
}

async function loadCamera(camId) {
  S.cam = camId;
  say(I18N.t("z.loading"));
  const doc = await getJson(`/cameras/${encodeURIComponent(camId)}/zones`);
  S.doc = doc;
  S.base = doc.version;
  S.width = doc.width;
  S.height = doc.height;
  S.frontages = JSON.parse(json(doc.frontages));
  S.savedJson = json(doc.frontages);
  S.viewing = null;
  S.conflict = null;
  S.undo = [];
  S.sel = { fi: null, vi: null };
  S.drawing = null;
  S.problems = [];
  S.check = "ok";
  S.shops = [];
  S.shop = S.frontages.length ? S.frontages[0].shop_id : null;
  S.colours = new Map();
  sizeStage();
  await Promise.all([loadNames(S.frontages.map((f) => f.shop_id)), loadFrame(), loadVersions()]);
  history.replaceState(null, "", `#camera=${encodeURIComponent(camId)}`);
  drawingHelp();
  refreshControls();
  render();
  say("");
  if (S.frontages.length && canEdit()) scheduleCheck(); // a config's polygons may be wrong already: say so
}

async function loadVersions() {
  S.versions = await getJson(`/cameras/${encodeURIComponent(S.cam)}/zones/versions`);
  S.versions.sort((a, b) => b.version - a.version);
  renderVersions();
}

async function viewVersion(version) {
  const doc = await getJson(`/cameras/${encodeURIComponent(S.cam)}/zones/${version}`);
  await loadNames(doc.frontages.map((f) => f.shop_id));
  S.viewing = doc;
  S.drawing = null;
  S.sel = { fi: null, vi: null };
  renderVersions();
  refreshControls();
  render();
}

function backToCurrent() {
  S.viewing = null;
  renderVersions();
  refreshControls();
  render();
}

function restoreViewed() {
  if (!S.viewing) return;
  const frontages = JSON.parse(json(S.viewing.frontages));
  S.viewing = null;
  pushUndo();
  S.frontages = frontages;
  renderVersions();
  changed();
}

async function save() {
  if ($("save").disabled) return;
  S.saving = true;
  refreshControls();
  try {
    const res = await call(`/cameras/${encodeURIComponent(S.cam)}/zones`, {
      method: "PUT", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ frontages: JSON.parse(json(S.frontages)), note: $("note").value.trim(), base_version: S.base }),
    });
    if (await refused(res)) return;
    const doc = await res.json();
    $("note").value = "";
    const shop = S.shop;
    await loadCamera(S.cam);
    S.shop = shop;
    refreshControls();
    say(I18N.t("z.saved", { v: doc.version ?? S.base }));
  } finally {
    S.saving = false;
    refreshControls();
    render();
  }
}

// A save or an import the server did not take: its problems shown where they are (422), or someone else's save
// (409); true when so. Any other failure throws with its reason.
async function refused(res) {
  if (res.status === 422) {
    S.problems = await problemsOf(res);
    S.check = "bad";
    say(I18N.t("z.refused"), true);
    return true;
  }
  if (res.status === 409) {
    await conflict(res);
    return true;
  }
  if (!res.ok) throw new Error(`${res.status}: ${await detailOf(res)}`);
  return false;
}

// someone else saved first: say so, with the newest version, and offer a reload (the edits stay until then)
async function conflict(res) {
  const detail = await detailOf(res);
  await loadVersions().catch(() => {});
  S.conflict = S.versions.length ? S.versions[0].version : "?";
  refreshControls();
  say(detail, true);
}

async function exportYaml() {
  const version = S.viewing ? S.viewing.version : S.base;
  const query = version ? `?version=${version}` : "";
  const res = await call(`/cameras/${encodeURIComponent(S.cam)}/zones.yaml${query}`);
  if (!res.ok) throw new Error(`${res.status}: ${await detailOf(res)}`);
  saveBlob(await res.blob(), `zones-${S.cam}-v${version || 0}.yaml`);
}

async function importYaml(file) {
  const text = await file.text();
  const query = new URLSearchParams({ note: $("note").value.trim() });
  if (S.base) query.set("base_version", String(S.base));
  const res = await call(`/cameras/${encodeURIComponent(S.cam)}/zones.yaml?${query}`, {
    method: "POST", headers: { "Content-Type": "application/yaml" }, body: text,
  });
  if (await refused(res)) {
    refreshControls();
    render();
    return;
  }
  const doc = await res.json();
  $("note").value = "";
  await loadCamera(S.cam);
  say(I18N.t("z.imported", { v: doc.version ?? S.base }));
}

let searchTimer = null;
function searchShops() {
  clearTimeout(searchTimer);
  searchTimer = setTimeout(async () => {
    const q = $("add-shop-q").value.trim();
    if (!q) return;
    const page = await getJson(`/shops?q=${encodeURIComponent(q)}&limit=20`);
    const options = $("add-shop-options");
    options.replaceChildren(...page.items.map((s) => {
      S.names.set(s.id, s.name);
      const o = document.createElement("option");
      o.value = s.id;
      o.textContent = s.name;
      return o;
    }));
  }, 200);
}

async function addShop() {
  const q = $("add-shop-q").value.trim();
  if (!q) return;
  const page = await getJson(`/shops?q=${encodeURIComponent(q)}&limit=20`); // the id, else the name, else the first
  const shop = page.items.find((s) => s.id === q) || page.items.find((s) => s.name === q) || page.items[0];
  if (!shop) {
    say(I18N.t("z.unknown-shop", { q }), true);
    return;
  }
  S.names.set(shop.id, shop.name);
  if (!S.shops.includes(shop.id)) S.shops.push(shop.id);
  S.shop = shop.id;
  $("add-shop-q").value = "";
  say("");
  startDrawing();
}

// ---- the page ----

function fail(e) {
  if (e.message !== "unauthorized") say(e.message, true);
}

function signOut(message) {
  S.me = null;
  if (S.frameUrl) URL.revokeObjectURL(S.frameUrl);
  S.frameUrl = null;
  showSignIn(message, "zones");
}

async function start() {
  try {
    S.me = await openSession();
    if (!["admin", "operator"].includes(S.me.role)) {
      say(I18N.t("z.staff-only"), true);
      return;
    }
    S.cameras = await getJson("/cameras");
    const select = $("camera");
    select.replaceChildren(...S.cameras.map((c) => {
      const o = document.createElement("option");
      o.value = c.id;
      o.textContent = c.name ? `${c.name} (${c.id})` : c.id;
      return o;
    }));
    $("zones").hidden = false;
    if (!S.cameras.length) {
      say(I18N.t("z.no-cameras"));
      return;
    }
    const asked = new URLSearchParams(location.hash.slice(1)).get("camera");
    const first = S.cameras.some((c) => c.id === asked) ? asked : S.cameras[0].id;
    select.value = first;
    await loadCamera(first);
  } catch (e) {
    fail(e);
  }
}

function onKey(e) {
  if (!canEdit() || ["INPUT", "TEXTAREA", "SELECT"].includes(document.activeElement.tagName)) return;
  if ((e.key === "Delete" || e.key === "Backspace") && S.sel.vi !== null) {
    e.preventDefault();
    deleteVertex();
  } else if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
    e.preventDefault();
    undo();
  } else if (e.key === "Escape") {
    if (S.drawing) cancelDrawing(); else selectFrontage(null);
  } else if (e.key === "Enter" && S.drawing) {
    finishDrawing();
  }
}

function wire() {
  I18N.apply();
  renderNav("zones");
  I18N.mountSwitch($("lang"));
  drawingHelp();
  wireSignIn(start);
  const o = svg();
  o.addEventListener("pointerdown", onPointerDown);
  o.addEventListener("pointermove", onPointerMove);
  o.addEventListener("pointerup", onPointerUp);
  o.addEventListener("pointercancel", onPointerUp);
  document.addEventListener("keydown", onKey);
  window.addEventListener("resize", render);
  $("camera").addEventListener("change", (e) => {
    if (dirty() && !window.confirm(I18N.t("z.discard"))) {
      e.target.value = S.cam;
      return;
    }
    loadCamera(e.target.value).catch(fail);
  });
  $("recording-form").addEventListener("submit", (e) => {
    e.preventDefault();
    loadRecordingFrame($("recording-t").value || "0").then(() => { refreshControls(); render(); }).catch(fail);
  });
  $("refresh-frame").addEventListener("click", () => loadFrame().then(() => { refreshControls(); render(); }).catch(fail));
  $("draw").addEventListener("click", startDrawing);
  $("draw-done").addEventListener("click", finishDrawing);
  $("draw-cancel").addEventListener("click", cancelDrawing);
  $("delete-vertex").addEventListener("click", deleteVertex);
  $("delete-polygon").addEventListener("click", deletePolygon);
  $("undo").addEventListener("click", undo);
  $("save-form").addEventListener("submit", (e) => { e.preventDefault(); save().catch(fail); });
  $("conflict-reload").addEventListener("click", () => loadCamera(S.cam).catch(fail));
  $("viewing-back").addEventListener("click", backToCurrent);
  $("viewing-restore").addEventListener("click", restoreViewed);
  $("export").addEventListener("click", () => exportYaml().catch(fail));
  $("import").addEventListener("change", (e) => {
    const file = e.target.files[0];
    e.target.value = "";
    if (file) importYaml(file).catch(fail);
  });
  $("add-shop-q").addEventListener("input", () => searchShops());
  $("add-shop").addEventListener("submit", (e) => { e.preventDefault(); addShop().catch(fail); });
  document.addEventListener("langchange", () => {
    drawingHelp();
    if (S.me) { refreshControls(); renderVersions(); render(); }
  });
  window.addEventListener("beforeunload", (e) => { if (S.me && dirty()) e.preventDefault(); });
  if (token()) start(); else signOut();
}

wire();
