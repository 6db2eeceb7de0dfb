// The review page's Shops tab: search the district register by text and street, page through it, open a shop's
// details; operators and admins also edit its fields and read its history (who changed what, when).
// Uses review.js's helpers ($, api, say, cell, when, isStaff). All text goes in via textContent, never innerHTML.
"use strict";

I18N.add({
  "shops.title": { zh: "商户", en: "Shops" },
  "shops.q": { zh: "编号、名称、地址或责任主体", en: "Id, name, address or party" },
  "shops.q.label": { zh: "搜索商户", en: "Search shops" },
  "shops.street": { zh: "街道", en: "Street" },
  "shops.all_streets": { zh: "全部街道", en: "All streets" },
  "shops.search": { zh: "搜索", en: "Search" },
  "shops.col.id": { zh: "编号", en: "Shop" },
  "shops.col.name": { zh: "名称", en: "Name" },
  "shops.col.street": { zh: "街道", en: "Street" },
  "shops.col.community": { zh: "社区", en: "Community" },
  "shops.col.party": { zh: "责任主体", en: "Party" },
  "shops.col.open": { zh: "未结", en: "Open" },
  "shops.empty": { zh: "没有符合条件的商户。", en: "No shops match." },
  "shops.edit": { zh: "编辑", en: "Edit" },
  "shops.f.name": { zh: "名称", en: "Name" },
  "shops.f.address": { zh: "地址", en: "Address" },
  "shops.f.street": { zh: "街道", en: "Street" },
  "shops.f.community": { zh: "社区", en: "Community" },
  "shops.f.lat": { zh: "纬度", en: "Latitude" },
  "shops.f.lon": { zh: "经度", en: "Longitude" },
  "shops.f.party_id": { zh: "责任主体编号", en: "Party id" },
  "shops.f.party_name": { zh: "责任主体", en: "Party" },
  "shops.f.party_kind": { zh: "主体类型", en: "Party kind" },
  "shops.f.contact_person": { zh: "责任人", en: "Person responsible" },
  "shops.f.contact_phone": { zh: "联系电话", en: "Contact phone" },
  "shops.f.duties": { zh: "门前三包", en: "Duties" },
  "shops.duties": { zh: "门前三包责任", en: "Duties" },
  "shops.save": { zh: "保存修改", en: "Save changes" },
  "shops.history": { zh: "变更记录", en: "History" },
  "shops.h.who": { zh: "操作人", en: "Who" },
  "shops.h.action": { zh: "操作", en: "Action" },
  "shops.h.changes": { zh: "变更", en: "Changes" },
  "shops.h.import": { zh: "导入", en: "import" },
  "shops.h.edit": { zh: "编辑", en: "edit" },
  "shops.h.config": { zh: "配置", en: "config" },
  "party.merchant": { zh: "商户", en: "merchant" },
  "party.bike_operator": { zh: "共享单车企业", en: "bike operator" },
  "party.delivery_company": { zh: "配送企业", en: "delivery company" },
  "duty.sanitation": { zh: "市容环境卫生", en: "sanitation" },
  "duty.order": { zh: "秩序", en: "order" },
  "duty.greenery": { zh: "绿化", en: "greenery" },
  "shop.address": { zh: "地址", en: "Address" },
  "shop.area": { zh: "街道 · 社区", en: "Street · community" },
  "shop.location": { zh: "位置", en: "Location" },
  "shop.party": { zh: "责任主体", en: "Party" },
  "shop.person": { zh: "责任人", en: "Person responsible" },
  "shop.phone": { zh: "电话", en: "Phone" },
  "shop.duties": { zh: "门前三包", en: "Duties" },
  "shop.cameras": { zh: "摄像头", en: "Cameras" },
  "shop.open": { zh: "未结案件", en: "Open cases" },
  "shop.register": { zh: "登记册", en: "On the register" },
  "shop.register.yes": { zh: "已登记，{at} 修改", en: "yes, changed {at}" },
  "shop.register.no": { zh: "尚未登记（仅在配置中）", en: "not yet (config only)" },
  "shop.saved": { zh: "商户 {id}：已保存（{n} 项）。", en: "Shop {id}: saved ({n} {fields})." },
  "shop.field": { zh: "项", en: "field" },
  "shop.fields": { zh: "项", en: "fields" },
  "shop.nothing": { zh: "没有需要修改的内容。", en: "Nothing to change." },
  "shop.not_number": { zh: "{name}须为数字", en: "{name} must be a number" },
});

const SHOPS_PAGE = 20;
const TEXT_FIELDS = ["name", "address", "street", "community", "party_id", "party_name", "party_kind",
  "contact_person", "contact_phone"];
const shopsView = { offset: 0, total: 0, current: null, loaded: false, page: null, shop: null, history: null };

function showTab(name) {
  const shops = name === "shops";
  $("review").hidden = shops;
  $("shops").hidden = !shops;
  $("tab-cases").setAttribute("aria-selected", String(!shops));
  $("tab-shops").setAttribute("aria-selected", String(shops));
  if (shops && !shopsView.loaded) loadShops().catch((e) => say(e.message, true));
}

// review.js calls these when a session starts (back on the Cases tab) and when it ends.
function shopsStart() {
  $("tabs").hidden = false;
  shopsView.loaded = false;
  showTab("cases");
}

function shopsSignOut() {
  $("tabs").hidden = true;
  $("shops").hidden = true;
  $("shop-detail").hidden = true;
  $("shops-list").tBodies[0].replaceChildren();
  shopsView.current = null;
  shopsView.loaded = false;
  shopsView.page = null;
  shopsView.shop = null;
  shopsView.history = null;
}

async function loadShops() {
  const params = new URLSearchParams({ limit: String(SHOPS_PAGE), offset: String(shopsView.offset) });
  const q = $("shops-q").value.trim();
  const street = $("shops-street").value;
  if (q) params.set("q", q);
  if (street) params.set("street", street);
  const page = await (await api(`/shops?${params}`)).json();
  shopsView.total = page.total;
  shopsView.loaded = true;
  shopsView.page = page;
  renderShops();
}

function renderShops() {
  const page = shopsView.page;
  if (!page) return;
  fillStreets(page.streets, $("shops-street").value);
  const body = $("shops-list").tBodies[0];
  body.replaceChildren();
  for (const s of page.items) {
    const row = body.insertRow();
    row.dataset.shopId = s.id;
    row.tabIndex = 0;
    row.classList.toggle("selected", s.id === shopsView.current);
    cell(row, s.id);
    cell(row, s.name);
    cell(row, s.street, "wide");
    cell(row, s.community, "wide");
    cell(row, s.party_name);
    cell(row, String(s.open_cases), s.open_cases ? "open-cases" : "");
    const open = () => showShop(s.id).catch((e) => say(e.message, true));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
  $("shops-count").textContent = `(${page.total})`;
  $("shops-empty").hidden = page.items.length > 0;
  const first = page.items.length ? page.offset + 1 : 0;
  $("shops-range").textContent = page.total
    ? I18N.t("pager.range", { first, last: page.offset + page.items.length, total: page.total })
    : I18N.t("pager.none");
  $("shops-prev").disabled = page.offset === 0;
  $("shops-next").disabled = page.offset + page.items.length >= page.total;
}

function fillStreets(streets, selected) {
  const select = $("shops-street");
  const options = [new Option(I18N.t("shops.all_streets"), "")];
  for (const s of streets) options.push(new Option(s, s, false, s === selected));
  select.replaceChildren(...options);
  select.value = selected && streets.includes(selected) ? selected : "";
}

function fact(list, name, value) {
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = I18N.t(name);
  dd.textContent = value;
  list.append(dt, dd);
}

async function showShop(id) {
  const s = await (await api(`/shops/${encodeURIComponent(id)}`)).json();
  shopsView.current = s.id;
  shopsView.shop = s;
  shopsView.history = null;
  renderShop(true);
  if (isStaff()) await loadHistory(s.id);
}

function renderShop(fillForm) {
  const s = shopsView.shop;
  if (!s) return;
  for (const r of $("shops-list").tBodies[0].rows) r.classList.toggle("selected", r.dataset.shopId === s.id);
  $("shop-detail").hidden = false;
  $("shop-title").textContent = `${s.name} · ${s.id}`;
  const facts = $("shop-facts");
  facts.replaceChildren();
  fact(facts, "shop.address", s.address || "—");
  fact(facts, "shop.area", [s.street, s.community].filter(Boolean).join(" · ") || "—");
  fact(facts, "shop.location", s.lat === null || s.lon === null ? "—" : `${s.lat}, ${s.lon}`);
  fact(facts, "shop.party", `${s.party_name} (${s.party_id}, ${I18N.nameOf("party", s.party_kind)})`);
  fact(facts, "shop.person", s.contact_person || "—");
  if (s.contact_phone !== null) fact(facts, "shop.phone", s.contact_phone || "—");
  fact(facts, "shop.duties", s.duties.map((d) => I18N.nameOf("duty", d)).join(" · "));
  fact(facts, "shop.cameras", s.camera_ids.join(", ") || "—");
  fact(facts, "shop.open", String(s.open_cases));
  fact(facts, "shop.register", s.on_register
    ? I18N.t("shop.register.yes", { at: when(s.updated_at) }) : I18N.t("shop.register.no"));
  const form = $("shop-edit");
  form.hidden = !isStaff();
  $("shop-history-pane").hidden = !isStaff();
  if (!isStaff() || !fillForm) return;
  for (const f of TEXT_FIELDS) form.elements[f].value = s[f];
  form.elements.lat.value = s.lat === null ? "" : String(s.lat);
  form.elements.lon.value = s.lon === null ? "" : String(s.lon);
  for (const box of form.querySelectorAll("input[name=duties]")) box.checked = s.duties.includes(box.value);
  form.dataset.shown = JSON.stringify(s);
}

function changeText(field, v) {
  if (v === null) return "—";
  if (Array.isArray(v)) return v.map((d) => (field === "duties" ? I18N.nameOf("duty", d) : d)).join(", ");
  if (field === "party_kind") return I18N.nameOf("party", v);
  return typeof v === "string" ? (v || "''") : JSON.stringify(v);
}

async function loadHistory(id) {
  shopsView.history = await (await api(`/shops/${encodeURIComponent(id)}/history`)).json();
  renderHistory();
}

function renderHistory() {
  const entries = shopsView.history;
  if (!entries) return;
  const body = $("shop-history").tBodies[0];
  body.replaceChildren();
  for (const e of entries.slice().reverse()) { // newest first
    const row = body.insertRow();
    cell(row, when(e.at));
    cell(row, e.actor);
    cell(row, I18N.nameOf("shops.h", e.action));
    const lines = Object.entries(e.changes).map(([field, [old, now]]) => {
      const name = I18N.nameOf("shops.f", field);
      return old === null ? `${name}: ${changeText(field, now)}`
        : `${name}: ${changeText(field, old)} → ${changeText(field, now)}`;
    });
    cell(row, lines.join("\n"), "data changes");
  }
}

function coordinate(text, name) {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(I18N.t("shop.not_number", { name }));
  return n;
}

async function saveShop() {
  const form = $("shop-edit");
  const shown = JSON.parse(form.dataset.shown);
  const changes = {};
  for (const f of TEXT_FIELDS) {
    const v = form.elements[f].value.trim();
    if (v !== shown[f]) changes[f] = v;
  }
  for (const f of ["lat", "lon"]) {
    const v = coordinate(form.elements[f].value, I18N.t(`shops.f.${f}`));
    if (v !== shown[f]) changes[f] = v;
  }
  const duties = [...form.querySelectorAll("input[name=duties]:checked")].map((b) => b.value);
  if (duties.join() !== shown.duties.join()) changes.duties = duties;
  const n = Object.keys(changes).length;
  if (!n) { say(I18N.t("shop.nothing")); return; }
  await api(`/shops/${encodeURIComponent(shown.id)}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(changes),
  });
  say(I18N.t("shop.saved", { id: shown.id, n, fields: I18N.t(n === 1 ? "shop.field" : "shop.fields") }));
  await loadShops();
  await showShop(shown.id);
}

function wireShops() {
  I18N.apply($("shops")); // review.js filled the page before these strings were added
  document.addEventListener("langchange", () => {
    renderShops();
    renderShop(false);
    renderHistory();
    if (!shopsView.page) fillStreets([], "");
  });
  fillStreets([], "");
  $("tab-cases").addEventListener("click", () => showTab("cases"));
  $("tab-shops").addEventListener("click", () => showTab("shops"));
  $("shops-search").addEventListener("submit", (e) => {
    e.preventDefault();
    shopsView.offset = 0;
    loadShops().catch((err) => say(err.message, true));
  });
  $("shops-street").addEventListener("change", () => {
    shopsView.offset = 0;
    loadShops().catch((err) => say(err.message, true));
  });
  $("shops-prev").addEventListener("click", () => {
    shopsView.offset = Math.max(0, shopsView.offset - SHOPS_PAGE);
    loadShops().catch((err) => say(err.message, true));
  });
  $("shops-next").addEventListener("click", () => {
    shopsView.offset += SHOPS_PAGE;
    loadShops().catch((err) => say(err.message, true));
  });
  $("shop-edit").addEventListener("submit", (e) => {
    e.preventDefault();
    saveShop().catch((err) => say(err.message, true));
  });
}

wireShops();
if (!$("session").hidden) shopsStart(); // review.js ran first and already opened a session from this tab's token
