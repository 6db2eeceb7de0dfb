// The review page's Shops tab: search the district register by text and street, page through it, open a shop's
// details; operators and admins also edit its fields and read its history (who changed what, when).
// Uses review.js's helpers ($, api, say, cell, when, isStaff). All text goes in via textContent, never innerHTML.
"use strict";

const SHOPS_PAGE = 20;
const DUTY = { sanitation: "市容环境卫生 sanitation", order: "秩序 order", greenery: "绿化 greenery" };
const TEXT_FIELDS = ["name", "address", "street", "community", "party_id", "party_name", "party_kind",
  "contact_person", "contact_phone"];
const shopsView = { offset: 0, total: 0, current: null, loaded: false };

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
  fillStreets(page.streets, street);
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
  $("shops-range").textContent = `${first}–${page.offset + page.items.length} of ${page.total}`;
  $("shops-prev").disabled = page.offset === 0;
  $("shops-next").disabled = page.offset + page.items.length >= page.total;
}

function fillStreets(streets, selected) {
  const select = $("shops-street");
  const options = [new Option("All streets", "")];
  for (const s of streets) options.push(new Option(s, s, false, s === selected));
  select.replaceChildren(...options);
  select.value = selected && streets.includes(selected) ? selected : "";
}

function fact(list, name, value) {
  const dt = document.createElement("dt");
  const dd = document.createElement("dd");
  dt.textContent = name;
  dd.textContent = value;
  list.append(dt, dd);
}

async function showShop(id) {
  const s = await (await api(`/shops/${encodeURIComponent(id)}`)).json();
  shopsView.current = s.id;
  for (const r of $("shops-list").tBodies[0].rows) r.classList.toggle("selected", r.dataset.shopId === s.id);
  $("shop-detail").hidden = false;
  $("shop-title").textContent = `${s.name} · ${s.id}`;
  const facts = $("shop-facts");
  facts.replaceChildren();
  fact(facts, "Address", s.address || "—");
  fact(facts, "Street · community", [s.street, s.community].filter(Boolean).join(" · ") || "—");
  fact(facts, "Location", s.lat === null || s.lon === null ? "—" : `${s.lat}, ${s.lon}`);
  fact(facts, "Party", `${s.party_name} (${s.party_id}, ${s.party_kind})`);
  fact(facts, "Person responsible", s.contact_person || "—");
  if (s.contact_phone !== null) fact(facts, "Phone", s.contact_phone || "—");
  fact(facts, "Duties", s.duties.map((d) => DUTY[d] || d).join(" · "));
  fact(facts, "Cameras", s.camera_ids.join(", ") || "—");
  fact(facts, "Open cases", String(s.open_cases));
  fact(facts, "On the register", s.on_register ? `yes, changed ${when(s.updated_at)}` : "not yet (config only)");
  const form = $("shop-edit");
  form.hidden = !isStaff();
  $("shop-history-pane").hidden = !isStaff();
  if (!isStaff()) return;
  for (const f of TEXT_FIELDS) form.elements[f].value = s[f];
  form.elements.lat.value = s.lat === null ? "" : String(s.lat);
  form.elements.lon.value = s.lon === null ? "" : String(s.lon);
  for (const box of form.querySelectorAll("input[name=duties]")) box.checked = s.duties.includes(box.value);
  form.dataset.shown = JSON.stringify(s);
  await loadHistory(s.id);
}

function changeText(v) {
  if (v === null) return "—";
  if (Array.isArray(v)) return v.join(", ");
  return typeof v === "string" ? (v || "''") : JSON.stringify(v);
}

async function loadHistory(id) {
  const entries = await (await api(`/shops/${encodeURIComponent(id)}/history`)).json();
  const body = $("shop-history").tBodies[0];
  body.replaceChildren();
  for (const e of entries.slice().reverse()) { // newest first
    const row = body.insertRow();
    cell(row, when(e.at));
    cell(row, e.actor);
    cell(row, e.action);
    const lines = Object.entries(e.changes)
      .map(([field, [old, now]]) => (old === null ? `${field}: ${changeText(now)}`
        : `${field}: ${changeText(old)} → ${changeText(now)}`));
    cell(row, lines.join("\n"), "data changes");
  }
}

function coordinate(text, name) {
  const t = text.trim();
  if (!t) return null;
  const n = Number(t);
  if (!Number.isFinite(n)) throw new Error(`${name} must be a number`);
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
    const v = coordinate(form.elements[f].value, f === "lat" ? "Latitude" : "Longitude");
    if (v !== shown[f]) changes[f] = v;
  }
  const duties = [...form.querySelectorAll("input[name=duties]:checked")].map((b) => b.value);
  if (duties.join() !== shown.duties.join()) changes.duties = duties;
  const n = Object.keys(changes).length;
  if (!n) { say("Nothing to change."); return; }
  await api(`/shops/${encodeURIComponent(shown.id)}`, {
    method: "PATCH",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(changes),
  });
  say(`Shop ${shown.id}: saved (${n} ${n === 1 ? "field" : "fields"}).`);
  await loadShops();
  await showShop(shown.id);
}

function wireShops() {
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
