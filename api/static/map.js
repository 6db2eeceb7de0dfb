// The district map: every shop with a position as a circle (Leaflet, vendored), coloured by its open cases or by
// its party's credit, with a popup that links to its cases. The tiles come from the config (GET
// /insights/shops-map); with none, an offline box, the shops are drawn on a plain background, fitted to their
// bounds. Popups are built from DOM nodes with textContent, never HTML strings.
"use strict";

I18N.add({
  "map.title": { zh: "商户地图", en: "District map" },
  "map.signin": { zh: "登录", en: "Sign in" },
  "map.token": { zh: "API 令牌（管理员或值班员）", en: "API token (operator or admin)" },
  "map.open": { zh: "打开地图", en: "Open the map" },
  "map.token-hint": { zh: "令牌只保存在本标签页（sessionStorage）。", en: "The token stays in this tab only (sessionStorage)." },
  "map.colour-by": { zh: "着色依据", en: "Colour by" },
  "map.by-open": { zh: "未结案件", en: "Open cases" },
  "map.by-credit": { zh: "信用", en: "Credit" },
  "map.count": { zh: "地图上 {n} 个商户", en: "{n} shops on the map" },
  "map.unplaced": { zh: "，{n} 个没有坐标", en: ", {n} without a position" },
  "map.open-cases": { zh: "未结案件", en: "Open cases" },
  "map.score": { zh: "信用分", en: "Credit score" },
  "map.standing": { zh: "榜单", en: "List" },
  "map.street": { zh: "街道", en: "Street" },
  "map.see-cases": { zh: "查看该商户的案件", en: "See this shop's cases" },
  "map.no-score": { zh: "未评分", en: "not scored" },
  "map.open-0": { zh: "没有未结案件", en: "No open case" },
  "map.open-1": { zh: "1 宗", en: "1 open case" },
  "map.open-2": { zh: "2–3 宗", en: "2–3 open cases" },
  "map.open-4": { zh: "4 宗及以上", en: "4 or more" },
  "map.red": { zh: "红榜（表扬）", en: "Red list (commended)" },
  "map.good": { zh: "基准分及以上", en: "At or above the base score" },
  "map.low": { zh: "低于基准分", en: "Below the base score" },
  "map.black": { zh: "黑榜", en: "Black list" },
  "map.unscored": { zh: "未评分", en: "Not scored" },
  "map.plain": { zh: "未配置底图（离线）：只画出商户位置", en: "No map tiles configured (offline): shops on a plain background" },
  "map.none": { zh: "没有带坐标的商户。", en: "No shop has a position yet." },
  "map.staff-only": { zh: "此页面仅供值班员和管理员使用。", en: "This page is for operators and admins." },
  "standing.red": { zh: "红榜", en: "red list" },
  "standing.black": { zh: "黑榜", en: "black list" },
  "standing.none": { zh: "无", en: "none" },
});

const OPEN_BANDS = [ // [at least, colour, label]
  [4, "#c62828", "map.open-4"], [2, "#ef6c00", "map.open-2"], [1, "#f9a825", "map.open-1"], [0, "#2e7d32", "map.open-0"],
];
const CREDIT = {
  red: "#1a7f37", good: "#9ccc65", low: "#ef6c00", black: "#212121", unscored: "#9e9e9e",
};

let me = null;
let data = null;
let map = null;
let shopsLayer = null;
let legend = null;
const markers = new Map(); // shop id -> circle marker

function mode() { return document.querySelector("input[name=colour]:checked").value; }

function openColour(n) { return OPEN_BANDS.find(([least]) => n >= least)[1]; }

function creditBand(s) {
  if (s.score == null) return "unscored";
  if (s.standing === "black" || s.score <= data.black_at) return "black";
  if (s.standing === "red" || s.score >= data.red_at) return "red";
  return s.score >= data.base ? "good" : "low";
}

function colour(s) { return mode() === "credit" ? CREDIT[creditBand(s)] : openColour(s.open_cases); }

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text != null) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

function popup(s) {
  const box = el("div", null, "shop-popup");
  box.append(el("strong", s.name));
  const facts = el("dl");
  const score = s.score == null ? I18N.t("map.no-score") : String(Number(s.score.toFixed(1)));
  const rows = [["map.open-cases", String(s.open_cases)], ["map.score", score]];
  if (s.standing) rows.push(["map.standing", I18N.t(`standing.${s.standing}`)]);
  if (s.street) rows.push(["map.street", s.street]);
  for (const [key, value] of rows) facts.append(el("dt", I18N.t(key)), el("dd", value));
  const link = el("a", I18N.t("map.see-cases"));
  link.href = s.cases_url;
  box.append(facts, link);
  return box;
}

function legendItems() {
  if (mode() === "credit") {
    return ["red", "good", "low", "black", "unscored"].map((b) => [CREDIT[b], `map.${b}`]);
  }
  return [...OPEN_BANDS].reverse().map(([, c, key]) => [c, key]);
}

function drawLegend(div) {
  div.replaceChildren(el("b", I18N.t(mode() === "credit" ? "map.by-credit" : "map.by-open")));
  for (const [c, key] of legendItems()) {
    const row = el("div");
    const dot = el("i", null, "dot");
    dot.style.background = c; // CSSOM, not an inline style attribute: the CSP allows it
    row.append(dot, el("span", I18N.t(key)));
    div.append(row);
  }
  if (!data.map.tiles_url) div.append(el("p", I18N.t("map.plain"), "plain-note"));
}

function recolour() {
  for (const s of data.shops) {
    const m = markers.get(s.shop_id);
    m.setStyle({ fillColor: colour(s) });
    m.getElement()?.setAttribute("data-band", mode() === "credit" ? creditBand(s) : String(Math.min(s.open_cases, 4)));
  }
  if (legend) drawLegend(legend.getContainer());
}

function createMap() {
  map = L.map("map", { preferCanvas: data.shops.length > 3000, zoomSnap: 0.25 });
  map.attributionControl.setPrefix(false);
  if (data.map.tiles_url) {
    L.tileLayer(data.map.tiles_url, { attribution: data.map.attribution, maxZoom: 19 }).addTo(map);
  } else {
    $("map").classList.add("plain");
  }
  L.control.scale({ imperial: false }).addTo(map);
  legend = L.control({ position: "bottomright" });
  legend.onAdd = () => {
    const div = el("div", null, "legend");
    drawLegend(div);
    return div;
  };
  legend.addTo(map);
}

function draw() {
  if (!map) createMap();
  if (shopsLayer) shopsLayer.remove();
  markers.clear();
  shopsLayer = L.featureGroup();
  for (const s of data.shops) {
    const m = L.circleMarker([s.lat, s.lon], {
      radius: 7 + Math.min(s.open_cases, 8), color: "#fff", weight: 2, fillColor: colour(s), fillOpacity: 0.9,
      className: "shop-marker",
    });
    m.bindPopup(() => popup(s));
    m.bindTooltip(el("span", s.name)); // a node, not a string: Leaflet puts a string in as HTML
    markers.set(s.shop_id, m);
    shopsLayer.addLayer(m);
  }
  // The view first: Leaflet draws a layer's circles only once the map has one.
  if (data.map.center) map.setView(data.map.center, data.map.zoom);
  else if (data.shops.length) map.fitBounds(shopsLayer.getBounds(), { padding: [40, 40], maxZoom: 17 });
  else map.setView([0, 0], 2);
  shopsLayer.addTo(map);
  for (const s of data.shops) markers.get(s.shop_id).getElement()?.setAttribute("data-shop-id", s.shop_id);
  recolour();
  showCount();
  $("map").dataset.markers = String(data.shops.length);
}

function showCount() {
  const unplaced = data.unplaced ? I18N.t("map.unplaced", { n: data.unplaced }) : "";
  $("shop-count").textContent = data.shops.length ? I18N.t("map.count", { n: data.shops.length }) + unplaced
    : I18N.t("map.none");
}

async function load() {
  say(I18N.t("session.loading"));
  data = await (await authorizedFetch("/insights/shops-map")).json();
  $("district").hidden = false;
  draw();
  map.invalidateSize();
  say("");
}

function signOut(message) {
  me = null;
  showSignIn(message, "district");
}

async function start() {
  try {
    me = await openSession();
    if (me.role !== "admin" && me.role !== "operator") {
      say(I18N.t("map.staff-only"), true);
      return;
    }
    await load();
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function wire() {
  renderNav("map");
  I18N.apply();
  I18N.mountSwitch($("lang"));
  wireSignIn(start);
  for (const r of document.querySelectorAll("input[name=colour]")) r.addEventListener("change", () => data && recolour());
  $("refresh").addEventListener("click", () => load().catch((e) => say(e.message, true)));
  document.addEventListener("langchange", () => {
    if (!data) return;
    if (legend) drawLegend(legend.getContainer());
    map.closePopup();
    showCount();
  });
  if (token()) start(); else signOut();
}

wire();
