// Credit page: the red and black lists, a searchable table of every party's score, and one party's score
// explained fact by fact, each with its case (opened in place from the API) and date. Staff tokens only.
// All text goes in via textContent, never innerHTML: shop and party names must not be able to inject markup.
"use strict";

I18N.add({
  "credit.title": { zh: "信用与红黑榜", en: "credit and lists" },
  "credit.token": { zh: "API 令牌（值班员或管理员）", en: "API token (operator or admin)" },
  "credit.open": { zh: "打开红黑榜", en: "Open the lists" },
  "credit.recompute": { zh: "重新计算", en: "Recompute" },
  "credit.recompute.title": {
    zh: "立即重新计算所有责任主体的信用分和榜单", en: "Recompute every party's score and list standing now",
  },
  "credit.red": { zh: "红榜", en: "Red list" },
  "credit.black": { zh: "黑榜", en: "Black list" },
  "credit.nobody": { zh: "榜上无人。", en: "Nobody on this list." },
  "credit.scores": { zh: "信用分", en: "Scores" },
  "credit.q": { zh: "搜索责任主体或商户", en: "Search party or shop" },
  "credit.street": { zh: "街道", en: "Street" },
  "credit.standing": { zh: "榜单", en: "Standing" },
  "credit.standing.all": { zh: "全部", en: "All" },
  "standing.red": { zh: "红榜", en: "red" },
  "standing.black": { zh: "黑榜", en: "black" },
  "standing.none": { zh: "无", en: "none" },
  "credit.search": { zh: "搜索", en: "Search" },
  "credit.col.party": { zh: "责任主体", en: "Party" },
  "credit.col.shops": { zh: "商户", en: "Shops" },
  "credit.col.street": { zh: "街道", en: "Street" },
  "credit.col.score": { zh: "分数", en: "Score" },
  "credit.col.standing": { zh: "榜单", en: "Standing" },
  "credit.col.at": { zh: "时间", en: "At" },
  "credit.col.fact": { zh: "事项", en: "Fact" },
  "credit.col.points": { zh: "分值", en: "Points" },
  "credit.col.case": { zh: "案件", en: "Case" },
  "credit.col.note": { zh: "说明", en: "Note" },
  "credit.col.event": { zh: "变动", en: "Event" },
  "credit.col.reason": { zh: "原因", en: "Reason" },
  "credit.contributions": { zh: "得分明细", en: "Contributions" },
  "credit.no_contributions": {
    zh: "窗口期内没有事项：分数即基础分。", en: "Nothing in the window: the score is the base.",
  },
  "credit.events": { zh: "榜单变动", en: "List events" },
  "credit.no_parties": { zh: "没有责任主体", en: "no parties" },
  "credit.explain": { zh: "{party} · {score}（{standing}）", en: "{party} · {score} ({standing})" },
  "credit.f.party": { zh: "责任主体", en: "Party" },
  "credit.f.shops": { zh: "商户", en: "Shops" },
  "credit.f.street": { zh: "街道", en: "Street" },
  "credit.f.score": { zh: "当前分数", en: "Score now" },
  "credit.f.score.value": {
    zh: "{score} = 基础分 {base} + 下列事项（近 {days} 天）",
    en: "{score} = base {base} + the facts below (last {days} days)",
  },
  "credit.f.listed": { zh: "榜单", en: "On the lists" },
  "credit.f.listed.value": { zh: "{standing}（{score} 分，{at}）", en: "{standing} (score {score}, {at})" },
  "credit.f.listed.none": { zh: "尚未计算", en: "not scored yet" },
  "credit.f.thresholds": { zh: "阈值", en: "Thresholds" },
  "credit.f.thresholds.value": {
    zh: "{red} 分及以上上红榜，{black} 分及以下上黑榜", en: "red at {red} or more, black at {black} or less",
  },
  "credit.inspection": { zh: "巡查 {id}", en: "inspection {id}" },
  "credit.case": { zh: "案件 #{id} · {kind} · {state}", en: "Case #{id} · {kind} · {state}" },
  "credit.case.shop": { zh: "商户", en: "Shop" },
  "credit.case.source": { zh: "来源", en: "Source" },
  "credit.case.opened": { zh: "立案时间", en: "Opened" },
  "credit.case.open311": { zh: "城市平台状态", en: "Open311" },
  "credit.case.linked": { zh: "关联案件", en: "Linked case" },
  "credit.note": { zh: "备注（{state}）", en: "note ({state})" },
  "credit.recomputed": {
    zh: "已重新计算 {parties} 个责任主体：红榜 {red}，黑榜 {black}，榜单变动 {events} 项。",
    en: "Recomputed {parties} parties: {red} red, {black} black, {events} list change(s).",
  },
  "credit.staff_only": { zh: "本页面仅供值班员和管理员使用。", en: "This page is for operators and admins." },
  "credit.kind.confirmed_violation": { zh: "确认违规", en: "Confirmed violation" },
  "credit.kind.escalation": { zh: "上报城市平台", en: "Escalated" },
  "credit.kind.voluntary_fix": { zh: "上报前自行整改", en: "Fixed before escalation" },
  "credit.kind.fix_time": { zh: "整改用时", en: "Time to fix" },
  "credit.kind.repeat_offence": { zh: "重复违规", en: "Repeat offence" },
  "credit.kind.inspection_passed": { zh: "巡查合格", en: "Inspection passed" },
  "credit.kind.inspection_failed": { zh: "巡查不合格", en: "Inspection failed" },
  "credit.kind.citizen_report": { zh: "市民举报属实", en: "Confirmed citizen report" },
  "event.entered_red": { zh: "上红榜", en: "entered red" },
  "event.left_red": { zh: "下红榜", en: "left red" },
  "event.entered_black": { zh: "上黑榜", en: "entered black" },
  "event.left_black": { zh: "下黑榜", en: "left black" },
});

const PAGE = 50;
let me = null;
let offset = 0;
let selected = null; // the party explained
// What was fetched, to redraw it in another language without asking again.
const lists = { red: null, black: null };
let scores = null; // the page of the score table
let party = null; // the party explained
let shownCase = null; // the case opened from a contribution

async function api(path, options = {}) {
  const res = await authorizedFetch(path, options);
  return res.json();
}

function when(iso) { return I18N.fmtTime(iso); } // the deployment's timezone (from /me), not the browser's

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

function fmt(points) { return `${points > 0 ? "+" : ""}${Number(points.toFixed(2))}`; }

function streets(party) { return [...new Set(party.shops.map((s) => s.street).filter(Boolean))].join(", "); }

function shopNames(party) { return party.shops.map((s) => s.name).join(", "); }

async function loadLists() {
  for (const standing of ["red", "black"]) {
    const order = standing === "red" ? "best" : "worst";
    lists[standing] = await api(`/credit/parties?standing=${standing}&order=${order}&limit=200`);
  }
  renderLists();
}

function renderLists() {
  for (const standing of ["red", "black"]) {
    const page = lists[standing];
    if (!page) continue;
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
  scores = await api(`/credit/parties?${params}`);
  renderScores();
}

function renderScores() {
  const page = scores;
  if (!page) return;
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
    cell(row, streets(p), "wide");
    cell(row, String(Number(p.score.toFixed(2))));
    cell(row, I18N.nameOf("standing", p.standing), `standing ${p.standing}`);
    const open = () => explain(p.party_id).catch((e) => say(e.message, true));
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
  const last = Math.min(offset + PAGE, page.total);
  $("page").textContent = page.total
    ? I18N.t("pager.range", { first: offset + 1, last, total: page.total }) : I18N.t("credit.no_parties");
  $("prev").disabled = offset === 0;
  $("next").disabled = last >= page.total;
}

function facts(dl, pairs) {
  dl.replaceChildren();
  for (const [k, v] of pairs) {
    const dt = document.createElement("dt");
    const dd = document.createElement("dd");
    dt.textContent = I18N.t(k);
    dd.textContent = v;
    dl.append(dt, dd);
  }
}

async function explain(partyId) {
  party = await api(`/credit/parties/${encodeURIComponent(partyId)}`);
  selected = party.party_id;
  shownCase = null;
  $("case").hidden = true;
  renderParty();
}

function renderParty() {
  const p = party;
  if (!p) return;
  for (const r of $("scores").tBodies[0].rows) r.classList.toggle("selected", r.dataset.partyId === selected);
  $("explain").hidden = false;
  $("explain-title").textContent = I18N.t("credit.explain", {
    party: p.party_name, score: Number(p.score.toFixed(2)), standing: I18N.nameOf("standing", p.standing),
  });
  const score = Number(p.score.toFixed(2));
  facts($("explain-facts"), [
    ["credit.f.party", p.party_id], ["credit.f.shops", shopNames(p) || "—"], ["credit.f.street", streets(p) || "—"],
    ["credit.f.score", I18N.t("credit.f.score.value", { score, base: p.base, days: p.window_days })],
    ["credit.f.listed", p.listed_standing ? I18N.t("credit.f.listed.value", {
      standing: I18N.nameOf("standing", p.listed_standing), score: p.listed_score, at: when(p.computed_at),
    }) : I18N.t("credit.f.listed.none")],
    ["credit.f.thresholds", I18N.t("credit.f.thresholds.value", { red: p.red_at, black: p.black_at })],
  ]);
  const body = $("contributions").tBodies[0];
  body.replaceChildren();
  $("no-contributions").hidden = p.contributions.length > 0;
  for (const c of p.contributions) {
    const row = body.insertRow();
    cell(row, when(c.at));
    cell(row, I18N.nameOf("credit.kind", c.kind));
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
      ref.textContent = I18N.t("credit.inspection", { id: c.inspection_id });
    }
    cell(row, c.note);
  }
  const events = $("events").tBodies[0];
  events.replaceChildren();
  for (const e of p.events) {
    const row = events.insertRow();
    cell(row, when(e.at));
    cell(row, I18N.nameOf("event", e.kind));
    cell(row, String(e.score));
    cell(row, e.reason);
  }
}

async function showCase(id) {
  shownCase = await api(`/cases/${id}`);
  renderCase();
  $("case").scrollIntoView({ block: "nearest" });
}

function renderCase() {
  const c = shownCase;
  if (!c) return;
  const state = (s) => I18N.nameOf("state", s);
  $("case").hidden = false;
  $("case-title").textContent = I18N.t("credit.case", {
    id: c.id, kind: I18N.nameOf("kind", c.kind), state: state(c.state),
  });
  facts($("case-facts"), [
    ["credit.case.shop", `${c.shop_name || "?"} (${c.shop_id})`], ["credit.case.source", I18N.nameOf("source", c.source)],
    ["credit.case.opened", when(c.opened_at)], ["credit.case.open311", I18N.nameOf("open311", c.open311_status)],
    ["credit.case.linked", c.linked_case_id ? `#${c.linked_case_id}` : "—"],
  ]);
  const ledger = $("case-ledger");
  ledger.replaceChildren();
  for (const e of c.ledger) {
    const li = document.createElement("li");
    const move = e.from_state === e.to_state ? I18N.t("credit.note", { state: state(e.to_state) })
      : `${e.from_state ? state(e.from_state) : "—"} → ${state(e.to_state)}`;
    const actor = I18N.nameOf("actor", e.actor);
    li.textContent = `${when(e.at)} · ${move} · ${actor}${e.reason ? ` · ${e.reason}` : ""}`;
    ledger.append(li);
  }
}

async function recompute() {
  $("recompute").disabled = true;
  try {
    const s = await api("/credit/recompute", { method: "POST" });
    say(I18N.t("credit.recomputed", s));
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
  me = null;
  selected = null;
  party = null;
  scores = null;
  lists.red = null;
  lists.black = null;
  shownCase = null;
  showSignIn(message, "credit", "explain");
}

async function start() {
  $("credit").hidden = false;
  try {
    me = await openSession();
    $("recompute").hidden = me.role !== "admin";
    if (me.role !== "admin" && me.role !== "operator") {
      say(I18N.t("credit.staff_only"), true);
      return;
    }
    await refresh();
    say("");
  } catch (e) {
    if (e.message !== "unauthorized") say(e.message, true);
  }
}

// Another language: redraw what is shown from what was fetched.
function relabel() {
  document.title = `frontage · ${I18N.t("credit.title")}`;
  if (!me) return;
  showWho();
  renderLists();
  renderScores();
  renderParty();
  renderCase();
}

function wire() {
  I18N.apply();
  renderNav("credit");
  I18N.mountSwitch($("lang"));
  document.title = `frontage · ${I18N.t("credit.title")}`;
  document.addEventListener("langchange", relabel);
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
