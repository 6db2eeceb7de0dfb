// Review page: the open-case queue, one case's evidence and ledger, confirm and dismiss.
// Snapshots need the bearer token, so they are fetched and shown as blob: URLs. All text goes in via
// textContent, never innerHTML: case data must not be able to inject markup.
"use strict";

const TOKEN_KEY = "frontage.token";
const $ = (id) => document.getElementById(id);
const blobs = new Map(); // snapshot path -> object URL (evidence never changes)
let current = null; // the case shown in the detail pane

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function say(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

async function api(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    signOut("That token was not accepted. Enter it again.");
    throw new Error("unauthorized");
  }
  if (!res.ok) {
    let detail = res.statusText;
    try {
      const body = await res.json();
      detail = typeof body.detail === "string" ? body.detail : body.detail.map((d) => d.msg).join("; ");
    } catch (_) { /* not JSON */ }
    throw new Error(`${res.status}: ${detail}`);
  }
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

const KIND = { illegal_parking: "Illegal parking", out_of_store_trading: "Out-of-store trading" };

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
    ["Shop", `${c.shop_name || "?"} (${c.shop_id})`], ["Camera", c.camera_id], ["Object", c.object_class],
    ["Opened", when(c.opened_at)], ["Dwell", `${Math.round(c.dwell_s)} s`], ["Open311", c.open311_status],
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
  $("dismiss").disabled = !open || c.state === "escalated";
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

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const url of blobs.values()) URL.revokeObjectURL(url);
  blobs.clear();
  current = null;
  $("review").hidden = true;
  $("detail").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  say(message || "", Boolean(message));
  $("token").focus();
}

async function start() {
  $("login").hidden = true;
  $("review").hidden = false;
  $("session").hidden = false;
  say("Loading…");
  try {
    const me = await (await api("/me")).json();
    $("who").textContent = `${me.name} (${me.role})`;
    await loadQueue();
    say("");
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function wire() {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("signout").addEventListener("click", () => signOut());
  $("refresh").addEventListener("click", () => start());
  $("confirm").addEventListener("click", () => {
    act("confirm", $("note").value).then(() => { $("note").value = ""; }).catch((e) => say(e.message, true));
  });
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
