// The console's cases page: every case the token may see, filtered (state, kind, source, shop, camera, time range,
// free text) and paged, with the filters kept in the URL so a view can be shared or reloaded; one case's evidence,
// facts and ledger, with the actions the role may take (operators: confirm, dismiss, escalate, resolve, "belongs
// here"; merchants: acknowledge, resolve, a photo of the fix); for operators and admins also camera alerts (a
// camera moved or tampered with: its rules are suspended until someone confirms the view).
// Snapshots need the bearer token, so they are fetched and shown as blob: URLs. All text goes in via
// textContent, never innerHTML: case data must not be able to inject markup. Times are the deployment's (/me).
"use strict";

I18N.add({
  "cases.title": { zh: "案件", en: "cases" },
  "cases.open": { zh: "打开案件", en: "Open the cases" },
  "cases.list": { zh: "案件列表", en: "Cases" },
  "cases.empty": { zh: "没有符合条件的案件。", en: "No cases match." },
  "alerts.label": { zh: "摄像头告警", en: "Camera alerts" },
  "tabs.label": { zh: "视图", en: "Views" },
  "tabs.cases": { zh: "案件", en: "Cases" },
  "tabs.shops": { zh: "商户", en: "Shops" },
  "filters.toggle": { zh: "筛选", en: "Filters" },
  "filters.label": { zh: "筛选案件", en: "Filter the cases" },
  "filters.q": { zh: "搜索", en: "Search" },
  "filters.q.hint": { zh: "案件号、商户名称或编号", en: "Case number, shop name or id" },
  "filters.state": { zh: "状态", en: "State" },
  "filters.kind": { zh: "类型", en: "Kind" },
  "filters.source": { zh: "来源", en: "Source" },
  "filters.shop": { zh: "商户", en: "Shop" },
  "filters.shop.hint": { zh: "商户编号", en: "Shop id" },
  "filters.camera": { zh: "摄像头", en: "Camera" },
  "filters.camera.hint": { zh: "摄像头编号", en: "Camera id" },
  "filters.from": { zh: "立案时间自", en: "Opened from" },
  "filters.to": { zh: "立案时间至", en: "Opened before" },
  "filters.tz": { zh: "时间均按部署时区 {tz}", en: "Times are in the deployment's timezone, {tz}" },
  "filters.apply": { zh: "应用", en: "Apply" },
  "filters.clear": { zh: "清除筛选", en: "Clear filters" },
  "filters.any": { zh: "全部", en: "Any" },
  "filters.open": { zh: "未结案件", en: "Open cases" },
  "filters.done": { zh: "已结案件", en: "Finished cases" },
  "filters.all": { zh: "全部案件", en: "All cases" },
  "filters.bad_time": { zh: "请按 年-月-日 时:分 填写时间。", en: "Enter the time as year-month-day hour:minute." },
  "filters.inverted": { zh: "“立案时间自”须早于“立案时间至”。", en: "“Opened from” must be before “Opened before”." },
  "col.snapshot": { zh: "截图", en: "Snapshot" },
  "col.case": { zh: "案件", en: "Case" },
  "col.kind": { zh: "类型", en: "Kind" },
  "col.source": { zh: "来源", en: "Source" },
  "col.shop": { zh: "商户", en: "Shop" },
  "col.object": { zh: "目标", en: "Object" },
  "col.state": { zh: "状态", en: "State" },
  "col.opened": { zh: "立案时间", en: "Opened" },
  "object.car": { zh: "汽车", en: "car" },
  "object.truck": { zh: "货车", en: "truck" },
  "object.bus": { zh: "客车", en: "bus" },
  "object.motorcycle": { zh: "摩托车/电动车", en: "motorcycle" },
  "object.bicycle": { zh: "自行车", en: "bicycle" },
  "object.chair": { zh: "椅子", en: "chair" },
  "object.bench": { zh: "长凳", en: "bench" },
  "object.dining table": { zh: "桌子", en: "dining table" },
  "object.potted plant": { zh: "盆栽", en: "potted plant" },
  "object.umbrella": { zh: "遮阳伞", en: "umbrella" },
  "object.static_object": { zh: "堆放物品", en: "goods" },
  "object.person": { zh: "行人", en: "person" },
  "detail.back": { zh: "‹ 返回列表", en: "‹ Back to the list" },
  "detail.snapshot": { zh: "证据截图", en: "Evidence snapshot" },
  "detail.title": { zh: "案件 #{id} · {kind} · {state}", en: "Case #{id} · {kind} · {state}" },
  "detail.ledger": { zh: "处理记录", en: "Ledger" },
  "fact.shop": { zh: "商户", en: "Shop" },
  "fact.source": { zh: "来源", en: "Source" },
  "fact.camera": { zh: "摄像头", en: "Camera" },
  "fact.object": { zh: "目标", en: "Object" },
  "fact.first_seen": { zh: "首次发现", en: "First seen" },
  "fact.opened": { zh: "立案时间", en: "Opened" },
  "fact.dwell": { zh: "停留时长", en: "Dwell" },
  "fact.dwell.value": { zh: "{s} 秒", en: "{s} s" },
  "fact.remind_due": { zh: "提醒时间", en: "Reminder due" },
  "fact.escalate_due": { zh: "整改期限", en: "Fix by" },
  "fact.confirmed": { zh: "确认时间", en: "Confirmed" },
  "fact.cleared": { zh: "消失时间", en: "Cleared" },
  "fact.open311": { zh: "城市平台状态", en: "Open311" },
  "fact.request": { zh: "平台工单号", en: "Service request" },
  "fact.linked": { zh: "关联案件", en: "Linked case" },
  "fact.unknown_shop": { zh: "未知商户", en: "unknown shop" },
  "ledger.at": { zh: "时间", en: "At" },
  "ledger.move": { zh: "变更", en: "Move" },
  "ledger.actor": { zh: "操作人", en: "Actor" },
  "ledger.reason": { zh: "说明", en: "Reason" },
  "ledger.data": { zh: "数据", en: "Data" },
  "ledger.note": { zh: "备注（{state}）", en: "note ({state})" },
  "actions.note": { zh: "备注（确认时可不填）", en: "Note (optional for confirm)" },
  "actions.note.merchant": { zh: "备注（可不填）", en: "Note (optional)" },
  "actions.confirm": { zh: "确认", en: "Confirm" },
  "actions.confirm_report": { zh: "确认举报", en: "Confirm report" },
  "actions.confirm_report.title": {
    zh: "举报属实：立即提醒责任方", en: "The report is true: remind the responsible party now",
  },
  "actions.acknowledge": { zh: "已知悉", en: "Acknowledge" },
  "actions.acknowledge.title": { zh: "告知已收到提醒", en: "Say that the reminder has been seen" },
  "actions.resolve": { zh: "已整改", en: "Resolved" },
  "actions.resolve.title": { zh: "问题已消除", en: "The problem is gone" },
  "actions.escalate": { zh: "上报城市平台", en: "Escalate" },
  "actions.escalate.title": { zh: "立即移交城市管理平台", en: "Hand the case to the city's platform now" },
  "actions.dismiss": { zh: "驳回…", en: "Dismiss…" },
  "actions.belongs": { zh: "属于此处", en: "Belongs here" },
  "actions.belongs.title": {
    zh: "该物品允许放在此处：加入摄像头的固定设施并驳回案件",
    en: "The object is permitted here: add it to the camera's fixtures and dismiss the case",
  },
  "actions.fixed.label": { zh: "整改后照片", en: "Photo of the cleared frontage" },
  "actions.fixed.choose": { zh: "拍照或选择照片…", en: "Take or choose a photo…" },
  "actions.fixed.none": { zh: "尚未选择照片", en: "No photo chosen" },
  "actions.fixed": { zh: "上传照片并标记已整改", en: "Send photo: fixed" },
  "actions.inspector": {
    zh: "巡查员通过巡查记录处理案件（商户页面的二维码）。",
    en: "Inspectors act through inspections (the shop's signboard page).",
  },
  "action.confirm": { zh: "确认", en: "confirm" },
  "action.acknowledge": { zh: "已知悉", en: "acknowledge" },
  "action.resolve": { zh: "已整改", en: "resolve" },
  "action.escalate": { zh: "上报", en: "escalate" },
  "action.dismiss": { zh: "驳回", en: "dismiss" },
  "done.action": { zh: "案件 #{id}：已记录“{action}”。", en: "Case #{id}: {action} recorded." },
  "done.fixed": { zh: "案件 #{id}：整改照片已上传，案件已整改。", en: "Case #{id}: photo sent, case resolved." },
  "done.belongs": {
    zh: "案件 #{id}：已标记为属于此处（摄像头 {camera} 基线 v{version}）。",
    en: "Case #{id}: marked as belonging here (camera {camera} baseline v{version}).",
  },
  "dismiss.title": { zh: "驳回此案件", en: "Dismiss this case" },
  "dismiss.why": { zh: "为什么这不是违规？", en: "Why is this not a violation?" },
  "dismiss.cancel": { zh: "取消", en: "Cancel" },
  "dismiss.submit": { zh: "驳回案件", en: "Dismiss case" },
  "alert.moved": {
    zh: "摄像头 {camera} 已移位{reason}。确认画面前，其规则暂停。",
    en: "Camera {camera} moved{reason}. Rules suspended until the view is confirmed.",
  },
  "alert.tampered": {
    zh: "摄像头 {camera} 被遮挡或破坏{reason}。确认画面前，其规则暂停。",
    en: "Camera {camera} was tampered with{reason}. Rules suspended until the view is confirmed.",
  },
  "alert.confirm": { zh: "确认画面", en: "Confirm view" },
  "alert.confirm.title": { zh: "以摄像头 {camera} 当前画面为新的参考画面", en: "Accept camera {camera}'s current view as its new reference" },
  "alert.confirmed": { zh: "摄像头 {camera}：画面已确认。", en: "Camera {camera}: view confirmed." },
  "snapshot.of": { zh: "案件 {id} 的截图", en: "Snapshot of case {id}" },
  "snapshot.none": { zh: "无截图", en: "no snapshot" },
});

const blobs = new Map(); // snapshot path -> object URL (evidence never changes)
let current = null; // the case id shown in the detail pane
let shownCase = null; // that case as last fetched, to redraw it in another language
let lastPage = null; // the list as last fetched
let lastCameras = []; // the cameras as last fetched (alerts)
let me = null; // who the token belongs to (/me)
let listRequest = 0; // the newest list request: an older answer arriving late is dropped
const STAFF = new Set(["admin", "operator"]);
const STATES = ["reported", "detected", "reminded", "escalated", "resolved", "closed", "dismissed"];
const KINDS = ["illegal_parking", "out_of_store_trading", "piled_materials", "litter", "other", "inspection_failed"];
const SOURCES = ["camera", "citizen", "inspector"];
const SIZES = [20, 50, 100];
const FILTERS = ["q", "state", "kind", "source", "shop", "camera", "from", "to"];
const OPEN_STATES = new Set(["reported", "detected", "reminded", "escalated"]);
const BELONGS_STATES = new Set(["detected", "reminded", "dismissed"]);
const FIXABLE = new Set(["detected", "reminded"]);
const DISMISSABLE = new Set(["reported", "detected", "reminded"]);
const NARROW = window.matchMedia("(max-width: 900px)"); // one pane at a time (review.css)

function isStaff() { return Boolean(me) && STAFF.has(me.role); }
function isMerchant() { return Boolean(me) && me.role === "merchant"; }

async function api(path, options = {}) {
  return authorizedFetch(path, options);
}

async function snapshot(path) {
  if (!blobs.has(path)) {
    const res = await api(path);
    blobs.set(path, URL.createObjectURL(await res.blob()));
  }
  return blobs.get(path);
}

function when(iso) { return I18N.fmtTime(iso, true); }
const label = (group, value) => I18N.nameOf(group, value);

function cell(row, text, cls) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  return td;
}

// --- the view, as the URL holds it ------------------------------------------------------------------------------

function readView() {
  const p = new URLSearchParams(location.search);
  const view = {};
  for (const key of FILTERS) view[key] = (p.get(key) || "").trim();
  if (!view.state) view.state = "open"; // the work queue unless asked otherwise
  const size = Number(p.get("size"));
  view.size = SIZES.includes(size) ? size : SIZES[0];
  view.page = Math.max(1, Number.parseInt(p.get("page"), 10) || 1);
  view.case = /^[1-9]\d{0,15}$/.test(p.get("case") || "") ? Number(p.get("case")) : null;
  return view;
}

function writeView(view, push) {
  const p = new URLSearchParams(location.search); // keeps what is not ours (lang)
  for (const key of FILTERS) {
    if (view[key] && !(key === "state" && view.state === "open")) p.set(key, view[key]); else p.delete(key);
  }
  if (view.size !== SIZES[0]) p.set("size", String(view.size)); else p.delete("size");
  if (view.page > 1) p.set("page", String(view.page)); else p.delete("page");
  if (view.case) p.set("case", String(view.case)); else p.delete("case");
  const query = p.toString();
  const url = `${location.pathname}${query ? `?${query}` : ""}`;
  if (url !== `${location.pathname}${location.search}`) history[push ? "pushState" : "replaceState"](null, "", url);
}

let view = readView();

function options(select, pairs, selected) {
  select.replaceChildren(...pairs.map(([value, text]) => new Option(text, value, false, value === selected)));
  select.value = pairs.some(([value]) => value === selected) ? selected : pairs[0][0];
}

function fillFilterChoices() {
  options($("f-state"), [
    ["open", I18N.t("filters.open")], ["done", I18N.t("filters.done")], ["all", I18N.t("filters.all")],
    ...STATES.map((s) => [s, label("state", s)]),
  ], view.state);
  options($("f-kind"), [["", I18N.t("filters.any")], ...KINDS.map((k) => [k, label("kind", k)])], view.kind);
  options($("f-source"), [["", I18N.t("filters.any")], ...SOURCES.map((s) => [s, label("source", s)])], view.source);
  $("tz-hint").textContent = I18N.t("filters.tz", { tz: I18N.timezone() });
}

function viewToForm() {
  fillFilterChoices();
  for (const key of ["q", "shop", "camera", "from", "to"]) $(`f-${key}`).value = view[key];
  $("f-size").value = String(view.size);
  const active = FILTERS.filter((k) => view[k] && !(k === "state" && view.state === "open")).length;
  $("filters-active").textContent = active ? `(${active})` : "";
}

function formToView() {
  const next = { ...view, page: 1, case: view.case };
  for (const key of ["q", "state", "kind", "source", "shop", "camera", "from", "to"]) {
    next[key] = $(`f-${key}`).value.trim();
  }
  next.size = Number($("f-size").value) || SIZES[0];
  return next;
}

// The API's query for a view; throws with the reason when the time range cannot be read.
function listQuery(v) {
  const params = new URLSearchParams({ limit: String(v.size), offset: String((v.page - 1) * v.size) });
  if (v.state === "open") params.set("open", "true");
  else if (v.state === "done") params.set("open", "false");
  else if (STATES.includes(v.state)) params.set("state", v.state);
  if (KINDS.includes(v.kind)) params.set("kind", v.kind);
  if (SOURCES.includes(v.source)) params.set("source", v.source);
  if (v.shop) params.set("shop_id", v.shop);
  if (v.camera) params.set("camera_id", v.camera);
  if (v.q) params.set("q", v.q);
  const range = {};
  for (const [key, param] of [["from", "opened_from"], ["to", "opened_to"]]) {
    if (!v[key]) continue;
    range[key] = I18N.zonedToIso(v[key]);
    if (!range[key]) throw new Error(I18N.t("filters.bad_time"));
    params.set(param, range[key]);
  }
  if (range.from && range.to && range.from > range.to) throw new Error(I18N.t("filters.inverted"));
  return params;
}

// --- the list ---------------------------------------------------------------------------------------------------

async function loadList() {
  const ticket = ++listRequest;
  const params = listQuery(view);
  const page = await (await api(`/cases?${params}`)).json();
  if (ticket !== listRequest) return;
  if (!page.items.length && page.total && view.page > 1) { // past the end (cases closed meanwhile): the last page
    view.page = Math.ceil(page.total / view.size);
    writeView(view, false);
    await loadList();
    return;
  }
  lastPage = page;
  renderList();
}

function renderList() {
  const page = lastPage;
  if (!page) return;
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
    img.alt = I18N.t("snapshot.of", { id: c.id });
    row.insertCell().append(img);
    row.cells[0].className = "c-thumb";
    if (c.snapshot_url) {
      snapshot(c.snapshot_url).then((url) => { img.src = url; }).catch(() => { img.alt = I18N.t("snapshot.none"); });
    }
    cell(row, `#${c.id}`, "c-id");
    cell(row, label("kind", c.kind), "c-kind");
    cell(row, label("source", c.source), `c-source source ${c.source}`);
    cell(row, c.shop_name || c.shop_id, "c-shop");
    cell(row, label("object", c.object_class), "c-object");
    cell(row, label("state", c.state), `c-state state ${c.state}`);
    cell(row, when(c.opened_at), "c-opened");
    const open = () => openCase(c.id);
    row.addEventListener("click", open);
    row.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
  }
  const first = page.items.length ? page.offset + 1 : 0;
  const last = page.offset + page.items.length;
  $("range").textContent = page.total
    ? I18N.t("pager.range", { first, last, total: page.total }) : I18N.t("pager.none");
  $("prev").disabled = page.offset === 0;
  $("next").disabled = last >= page.total;
}

async function applyView(next, push) {
  view = next;
  writeView(view, push);
  viewToForm();
  await loadList();
}

function fail(e) { if (e.message !== "unauthorized") say(e.message, true); }

// --- one case ---------------------------------------------------------------------------------------------------

function openCase(id) {
  view.case = id;
  writeView(view, true);
  showCase(id).catch(fail);
}

function closeCase(push = true) {
  const id = current;
  current = null;
  shownCase = null;
  view.case = null;
  if (push) writeView(view, true);
  $("detail").hidden = true;
  $("review").classList.remove("reading");
  for (const r of $("queue").tBodies[0].rows) r.classList.remove("selected");
  const row = id && $("queue").querySelector(`tbody tr[data-case-id='${id}']`);
  if (row) row.focus();
}

async function showCase(id) {
  const c = await (await api(`/cases/${id}`)).json();
  current = c.id;
  shownCase = c;
  $("detail").hidden = false;
  $("review").classList.add("reading");
  await renderCase();
  if (NARROW.matches) window.scrollTo(0, 0);
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

async function renderCase() {
  const c = shownCase;
  if (!c) return;
  for (const r of $("queue").tBodies[0].rows) r.classList.toggle("selected", Number(r.dataset.caseId) === c.id);
  $("detail-title").textContent = I18N.t("detail.title", {
    id: c.id, kind: label("kind", c.kind), state: label("state", c.state),
  });
  const camera = c.source === "camera";
  const shown = [
    ["fact.shop", `${c.shop_name || I18N.t("fact.unknown_shop")} (${c.shop_id})`],
    ["fact.source", label("source", c.source)],
    ["fact.camera", camera ? c.camera_id : "—"],
    ["fact.object", camera ? label("object", c.object_class) : "—"],
    ["fact.opened", when(c.opened_at)],
    ...(camera ? [["fact.first_seen", when(c.first_seen_at)],
      ["fact.dwell", I18N.t("fact.dwell.value", { s: Math.round(c.dwell_s) })]] : []),
    ["fact.open311", label("open311", c.open311_status)],
    ...(c.remind_due_at ? [["fact.remind_due", when(c.remind_due_at)]] : []),
    ...(c.escalate_due_at ? [["fact.escalate_due", when(c.escalate_due_at)]] : []),
    ["fact.confirmed", when(c.confirmed_at)],
    ...(c.cleared_at ? [["fact.cleared", when(c.cleared_at)]] : []),
    ...(c.service_request_id ? [["fact.request", c.service_request_id]] : []),
    ["fact.linked", c.linked_case_id ? `#${c.linked_case_id}` : "—"],
  ];
  facts($("facts"), shown);
  renderActions(c);
  const ledger = $("ledger").tBodies[0];
  ledger.replaceChildren();
  for (const e of c.ledger) {
    const row = ledger.insertRow();
    cell(row, when(e.at), "l-at");
    cell(row, e.from_state === e.to_state ? I18N.t("ledger.note", { state: label("state", e.to_state) })
      : `${e.from_state ? label("state", e.from_state) : "—"} → ${label("state", e.to_state)}`, "l-move");
    cell(row, label("actor", e.actor), "l-actor");
    cell(row, e.reason, "l-reason");
    const data = Object.entries(e.data).filter(([k]) => k !== "box").map(([k, v]) => `${k}=${dataText(v)}`);
    cell(row, data.join(" "), "data l-data");
  }
  const img = $("detail-snapshot");
  EvidenceView.show(c, isStaff()); // evidence.js: what the picture hides, staff's logged original, retention
  img.hidden = !c.snapshot_url;
  if (!c.snapshot_url) img.removeAttribute("src");
  else {
    const url = await snapshot(c.snapshot_url);
    if (shownCase === c) img.src = url;
  }
}

// A ledger entry's extra facts as text; an instant (a deadline) on the deployment's clock like every time shown.
function dataText(v) {
  if (typeof v !== "string") return JSON.stringify(v);
  return /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:\d{2})$/.test(v) ? when(v) : v;
}

function showPhotoName() {
  const file = $("fixed-photo").files[0];
  $("fixed-name").textContent = file ? file.name : I18N.t("actions.fixed.none");
}

// The buttons the role has, enabled where the case's state allows the move.
function renderActions(c) {
  const staff = isStaff();
  const merchant = isMerchant();
  const open = c.open311_status === "open";
  const show = (id, yes) => { $(id).hidden = !yes; };
  show("confirm", staff);
  show("escalate", staff);
  show("dismiss", staff);
  show("belongs", staff && c.source === "camera"); // a fixture of the camera's view
  show("resolve", staff || merchant);
  show("acknowledge", merchant);
  show("fixed-form", merchant);
  show("note", staff || merchant);
  show("actions-hint", !staff && !merchant);
  $("note").placeholder = I18N.t(merchant ? "actions.note.merchant" : "actions.note");
  showPhotoName();
  $("actions-hint").textContent = I18N.t("actions.inspector");
  $("confirm").disabled = !open;
  // a citizen's report waits in `reported` until an operator confirms it (the reminder clock starts) or dismisses it
  $("confirm").textContent = I18N.t(c.state === "reported" ? "actions.confirm_report" : "actions.confirm");
  $("confirm").title = c.state === "reported" ? I18N.t("actions.confirm_report.title") : "";
  $("dismiss").disabled = !DISMISSABLE.has(c.state);
  $("escalate").disabled = !FIXABLE.has(c.state);
  $("resolve").disabled = !FIXABLE.has(c.state);
  $("acknowledge").disabled = !OPEN_STATES.has(c.state);
  for (const el of $("fixed-form").elements) el.disabled = !FIXABLE.has(c.state);
  $("belongs").disabled = !BELONGS_STATES.has(c.state);
}

async function afterAction(id, message) {
  say(message);
  await loadList();
  if (current === id) await showCase(id);
}

async function act(action, reason) {
  const id = current;
  await api(`/cases/${id}/actions`, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ action, reason }),
  });
  $("note").value = "";
  await afterAction(id, I18N.t("done.action", { id, action: I18N.t(`action.${action}`) }));
}

async function sendFixed() {
  const id = current;
  const form = new FormData();
  form.append("photo", $("fixed-photo").files[0]);
  const note = $("note").value.trim();
  if (note) form.append("reason", note);
  await api(`/cases/${id}/fixed`, { method: "POST", body: form });
  $("fixed-form").reset();
  showPhotoName();
  $("note").value = "";
  await afterAction(id, I18N.t("done.fixed", { id }));
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
  await afterAction(id, I18N.t("done.belongs", {
    id, camera: out.baseline.camera_id, version: out.baseline.version,
  }));
}

// --- camera alerts and the filters' suggestions -------------------------------------------------------------------

async function loadAlerts() {
  if (!isStaff()) { // merchants and inspectors may not read the cameras; they get no camera alerts
    lastCameras = [];
    renderAlerts();
    return;
  }
  lastCameras = await (await api("/cameras")).json();
  renderAlerts();
  const list = $("camera-options");
  list.replaceChildren(...lastCameras.map((cam) => new Option(cam.name, cam.id)));
}

function renderAlerts() {
  const box = $("alerts");
  box.replaceChildren();
  for (const cam of lastCameras) {
    if (cam.view_state !== "moved" && cam.view_state !== "tampered") continue;
    const alert = document.createElement("div");
    alert.className = "alert";
    alert.dataset.cameraId = cam.id;
    alert.setAttribute("role", "alert");
    const text = document.createElement("span");
    const reason = (cam.view_reason || "").trim().replace(/\.+$/, "");
    text.textContent = I18N.t(`alert.${cam.view_state}`, { camera: cam.id, reason: reason ? `: ${reason}` : "" });
    const button = document.createElement("button");
    button.type = "button";
    button.className = "confirm-view";
    button.textContent = I18N.t("alert.confirm");
    button.title = I18N.t("alert.confirm.title", { camera: cam.id });
    button.addEventListener("click", () => confirmView(cam.id, button).catch(fail));
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
  say(I18N.t("alert.confirmed", { camera: cameraId }));
  await loadAlerts();
}

async function loadShopChoices() {
  $("f-shop-field").hidden = isMerchant(); // a merchant sees its own shop only
  if (isMerchant()) return;
  const page = await (await api("/shops?limit=200")).json();
  $("shop-options").replaceChildren(...page.items.map((s) => new Option(s.name, s.id)));
}

// --- session ----------------------------------------------------------------------------------------------------

function signOut(message) {
  me = null;
  lastCameras = [];
  lastPage = null;
  $("alerts").replaceChildren();
  $("alerts").hidden = true;
  for (const url of blobs.values()) URL.revokeObjectURL(url);
  blobs.clear();
  current = null;
  shownCase = null;
  $("review").classList.remove("reading");
  if (typeof shopsSignOut === "function") shopsSignOut(); // the Shops tab (shops.js)
  showSignIn(message, "review", "detail");
}

async function start() {
  $("review").hidden = false;
  if (typeof shopsStart === "function") shopsStart(); // back on the Cases tab
  try {
    me = await openSession();
    view = readView();
    viewToForm();
    await loadList();
    if (view.case) await showCase(view.case); else closeCase(false);
    await loadAlerts();
    say("");
    loadShopChoices().catch(fail);
  } catch (e) {
    fail(e);
  }
}

function relabel() {
  const p = new URLSearchParams(location.search);
  if (p.has("lang")) { // the switch wins over a ?lang= the page was opened with
    p.set("lang", I18N.lang());
    history.replaceState(null, "", `${location.pathname}?${p}`);
  }
  document.title = `frontage · ${I18N.t("cases.title")}`;
  if (!me) return;
  showWho();
  viewToForm();
  renderList();
  renderAlerts();
  renderCase().catch(fail);
}

function wire() {
  I18N.apply();
  renderNav("cases");
  I18N.mountSwitch($("lang"));
  document.title = `frontage · ${I18N.t("cases.title")}`;
  document.addEventListener("langchange", relabel);
  wireSignIn(start);
  $("refresh").addEventListener("click", () => start());
  $("filters-toggle").addEventListener("click", () => {
    const open = !$("filters").classList.contains("open");
    $("filters").classList.toggle("open", open);
    $("filters-toggle").setAttribute("aria-expanded", String(open));
  });
  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    applyView(formToView(), true).catch(fail);
  });
  for (const id of ["f-state", "f-kind", "f-source", "f-size"]) {
    $(id).addEventListener("change", () => applyView(formToView(), true).catch(fail));
  }
  $("f-clear").addEventListener("click", () => {
    applyView({ ...readView(), ...Object.fromEntries(FILTERS.map((k) => [k, ""])), state: "open", page: 1 }, true)
      .catch(fail);
  });
  $("prev").addEventListener("click", () => applyView({ ...view, page: Math.max(1, view.page - 1) }, true).catch(fail));
  $("next").addEventListener("click", () => applyView({ ...view, page: view.page + 1 }, true).catch(fail));
  window.addEventListener("popstate", () => {
    if (!me) return;
    view = readView();
    viewToForm();
    loadList().then(() => (view.case ? showCase(view.case) : closeCase(false))).catch(fail);
  });
  $("detail-back").addEventListener("click", () => closeCase());
  $("confirm").addEventListener("click", () => act("confirm", $("note").value).catch(fail));
  $("acknowledge").addEventListener("click", () => act("acknowledge", $("note").value).catch(fail));
  $("resolve").addEventListener("click", () => act("resolve", $("note").value).catch(fail));
  $("escalate").addEventListener("click", () => act("escalate", $("note").value).catch(fail));
  $("belongs").addEventListener("click", () => belongs().catch(fail));
  $("fixed-photo").addEventListener("change", showPhotoName);
  $("fixed-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sendFixed().catch(fail);
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
    act("dismiss", reason).catch(fail);
  });
  if (token()) start(); else signOut();
}

wire();
