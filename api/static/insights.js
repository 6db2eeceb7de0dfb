// Statistics and the per-camera heat map, for operators and admins. The numbers come from GET /insights/summary
// (confirmed cases, counted on the local day they opened, in the deployment's timezone); the charts are uPlot's
// (vendored), stacked bars drawn from running totals. The heat map adds a gaussian splat for every case's ground
// point (bottom-centre of its box) on a small grid, colours it through a ramp and lays it over the camera's
// latest frame, else the evidence of the camera's newest case, else a plain frame.
// All text goes in via textContent, never innerHTML.
"use strict";

I18N.add({
  "ins.title": { zh: "统计与热力图", en: "Statistics and heat map" },
  "ins.signin": { zh: "登录", en: "Sign in" },
  "ins.token": { zh: "API 令牌（管理员或值班员）", en: "API token (operator or admin)" },
  "ins.open": { zh: "打开统计", en: "Open the statistics" },
  "ins.token-hint": { zh: "令牌只保存在本标签页（sessionStorage）。", en: "The token stays in this tab only (sessionStorage)." },
  "ins.range": { zh: "时段", en: "Period" },
  "ins.range7": { zh: "最近 7 天", en: "Last 7 days" },
  "ins.range30": { zh: "最近 30 天", en: "Last 30 days" },
  "ins.range90": { zh: "最近 90 天", en: "Last 90 days" },
  "ins.custom": { zh: "自定义", en: "Custom" },
  "ins.from": { zh: "起（含）", en: "From (incl.)" },
  "ins.to": { zh: "止（含）", en: "To (incl.)" },
  "ins.street": { zh: "街道", en: "Street" },
  "ins.camera": { zh: "摄像头", en: "Camera" },
  "ins.shop": { zh: "商户编号", en: "Shop id" },
  "ins.all": { zh: "全部", en: "All" },
  "ins.apply": { zh: "查询", en: "Show" },
  "ins.csv": { zh: "导出 CSV", en: "Download CSV" },
  "ins.tz": { zh: "日期按部署时区 {tz} 的零点划分。只计确认案件（未撤销）。", en: "Days run from midnight in the deployment's timezone, {tz}. Only confirmed cases count (not dismissed)." },
  "ins.confirmed": { zh: "确认案件", en: "Confirmed cases" },
  "ins.opened": { zh: "立案共 {n} 宗", en: "{n} opened in all" },
  "ins.share": { zh: "升级前整改率", en: "Fixed before escalation" },
  "ins.share-note": { zh: "升级前已整改 / 确认案件", en: "resolved before escalation / confirmed" },
  "ins.median": { zh: "整改用时中位数", en: "Time to fix, median" },
  "ins.fix-note": { zh: "整改完成时间减去立案时间", en: "resolution time minus opening time" },
  "ins.p90": { zh: "整改用时 P90", en: "Time to fix, 90th percentile" },
  "ins.fixes": { zh: "共 {n} 宗已整改", en: "over {n} fixed cases" },
  "ins.escalated": { zh: "上报城管", en: "Escalated to the city" },
  "ins.dismissed": { zh: "撤销 {n} 宗", en: "{n} dismissed" },
  "ins.by-kind": { zh: "每日案件（按类型）", en: "Cases per day, by kind" },
  "ins.by-source": { zh: "每日案件（按来源）", en: "Cases per day, by source" },
  "ins.no-cases": { zh: "该时段没有确认案件。", en: "No confirmed cases in this period." },
  "ins.day": { zh: "日期", en: "Day" },
  "ins.top-shops": { zh: "案件最多的商户", en: "Shops with the most cases" },
  "ins.top-cameras": { zh: "案件最多的摄像头", en: "Cameras with the most cases" },
  "ins.shop-col": { zh: "商户", en: "Shop" },
  "ins.cases": { zh: "案件", en: "Cases" },
  "ins.see-cases": { zh: "查看案件", en: "See cases" },
  "ins.see-heat": { zh: "热力图", en: "Heat map" },
  "ins.none": { zh: "无", en: "None" },
  "ins.heat": { zh: "摄像头热力图", en: "Camera heat map" },
  "ins.kind": { zh: "类型", en: "Kind" },
  "ins.dots": { zh: "显示案件点", en: "Show the cases" },
  "ins.fewer": { zh: "少", en: "fewer" },
  "ins.more": { zh: "多", en: "more" },
  "ins.heat-count": { zh: "{n} 宗案件", en: "{n} cases" },
  "ins.heat-note": { zh: "每个点是一宗案件的物体在画面中的落地点（检测框底边中点）。已撤销的案件不计。", en: "Each point is where a case's object stood in the frame (the bottom-centre of its box). Dismissed cases are left out." },
  "ins.bg-camera": { zh: "背景：摄像头最新画面", en: "Background: the camera's latest frame" },
  "ins.bg-case": { zh: "背景：案件 #{id} 的证据快照", en: "Background: the evidence of case #{id}" },
  "ins.bg-none": { zh: "没有可用画面：只画出位置", en: "No picture available: positions only" },
  "ins.no-camera": { zh: "没有摄像头", en: "No cameras" },
  "ins.staff-only": { zh: "此页面仅供值班员和管理员使用。", en: "This page is for operators and admins." },
  "ins.bad-period": { zh: "结束日期不能早于开始日期。", en: "The last day cannot be before the first." },
  "ins.sec": { zh: "{n} 秒", en: "{n} s" },
  "ins.min": { zh: "{n} 分钟", en: "{n} min" },
  "ins.hour": { zh: "{n} 小时", en: "{n} h" },
  "ins.days": { zh: "{n} 天", en: "{n} days" },
  "kind.illegal_parking": { zh: "违停", en: "Illegal parking" },
  "kind.out_of_store_trading": { zh: "店外经营", en: "Out-of-store trading" },
  "kind.piled_materials": { zh: "堆物堆料", en: "Piled materials" },
  "kind.litter": { zh: "垃圾", en: "Litter" },
  "kind.other": { zh: "其他", en: "Other" },
  "kind.inspection_failed": { zh: "巡查不合格", en: "Failed inspection" },
  "source.camera": { zh: "摄像头", en: "Camera" },
  "source.citizen": { zh: "市民举报", en: "Citizen report" },
  "source.inspector": { zh: "巡查", en: "Inspector" },
});

const COLORS = {
  illegal_parking: "#1f6feb", out_of_store_trading: "#e8710a", piled_materials: "#8e24aa", litter: "#2e7d32",
  other: "#757575", inspection_failed: "#c62828", camera: "#1f6feb", citizen: "#e8710a", inspector: "#2e7d32",
};
const RAMP = [[0, 40, 60, 255], [0.3, 0, 200, 255], [0.55, 40, 220, 40], [0.8, 255, 215, 0], [1, 230, 20, 20]];
const CHART_HEIGHT = 240;
const GRID = 4; // heat grid cell, in frame pixels

let me = null;
let summary = null;
let heat = null;
let heatBackground = null; // the object URL of the picture under the heat map
const charts = {};

async function api(path) { return (await authorizedFetch(path)).json(); }

function label(key) {
  const k = KIND_LABEL_KEYS.has(key) ? `kind.${key}` : `source.${key}`;
  const text = I18N.t(k);
  return text === k ? key : text;
}
const KIND_LABEL_KEYS = new Set(["illegal_parking", "out_of_store_trading", "piled_materials", "litter", "other",
  "inspection_failed"]);

// --- the period, as local dates of the deployment --------------------------------------------------------------

function ymd(ms) { return new Date(ms).toISOString().slice(0, 10); }
function addDays(day, n) {
  const [y, m, d] = day.split("-").map(Number);
  return ymd(Date.UTC(y, m - 1, d + n));
}
function today() { return I18N.fmtDay(new Date().toISOString()); }

function setRange(days) {
  const last = today();
  $("to").value = last;
  $("from").value = addDays(last, 1 - days);
}

// The query for the API: [local midnight of the first day, local midnight after the last) and the filters.
function params(withFilters = true) {
  const p = new URLSearchParams({ from: I18N.zonedToIso($("from").value), to: I18N.zonedToIso(addDays($("to").value, 1)) });
  if (withFilters) {
    for (const [key, id] of [["street", "street"], ["camera_id", "camera"], ["shop_id", "shop"]]) {
      const value = $(id).value.trim();
      if (value) p.set(key, value);
    }
  }
  return p;
}

// A link may name the period and filters: /insights?from=2026-03-01&to=2026-03-31&street=...&shop_id=...
function fromAddress() {
  const q = new URLSearchParams(location.search);
  const day = /^\d{4}-\d{2}-\d{2}$/;
  if (day.test(q.get("from") || "") && day.test(q.get("to") || "")) {
    $("from").value = q.get("from");
    $("to").value = q.get("to");
    $("range").value = "custom";
  } else {
    setRange(Number($("range").value));
  }
  if (q.get("street")) $("street").value = q.get("street");
  if (q.get("shop_id")) $("shop").value = q.get("shop_id");
}

function periodOk() {
  if (!$("from").value || !$("to").value || $("to").value < $("from").value) {
    say(I18N.t("ins.bad-period"), true);
    return false;
  }
  return true;
}

// --- numbers ---------------------------------------------------------------------------------------------------

function duration(s) {
  if (s == null) return "—";
  if (s < 90) return I18N.t("ins.sec", { n: Math.round(s) });
  if (s < 90 * 60) return I18N.t("ins.min", { n: Math.round(s / 60) });
  if (s < 48 * 3600) return I18N.t("ins.hour", { n: Number((s / 3600).toFixed(1)) });
  return I18N.t("ins.days", { n: Number((s / 86400).toFixed(1)) });
}

function showKpis(s) {
  $("k-confirmed").textContent = String(s.confirmed);
  $("k-opened").textContent = I18N.t("ins.opened", { n: s.opened });
  const share = s.share_resolved_before_escalation;
  $("k-share").textContent = share == null ? "—" : `${(share * 100).toFixed(1)}%`;
  $("k-median").textContent = duration(s.time_to_fix.median_s);
  $("k-p90").textContent = duration(s.time_to_fix.p90_s);
  $("k-fixes").textContent = I18N.t("ins.fixes", { n: s.time_to_fix.fixes });
  $("k-escalated").textContent = String(s.escalated);
  $("k-dismissed").textContent = I18N.t("ins.dismissed", { n: s.dismissed });
  $("tz-note").textContent = I18N.t("ins.tz", { tz: s.timezone });
}

// --- charts: stacked bars from running totals, the tallest drawn first so each band paints over it -------------

function drawChart(el, days, series) {
  if (charts[el.id]) charts[el.id].destroy();
  delete charts[el.id];
  el.replaceChildren();
  el.dataset.series = String(series.length);
  el.parentElement.querySelector(".empty").hidden = series.length > 0;
  el.hidden = series.length === 0;
  if (!series.length) return;
  const running = [];
  let acc = days.map(() => 0);
  for (const s of series) {
    acc = acc.map((v, i) => v + s.counts[i]);
    running.push(acc);
  }
  const order = series.map((_, i) => i).reverse();
  const bars = uPlot.paths.bars({ size: [0.7, 48], gap: 1 });
  const opts = {
    width: chartWidth(el),
    height: CHART_HEIGHT,
    scales: { x: { time: false, range: (u, lo, hi) => [lo - 0.5, hi + 0.5] }, y: { range: (u, lo, hi) => [0, Math.max(1, hi)] } },
    series: [
      { label: I18N.t("ins.day"), value: (u, v) => (v == null ? "—" : days[v]) },
      ...order.map((i) => ({
        label: label(series[i].key), fill: COLORS[series[i].key] || "#999", stroke: COLORS[series[i].key] || "#999",
        width: 0, paths: bars, points: { show: false },
        value: (u, v, si, idx) => (idx == null ? "—" : String(series[i].counts[idx])),
      })),
    ],
    axes: [
      { space: 48, values: (u, splits) => splits.map((v) => (Number.isInteger(v) && days[v] ? days[v].slice(5) : "")) },
      { incrs: [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000], values: (u, splits) => splits.map(String) },
    ],
    cursor: { points: { show: false } },
  };
  charts[el.id] = new uPlot(opts, [days.map((_, i) => i), ...order.map((i) => running[i])], el);
  el.dataset.width = String(opts.width);
}

function chartWidth(el) { return Math.max(200, el.clientWidth); }

function resizeCharts() {
  for (const [id, u] of Object.entries(charts)) {
    u.setSize({ width: chartWidth($(id)), height: CHART_HEIGHT });
    $(id).dataset.width = String(u.width);
  }
}

// --- the top lists ---------------------------------------------------------------------------------------------

function cell(row, text) {
  const td = row.insertCell();
  td.textContent = text;
  return td;
}

function showTops(s) {
  const shops = $("top-shops").tBodies[0];
  shops.replaceChildren();
  s.top_shops.forEach((r, i) => {
    const row = shops.insertRow();
    row.dataset.shopId = r.id;
    cell(row, String(i + 1));
    cell(row, r.name ? `${r.name} (${r.id})` : r.id);
    cell(row, String(r.cases)).className = "num";
    const a = document.createElement("a");
    a.href = `/?shop_id=${encodeURIComponent(r.id)}`;
    a.textContent = I18N.t("ins.see-cases");
    row.insertCell().append(a);
  });
  if (!s.top_shops.length) cell(shops.insertRow(), I18N.t("ins.none")).colSpan = 4;
  const cams = $("top-cameras").tBodies[0];
  cams.replaceChildren();
  s.top_cameras.forEach((r, i) => {
    const row = cams.insertRow();
    row.dataset.cameraId = r.id;
    cell(row, String(i + 1));
    cell(row, r.name ? `${r.name} (${r.id})` : r.id);
    cell(row, String(r.cases)).className = "num";
    const b = document.createElement("button");
    b.type = "button";
    b.textContent = I18N.t("ins.see-heat");
    b.addEventListener("click", () => {
      $("heat-camera").value = r.id;
      loadHeat().then(() => $("heat").scrollIntoView({ behavior: "smooth" })).catch((e) => say(e.message, true));
    });
    row.insertCell().append(b);
  });
  if (!s.top_cameras.length) cell(cams.insertRow(), I18N.t("ins.none")).colSpan = 4;
}

function render() {
  if (!summary) return;
  showKpis(summary);
  drawChart($("chart-kind"), summary.days, summary.by_kind);
  drawChart($("chart-source"), summary.days, summary.by_source);
  showTops(summary);
}

// --- the heat map ----------------------------------------------------------------------------------------------

function ramp(v) {
  for (let i = 1; i < RAMP.length; i++) {
    if (v <= RAMP[i][0]) {
      const [a, b] = [RAMP[i - 1], RAMP[i]];
      const f = (v - a[0]) / (b[0] - a[0]);
      return [1, 2, 3].map((c) => Math.round(a[c] + (b[c] - a[c]) * f));
    }
  }
  return RAMP[RAMP.length - 1].slice(1);
}

// Splats on a grid of GRID-pixel cells, normalised to the hottest cell; returns a small canvas to scale up.
function heatLayer(points, width, height) {
  const gw = Math.ceil(width / GRID);
  const gh = Math.ceil(height / GRID);
  const grid = new Float32Array(gw * gh);
  const sigma = (Math.max(width, height) * 0.035) / GRID;
  const r = Math.ceil(sigma * 3);
  for (const p of points) {
    const cx = p.x / GRID;
    const cy = p.y / GRID;
    for (let y = Math.max(0, Math.floor(cy - r)); y <= Math.min(gh - 1, Math.ceil(cy + r)); y++) {
      for (let x = Math.max(0, Math.floor(cx - r)); x <= Math.min(gw - 1, Math.ceil(cx + r)); x++) {
        const d2 = (x + 0.5 - cx) ** 2 + (y + 0.5 - cy) ** 2;
        grid[y * gw + x] += Math.exp(-d2 / (2 * sigma * sigma));
      }
    }
  }
  let max = 0;
  for (const v of grid) max = Math.max(max, v);
  const img = new ImageData(gw, gh);
  if (max > 0) {
    for (let i = 0; i < grid.length; i++) {
      const v = Math.sqrt(grid[i] / max); // a square root: one case still shows beside a hot spot of many
      if (v < 0.02) continue;
      const [R, G, B] = ramp(v);
      img.data.set([R, G, B, Math.round(255 * Math.min(1, v * 1.5) * 0.8)], i * 4);
    }
  }
  const small = document.createElement("canvas");
  small.width = gw;
  small.height = gh;
  small.getContext("2d").putImageData(img, 0, 0);
  return small;
}

function drawHeat() {
  const canvas = $("heat-canvas");
  const frame = $("heat-frame");
  if (!heat) return;
  const img = $("heat-bg");
  const width = heat.width || (!img.hidden && img.naturalWidth) || 1280;
  const height = heat.height || (!img.hidden && img.naturalHeight) || 720;
  canvas.width = width;
  canvas.height = height;
  frame.style.aspectRatio = `${width} / ${height}`;
  const kind = $("heat-kind").value;
  const points = heat.points.filter((p) => !kind || p.kind === kind);
  const ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, width, height);
  if (points.length) {
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatLayer(points, width, height), 0, 0, Math.ceil(width / GRID) * GRID, Math.ceil(height / GRID) * GRID);
  }
  if ($("heat-dots").checked) {
    const radius = Math.max(3, width / 220);
    for (const p of points) {
      ctx.beginPath();
      ctx.arc(p.x, p.y, radius, 0, 2 * Math.PI);
      ctx.fillStyle = COLORS[p.kind] || "#999";
      ctx.fill();
      ctx.lineWidth = Math.max(1, radius / 3);
      ctx.strokeStyle = "#fff";
      ctx.stroke();
    }
  }
  frame.dataset.points = String(points.length);
  frame.dataset.width = String(width);
  frame.dataset.height = String(height);
  $("heat-count").textContent = I18N.t("ins.heat-count", { n: points.length });
}

async function picture(url) {
  if (!url) return null;
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token()}` } });
  if (!res.ok) return null; // the camera may have no frame to give (offline, or no camera process here)
  return URL.createObjectURL(await res.blob());
}

// The camera's latest frame, else its newest case's evidence, else nothing (a plain frame).
async function loadBackground(h) {
  const img = $("heat-bg");
  if (heatBackground) URL.revokeObjectURL(heatBackground);
  heatBackground = null;
  let source = "none";
  heatBackground = await picture(h.snapshot_url);
  if (heatBackground) source = "camera";
  else if ((heatBackground = await picture(h.fallback_snapshot_url))) source = "case";
  if (heatBackground) {
    img.src = heatBackground;
    await img.decode().catch(() => {});
    img.hidden = false;
  } else {
    img.removeAttribute("src");
    img.hidden = true;
  }
  $("heat-frame").dataset.background = source;
  img.alt = source === "camera" ? I18N.t("ins.bg-camera")
    : source === "case" ? I18N.t("ins.bg-case", { id: /\/cases\/(\d+)\//.exec(h.fallback_snapshot_url)[1] })
      : I18N.t("ins.bg-none");
  img.title = img.alt;
}

async function loadHeat() {
  const camera = $("heat-camera").value;
  if (!camera || !periodOk()) return;
  const p = params(false);
  heat = await api(`/cameras/${encodeURIComponent(camera)}/heatmap?${p}`);
  const kinds = [...new Set(heat.points.map((x) => x.kind))];
  const select = $("heat-kind");
  const keep = select.value;
  select.replaceChildren(select.options[0]);
  for (const k of kinds) select.add(new Option(label(k), k));
  select.value = kinds.includes(keep) ? keep : "";
  await loadBackground(heat);
  drawHeat();
}

// --- cameras, loading, CSV -------------------------------------------------------------------------------------

function fillCameras(list) {
  for (const id of ["camera", "heat-camera"]) {
    const select = $(id);
    const keep = select.value;
    const first = id === "camera" ? [select.options[0]] : [];
    select.replaceChildren(...first);
    for (const c of list) select.add(new Option(c.name ? `${c.name} (${c.id})` : c.id, c.id));
    if ([...select.options].some((o) => o.value === keep)) select.value = keep;
  }
  if (!list.length) $("heat-camera").add(new Option(I18N.t("ins.no-camera"), ""));
}

async function loadCameras() {
  const cams = await api("/cameras");
  return cams.map((c) => ({ id: c.id, name: c.name || "" }));
}

async function refresh() {
  if (!periodOk()) return;
  say(I18N.t("session.loading"));
  summary = await api(`/insights/summary?${params()}`);
  const known = await loadCameras();
  for (const r of summary.top_cameras) if (!known.some((c) => c.id === r.id)) known.push({ id: r.id, name: r.name || "" });
  fillCameras(known);
  render();
  const heatCam = $("heat-camera");
  if ($("camera").value) heatCam.value = $("camera").value;
  else if (!heatCam.value && summary.top_cameras.length) heatCam.value = summary.top_cameras[0].id;
  await loadHeat();
  say("");
}

async function downloadCsv() {
  if (!periodOk()) return;
  const res = await authorizedFetch(`/insights/summary.csv?${params()}`);
  const name = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
  saveBlob(await res.blob(), name ? name[1] : "frontage-insights.csv");
}

function signOut(message) {
  me = null;
  showSignIn(message, "insights");
}

async function start() {
  try {
    me = await openSession();
    if (me.role !== "admin" && me.role !== "operator") {
      say(I18N.t("ins.staff-only"), true);
      return;
    }
    $("insights").hidden = false;
    if (!$("from").value) fromAddress();
    await refresh();
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function wire() {
  renderNav("insights");
  I18N.apply();
  I18N.mountSwitch($("lang"));
  wireSignIn(start);
  const fail = (e) => say(e.message, true);
  $("period").addEventListener("submit", (e) => {
    e.preventDefault();
    refresh().catch(fail);
  });
  $("range").addEventListener("change", () => {
    if ($("range").value !== "custom") {
      setRange(Number($("range").value));
      refresh().catch(fail);
    }
  });
  for (const id of ["from", "to"]) $(id).addEventListener("change", () => { $("range").value = "custom"; });
  $("csv").addEventListener("click", () => downloadCsv().catch(fail));
  $("heat-camera").addEventListener("change", () => loadHeat().catch(fail));
  $("heat-kind").addEventListener("change", drawHeat);
  $("heat-dots").addEventListener("change", drawHeat);
  document.addEventListener("langchange", () => { render(); drawHeat(); });
  let pending = 0;
  window.addEventListener("resize", () => {
    clearTimeout(pending);
    pending = setTimeout(resizeCharts, 100);
  });
  if (token()) start(); else signOut();
}

wire();
