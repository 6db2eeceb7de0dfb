// The staff pages' language and time: Chinese first, English second, and every time in the deployment's timezone
// (from /me), not the browser's. A page registers its strings with I18N.add({key: {zh, en}}) and marks elements
// with data-i18n="key" (text), data-i18n-placeholder, data-i18n-title, data-i18n-aria-label or data-i18n-alt;
// I18N.apply() fills them. The choice comes from ?lang=, then the switch (kept in localStorage), then the
// browser's languages.
"use strict";

const I18N = (() => {
  const LANG_KEY = "frontage.lang";
  const dict = {};
  let tz = "Asia/Shanghai";

  function pick() {
    const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem(LANG_KEY);
    if (asked === "zh" || asked === "en") return asked;
    for (const l of navigator.languages || [navigator.language || ""]) {
      if (/^zh\b/i.test(l)) return "zh";
      if (/^en\b/i.test(l)) return "en";
    }
    return "zh";
  }
  let lang = pick();

  function add(entries) { Object.assign(dict, entries); }

  // t("key", {n: 3}) fills {n}; an unknown key shows itself, so a missing string is visible, not blank.
  function t(key, vars = {}) {
    const e = dict[key];
    const s = e ? (e[lang] ?? e.en ?? key) : key;
    return s.replace(/\{(\w+)\}/g, (m, name) => (name in vars ? String(vars[name]) : m));
  }

  // The name of a value the server sends (nameOf("state", "reminded")): its string, else the value itself, so
  // a value newer than the page still reads as something ("—" for none).
  function nameOf(group, value) {
    if (value === null || value === undefined || value === "") return "—";
    return dict[`${group}.${value}`] ? t(`${group}.${value}`) : String(value);
  }

  function apply(root = document) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const attr of ["placeholder", "title", "aria-label", "alt"]) {
      const data = `i18n${attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase())}`;
      for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) el.setAttribute(attr, t(el.dataset[data]));
    }
  }

  function setLang(next) {
    lang = next === "en" ? "en" : "zh";
    localStorage.setItem(LANG_KEY, lang);
    apply();
    document.dispatchEvent(new CustomEvent("langchange", { detail: lang }));
  }

  // A button that flips the language, labelled with the other one.
  function mountSwitch(button) {
    const label = () => { button.textContent = lang === "zh" ? "English" : "中文"; };
    label();
    button.addEventListener("click", () => { setLang(lang === "zh" ? "en" : "zh"); label(); });
  }

  // The deployment's offset from UTC at an instant, in minutes (what its wall clock reads minus UTC).
  function offsetAt(ms) {
    const parts = new Intl.DateTimeFormat("en-US", {
      timeZone: tz, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", second: "2-digit",
    }).formatToParts(new Date(ms));
    const v = Object.fromEntries(parts.map((p) => [p.type, Number(p.value)]));
    const wall = Date.UTC(v.year, v.month - 1, v.day, v.hour % 24, v.minute, v.second);
    return (wall - Math.floor(ms / 1000) * 1000) / 60000;
  }

  // "2026-03-02T16:00" (a datetime-local or date input) read as the deployment's wall clock -> an ISO instant in
  // UTC for the API; null when the text is not such a time. A filter typed on a laptop in New York still means
  // Shanghai's 16:00.
  function zonedToIso(local) {
    const m = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2}))?$/.exec(local || "");
    if (!m) return null;
    const wall = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4] || 0), Number(m[5] || 0));
    const back = new Date(wall);
    if (back.getUTCMonth() !== Number(m[2]) - 1 || back.getUTCDate() !== Number(m[3])) return null; // 2026-02-30
    let ms = wall - offsetAt(wall) * 60000;
    ms = wall - offsetAt(ms) * 60000; // once more, for an instant near a daylight-saving change
    return new Date(ms).toISOString();
  }

  // An instant -> "2026-03-02T16:00" on the deployment's wall clock, for a datetime-local input.
  function toZonedInput(iso) {
    if (!iso) return "";
    const ms = new Date(iso).getTime();
    if (Number.isNaN(ms)) return "";
    return new Date(ms + offsetAt(ms) * 60000).toISOString().slice(0, 16);
  }

  // "2026-03-02 16:00" (":00" more with seconds) on the deployment's clock, in both languages: one order that
  // nobody reads as 3 February, and the order of the datetime-local filters' values.
  function fmtTime(iso, withSeconds = false) {
    if (!iso) return "—";
    const ms = new Date(iso).getTime();
    if (Number.isNaN(ms)) return String(iso);
    const wall = new Date(ms + offsetAt(ms) * 60000).toISOString();
    return `${wall.slice(0, 10)} ${wall.slice(11, withSeconds ? 19 : 16)}`;
  }
  function fmtDay(iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date(iso)); // YYYY-MM-DD in the deployment's timezone
  }

  return {
    add, t, nameOf, apply, setLang, mountSwitch, fmtTime, fmtDay, zonedToIso, toZonedInput,
    lang: () => lang,
    timezone: () => tz,
    setTimezone(zone) { if (zone) tz = zone; },
  };
})();

I18N.add({
  "nav.cases": { zh: "案件", en: "Cases" },
  "nav.zones": { zh: "区域编辑", en: "Zones" },
  "nav.insights": { zh: "统计与热力图", en: "Statistics" },
  "nav.map": { zh: "地图", en: "Map" },
  "nav.credit": { zh: "信用", en: "Credit" },
  "session.signout": { zh: "退出", en: "Sign out" },
  "session.refresh": { zh: "刷新", en: "Refresh" },
  "session.refused": { zh: "该令牌未被接受，请重新输入。", en: "That token was not accepted. Enter it again." },
  "session.loading": { zh: "加载中…", en: "Loading…" },
  "session.who": { zh: "{name}（{role}）", en: "{name} ({role})" },
  "login.title": { zh: "登录", en: "Sign in" },
  "login.token": { zh: "API 令牌", en: "API token" },
  "login.hint": {
    zh: "令牌只保存在本标签页（sessionStorage）。", en: "The token stays in this tab only (sessionStorage).",
  },
  "role.admin": { zh: "管理员", en: "admin" },
  "role.operator": { zh: "值班员", en: "operator" },
  "role.merchant": { zh: "商户", en: "merchant" },
  "role.inspector": { zh: "巡查员", en: "inspector" },
  "lang.switch": { zh: "切换语言", en: "Switch language" },
  "nav.label": { zh: "页面", en: "Pages" },
  "pager.prev": { zh: "‹ 上一页", en: "‹ Previous" },
  "pager.next": { zh: "下一页 ›", en: "Next ›" },
  "pager.size": { zh: "每页", en: "Per page" },
  "pager.range": { zh: "第 {first}–{last} 条，共 {total} 条", en: "{first}–{last} of {total}" },
  "pager.none": { zh: "共 0 条", en: "0 of 0" },
  // the case vocabulary every page shows: kinds, sources, states, who moved a case
  "kind.illegal_parking": { zh: "违停", en: "Illegal parking" },
  "kind.out_of_store_trading": { zh: "店外经营", en: "Out-of-store trading" },
  "kind.piled_materials": { zh: "堆物堆料", en: "Piled materials" },
  "kind.litter": { zh: "垃圾", en: "Litter" },
  "kind.other": { zh: "其他", en: "Other" },
  "kind.inspection_failed": { zh: "巡查不合格", en: "Inspection failed" },
  "source.camera": { zh: "摄像头", en: "camera" },
  "source.citizen": { zh: "市民举报", en: "citizen report" },
  "source.inspector": { zh: "巡查员", en: "inspector" },
  "state.reported": { zh: "待核实", en: "reported" },
  "state.detected": { zh: "已发现", en: "detected" },
  "state.reminded": { zh: "已提醒", en: "reminded" },
  "state.escalated": { zh: "已上报", en: "escalated" },
  "state.resolved": { zh: "已整改", en: "resolved" },
  "state.closed": { zh: "已办结", en: "closed" },
  "state.dismissed": { zh: "已驳回", en: "dismissed" },
  "open311.open": { zh: "处理中", en: "open" },
  "open311.closed": { zh: "已结束", en: "closed" },
  "actor.system": { zh: "系统", en: "system" },
  "actor.operator": { zh: "值班员", en: "operator" },
  "actor.merchant": { zh: "商户", en: "merchant" },
  "actor.dispatch": { zh: "城市平台", en: "dispatch" },
  "actor.citizen": { zh: "市民", en: "citizen" },
  "actor.inspector": { zh: "巡查员", en: "inspector" },
});

// The console's pages, in one place; renderNav(active) fills <nav id="pages"> on every staff page.
// Merchants and inspectors see only the cases page: the others are for staff (limitNav, once /me is known).
const PAGES = [
  ["cases", "/"], ["zones", "/zones", "staff"], ["insights", "/insights", "staff"], ["map", "/map", "staff"],
  ["credit", "/credit", "staff"],
];
function renderNav(active, nav = document.getElementById("pages")) {
  if (!nav) return;
  nav.replaceChildren(...PAGES.map(([key, href, who]) => {
    const a = document.createElement("a");
    a.href = href;
    a.dataset.i18n = `nav.${key}`;
    a.textContent = I18N.t(`nav.${key}`);
    if (who) a.dataset.for = who;
    if (key === active) a.setAttribute("aria-current", "page");
    return a;
  }));
}
function limitNav(role, nav = document.getElementById("pages")) {
  const staff = role === "admin" || role === "operator";
  for (const a of nav ? nav.querySelectorAll("a[data-for=staff]") : []) a.hidden = !staff;
}
