// The staff pages' language and time: Chinese first, English second, and every time in the deployment's timezone
// (from /me), not the browser's. A page registers its strings with I18N.add({key: {zh, en}}) and marks elements
// with data-i18n="key" (text), data-i18n-placeholder, data-i18n-title or data-i18n-aria-label; I18N.apply() fills
// them. The choice comes from ?lang=, then the switch (kept in localStorage), then the browser's languages.
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

  function apply(root = document) {
    document.documentElement.lang = lang === "zh" ? "zh-CN" : "en";
    for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
    for (const attr of ["placeholder", "title", "aria-label"]) {
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

  const locale = () => (lang === "zh" ? "zh-CN" : "en-GB");
  function fmtTime(iso, withSeconds = false) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat(locale(), {
      timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit", ...(withSeconds ? { second: "2-digit" } : {}), hour12: false,
    }).format(new Date(iso));
  }
  function fmtDay(iso) {
    if (!iso) return "—";
    return new Intl.DateTimeFormat("en-CA", { timeZone: tz, year: "numeric", month: "2-digit", day: "2-digit" })
      .format(new Date(iso)); // YYYY-MM-DD in the deployment's timezone
  }

  return {
    add, t, apply, setLang, mountSwitch, fmtTime, fmtDay,
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
});

// The console's pages, in one place; renderNav(active) fills <nav id="pages"> on every staff page.
const PAGES = [
  ["cases", "/"], ["zones", "/zones"], ["insights", "/insights"], ["map", "/map"], ["credit", "/credit"],
];
function renderNav(active, nav = document.getElementById("pages")) {
  if (!nav) return;
  nav.replaceChildren(...PAGES.map(([key, href]) => {
    const a = document.createElement("a");
    a.href = href;
    a.dataset.i18n = `nav.${key}`;
    a.textContent = I18N.t(`nav.${key}`);
    if (key === active) a.setAttribute("aria-current", "page");
    return a;
  }));
}
