// Credit page: the red and black lists, a searchable table of every party's score, and one party's score
// explained fact by fact, each with its case (opened in place from the API) and date. Staff tokens only.
// All text goes in via textContent, never innerHTML: shop and party names must not be able to inject markup.
"use strict";

const PAGE = 50;
let me = null;
let offset = 0;
let selected = null; // the party explained

async function api(path, options = {}) {
  const res = await authorizedFetch(path, options);
  return res.json();
}

function when(iso) {
  return iso ? new Date(iso).toLocaleString(undefined, { dateStyle: "medium", timeStyle: "short" }) : "—";
}

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fmt(points) { return `${points > 0 ? "+" : ""}${Number(points.toFixed(2))}`; }

function streets(party) { return [...new Set(party.shops.map((s) => s.street).filter(Boolean))].join(", "); }

function shopNames(party) { return party.shops.map((s) => s.name).join(", "); }

const KIND = {
  confirmed_violation: "Confirmed violation", escalation: "Escalated", voluntary_fix: "Fixed before escalation",
  fix_time: "Time to fix", repeat_offence: "Repeat offence", inspection_passed: "Inspection passed",
  inspection_failed: "Inspection failed", citizen_report: "Confirmed citizen report",
};

async function loadLists() {
  for (const standing of ["red", "black"]) {
    const order = standing === "red" ? "best" : "worst";
    const page = await api(`/credit/parties?standing=${standing}&order=${order}&limit=200`);
    const box = $(standing);
    const list = box.querySelector("ol");
    list.replaceChildren();
    box.querySelector(".count").textContent = `(${page.total})`;
    box.querySelector(".empty").hidden = page.items.length > 0;
    for (const p of page.items) {
      const li = document.createElement("li");
      li.dataset.partyId = p.party_id;
      li.tabIndex = 0;
      li.textContent = `${shopNames(p) || p.party_name} · ${Number(p.score.toFixed(2))}`;
      li.title = `${p.party_name} (${p.party_id})`;
      const open = () => explain(p.party_id).catch((e) => say(e.message, true));
      li.addEventListener("click", open);
      li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
      list.append(li);
    }
  }
}

async function loadScores() {
  const params = new URLSearchParams({ limit: String(PAGE), offset: String(offset) });
  for (const [key, id] of [["q", "q"], ["street", "street"], ["standing", "standing"]]) {
    const value = $(id).value.trim();
    if (value) params.set(key, value);
  }
  const page = await api(`/credit/parties?${params}`);
  const body = $("scores").tBodies[0];
  body.replaceChildren();
  $("total").textContent = `(${page.total})`;
  for (const p of page.items) {
    const row = body.insertRow();
    row.dataset.partyId = p.party_id;
    row.tabIndex = 0;
    if (p.party_id === selected) row.classList.add("selected");
    cell(row, `${p.party_name} (${p.party_id})`);
    cell(row, shopNames(p));
    cell(row, streets(p));
    cell(row, String(Number(p.score.toFixed(2))));
    cell(row, p.standing, `standing ${p.standing}`);
    const open = () => explain(p.party_id).catch((e) => say(e.message, true));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
  const last = Math.min(offset + PAGE, page.total);
  $("page").textContent = page.total ? `${offset + 1}–${last} of ${page.total}` : "no parties";
  $("prev").disabled = offset === 0;
  $("next").disabled = last >= page.total;
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = k;
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

async function explain(partyId) {
  const p = await api(`/credit/parties/${encodeURIComponent(partyId)}`);
  selected = p.party_id;
  for (const r of $("scores").tBodies[0].rows) r.classList.toggle("selected", r.dataset.partyId === selected);
  $("explain").hidden = false;
  $("case").hidden = true;
  $("explain-title").textContent = `${p.party_name} · ${Number(p.score.toFixed(2))} (${p.standing})`;
  facts($("explain-facts"), [
    ["Party", p.party_id], ["Shops", shopNames(p) || "—"], ["Street", streets(p) || "—"],
    ["Score now", `${Number(p.score.toFixed(2))} = base ${p.base} + the facts below (last ${p.window_days} days)`],
    ["On the lists", p.listed_standing ? `${p.listed_standing} (score ${p.listed_score}, ${when(p.computed_at)})` : "not scored yet"],
    ["Thresholds", `red at ${p.red_at} or more, black at ${p.black_at} or less`],
  ]);
  const body = $("contributions").tBodies[0];
  body.replaceChildren();
  $("no-contributions").hidden = p.contributions.length > 0;
  for (const c of p.contributions) {
    const row = body.insertRow();
    cell(row, when(c.at));
    cell(row, KIND[c.kind] || c.kind);
    cell(row, fmt(c.points), `points ${c.points < 0 ? "minus" : "plus"}`);
    const ref = row.insertCell();
    if (c.case_id !== null) {
      const a = document.createElement("a");
      a.href = `#case-${c.case_id}`;
      a.className = "case-link";
      a.dataset.caseId = String(c.case_id);
      a.textContent = `#${c.case_id}`;
      a.addEventListener("click", (e) => {
        e.preventDefault();
        showCase(c.case_id).catch((err) => say(err.message, true));
      });
      ref.append(a);
    } else {
      ref.textContent = `inspection ${c.inspection_id}`;
    }
    cell(row, c.note);
  }
  const events = $("events").tBodies[0];
  events.replaceChildren();
  for (const e of p.events) {
    const row = events.insertRow();
    cell(row, when(e.at));
    cell(row, e.kind.replace("_", " "));
    cell(row, String(e.score));
    cell(row, e.reason);
  }
}

async function showCase(id) {
  const c = await api(`/cases/${id}`);
  $("case").hidden = false;
  $("case-title").textContent = `Case #${c.id} · ${c.kind} · ${c.state}`;
  facts($("case-facts"), [
    ["Shop", `${c.shop_name || "?"} (${c.shop_id})`], ["Source", c.source], ["Opened", when(c.opened_at)],
    ["Open311", c.open311_status], ["Linked case", c.linked_case_id ? `#${c.linked_case_id}` : "—"],
  ]);
  const ledger = $("case-ledger");
  ledger.replaceChildren();
  for (const e of c.ledger) {
    const li = document.createElement("li");
    const move = e.from_state === e.to_state ? `note (${e.to_state})` : `${e.from_state || "—"} → ${e.to_state}`;
    li.textContent = `${when(e.at)} · ${move} · ${e.actor}${e.reason ? ` · ${e.reason}` : ""}`;
    ledger.append(li);
  }
  $("case").scrollIntoView({ block: "nearest" });
}

async function recompute() {
  $("recompute").disabled = true;
  try {
    const s = await api("/credit/recompute", { method: "POST" });
    say(`Recomputed ${s.parties} parties: ${s.red} red, ${s.black} black, ${s.events} list change(s).`);
  } finally {
    $("recompute").disabled = false;
  }
  await refresh();
}

async function refresh() {
  await loadLists();
  await loadScores();
  if (selected) await explain(selected);
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  me = null;
  selected = null;
  $("credit").hidden = true;
  $("explain").hidden = true;
  $("session").hidden = true;
  $("login").hidden = false;
  say(message || "", Boolean(message));
  $("token").focus();
}

async function start() {
  $("login").hidden = true;
  $("credit").hidden = false;
  $("session").hidden = false;
  say("Loading…");
  try {
    me = await api("/me");
    $("who").textContent = `${me.name} (${me.role})`;
    $("recompute").hidden = me.role !== "admin";
    if (me.role !== "admin" && me.role !== "operator") {
      say("This page is for operators and admins.", true);
      return;
    }
    await refresh();
    say("");
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

function wire() {
  wireSignIn(start);
  $("refresh").addEventListener("click", () => refresh().catch((e) => say(e.message, true)));
  $("recompute").addEventListener("click", () => recompute().catch((e) => say(e.message, true)));
  $("filter").addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    loadScores().catch((err) => say(err.message, true));
  });
  $("prev").addEventListener("click", () => {
    offset = Math.max(0, offset - PAGE);
    loadScores().catch((e) => say(e.message, true));
  });
  $("next").addEventListener("click", () => {
    offset += PAGE;
    loadScores().catch((e) => say(e.message, true));
  });
  if (token()) start(); else signOut();
}

wire();
