// Review page: the open-case queue, one case's evidence and ledger, confirm and dismiss; for operators and admins
// also camera alerts (a camera moved or tampered with: its rules are suspended until someone confirms the view)
// and "Belongs here" (the case's object is a permitted fixture).
// Snapshots need the bearer token, so they are fetched and shown as blob: URLs. All text goes in via
// textContent, never innerHTML: case data must not be able to inject markup.
"use strict";

const blobs = new Map(); // snapshot path -> object URL (evidence never changes)
let current = null; // the case shown in the detail pane
let me = null; // who the token belongs to (/me)
const STAFF = new Set(["admin", "operator"]);
const ALERTS = { moved: "moved", tampered: "was tampered with" }; // view states that suspend a camera's rules
const BELONGS_STATES = new Set(["detected", "reminded", "dismissed"]);

function isStaff() { return Boolean(me) && STAFF.has(me.role); }

async function api(path, options = {}) {
  const res = await authorizedFetch(path, options);
  return res;
}

async function snapshot(path) {
  if (!blobs.has(path)) {
    const res = await api(path);
    blobs.set(path, URL.createObjectURL(await res.blob()));
  }
  return blobs.get(path);
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "medium" }) : "—";
}

const KIND = {
  illegal_parking: "Illegal parking", out_of_store_trading: "Out-of-store trading",
  piled_materials: "Piled materials 堆物堆料", litter: "Litter 垃圾", other: "Other 其他",
  inspection_failed: "Inspection failed",
};
const SOURCE = { camera: "camera", citizen: "citizen report", inspector: "inspector" };

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

async function loadQueue() {
  const res = await api("/cases?open=true&limit=200");
  const page = await res.json();
  const body = $("queue").tBodies[0];
  body.replaceChildren();
  $("count").textContent = `(${page.total})`;
  $("empty").hidden = page.items.length > 0;
  for (const c of page.items) {
    const row = body.insertRow();
    row.dataset.caseId = c.id;
    row.tabIndex = 0;
    if (current === c.id) row.classList.add("selected");
    const img = document.createElement("img");
    img.className = "thumb";
    img.alt = `Snapshot of case ${c.id}`;
    row.insertCell().append(img);
    if (c.snapshot_url) snapshot(c.snapshot_url).then((url) => { img.src = url; }).catch(() => { img.alt = "no snapshot"; });
    cell(row, `#${c.id}`);
    cell(row, KIND[c.kind] || c.kind);
    cell(row, SOURCE[c.source] || c.source, `source ${c.source}`);
    cell(row, c.shop_name || c.shop_id);
    cell(row, c.object_class);
    cell(row, c.state, `state ${c.state}`);
    cell(row, when(c.opened_at));
    const open = () => showCase(c.id).catch((e) => say(e.message, true));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
}

async function showCase(id) {
  const c = await (await api(`/cases/${id}`)).json();
  current = c.id;
  for (const r of $("queue").tBodies[0].rows) r.classList.toggle("selected", Number(r.dataset.caseId) === c.id);
  $("detail").hidden = false;
  $("detail-title").textContent = `Case #${c.id} · ${KIND[c.kind] || c.kind} · ${c.state}`;
  const img = $("detail-snapshot");
  img.removeAttribute("src");
  img.hidden = !c.snapshot_url;
  if (c.snapshot_url) img.src = await snapshot(c.snapshot_url);
  const facts = $("facts");
  facts.replaceChildren();
  const shown = [
    ["Shop", `${c.shop_name || "?"} (${c.shop_id})`], ["Source", SOURCE[c.source] || c.source],
    ["Camera", c.camera_id || "—"], ["Object", c.object_class || "—"], ["Opened", when(c.opened_at)],
    ["Dwell", c.source === "camera" ? `${Math.round(c.dwell_s)} s` : "—"], ["Open311", c.open311_status],
    ["Confirmed", when(c.confirmed_at)], ["Linked case", c.linked_case_id ? `#${c.linked_case_id}` : "—"],
  ];
  for (const [k, v] of shown) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    facts.append(dt, dd);
  }
  const open = c.open311_status === "open";
  $("confirm").disabled = !open;
  // a citizen's report waits in `reported` until an operator confirms it (the reminder clock starts) or dismisses it
  $("confirm").textContent = c.state === "reported" ? "Confirm report" : "Confirm";
  $("confirm").title = c.state === "reported" ? "The report is true: remind the responsible party now" : "";
  $("dismiss").disabled = !open || c.state === "escalated";
  $("belongs").hidden = !isStaff();
  $("belongs").disabled = !BELONGS_STATES.has(c.state) || c.source !== "camera";
  const ledger = $("ledger").tBodies[0];
  ledger.replaceChildren();
  for (const e of c.ledger) {
    const row = ledger.insertRow();
    cell(row, when(e.at));
    cell(row, e.from_state === e.to_state ? `note (${e.to_state})` : `${e.from_state || "—"} → ${e.to_state}`);
    cell(row, e.actor);
    cell(row, e.reason);
    const data = Object.entries(e.data).filter(([k]) => k !== "box")
      .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`);
    cell(row, data.join(" "), "data");
  }
}

async function act(action, reason) {
  const id = current;
  await api(`/cases/${id}/actions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ action, reason }),
  });
  say(`Case #${id}: ${action} recorded.`);
  await loadQueue();
  await showCase(id);
}

async function belongs() {
  const id = current;
  const note = $("note").value.trim();
  const res = await api(`/cases/${id}/belongs`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(note ? { note } : {}),
  });
  const out = await res.json();
  $("note").value = "";
  say(`Case #${id}: marked as belonging here (camera ${out.baseline.camera_id} baseline v${out.baseline.version}).`);
  await loadQueue();
  await showCase(id);
}

async function loadAlerts() {
  const box = $("alerts");
  if (!isStaff()) { // merchants may not read the cameras; they get no camera alerts
    box.replaceChildren();
    box.hidden = true;
    return;
  }
  const cameras = await (await api("/cameras")).json();
  box.replaceChildren();
  for (const cam of cameras) {
    const what = ALERTS[cam.view_state];
    if (!what) continue;
    const alert = document.createElement("div");
    alert.className = "alert";
    alert.dataset.cameraId = cam.id;
    alert.setAttribute("role", "alert");
    const text = document.createElement("span");
    const reason = (cam.view_reason || "").trim().replace(/\.+$/, "");
    text.textContent = `Camera ${cam.id} ${what}${reason ? `: ${reason}` : ""}. `
      + "Rules suspended until the view is confirmed.";
    const button = document.createElement("button");
    button.type = "button";
    button.className = "confirm-view";
    button.textContent = "Confirm view";
    button.title = `Accept camera ${cam.id}'s current view as its new reference`;
    button.addEventListener("click", () => confirmView(cam.id, button).catch((e) => say(e.message, true)));
    alert.append(text, button);
    box.append(alert);
  }
  box.hidden = box.childElementCount === 0;
}

async function confirmView(cameraId, button) {
  button.disabled = true;
  try {
    await api(`/cameras/${encodeURIComponent(cameraId)}/view/confirm`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: "{}",
    });
  } finally {
    button.disabled = false;
  }
  say(`Camera ${cameraId}: view confirmed.`);
  await loadAlerts();
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  $("alerts").replaceChildren();
  $("alerts").hidden = true;
  for (const url of blobs.values()) URL.revokeObjectURL(url);
  blobs.clear();
  current = null;
  $("review").hidden = true;
  if (typeof shopsSignOut === "function") shopsSignOut(); // the Shops tab (shops.js)
  $("detail").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  say(message || "", Boolean(message));
  $("token").focus();
}

async function start() {
  $("login").hidden = true;
  $("review").hidden = false;
  if (typeof shopsStart === "function") shopsStart(); // back on the Cases tab
  $("session").hidden = false;
  say("Loading…");
  try {
    me = await (await api("/me")).json();
    $("who").textContent = `${me.name} (${me.role})`;
    await loadQueue();
    await loadAlerts();
    say("");
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function wire() {
  wireSignIn(start);
  $("refresh").addEventListener("click", () => start());
  $("confirm").addEventListener("click", () => {
    act("confirm", $("note").value).then(() => { $("note").value = ""; }).catch((e) => say(e.message, true));
  });
  $("belongs").addEventListener("click", () => belongs().catch((e) => say(e.message, true)));
  $("dismiss").addEventListener("click", () => {
    $("dismiss-reason").value = $("note").value;
    $("dismiss-dialog").showModal();
  });
  $("dismiss-cancel").addEventListener("click", () => $("dismiss-dialog").close());
  $("dismiss-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const reason = $("dismiss-reason").value.trim();
    if (!reason) return;
    $("dismiss-dialog").close();
    act("dismiss", reason).then(() => { $("note").value = ""; }).catch((err) => say(err.message, true));
  });
  if (token()) start(); else signOut();
}

wire();
