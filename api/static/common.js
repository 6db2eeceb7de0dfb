// What the staff pages share: the token kept for this tab, the status line, and fetch with the token, which
// turns a refused token into the page's own signOut() and any other error into a message with its reason.
"use strict";

const TOKEN_KEY = "frontage.token"; // one key for the review and credit pages: signing in on one signs in on both
const $ = (id) => document.getElementById(id);

// A string of i18n.js when the page loaded it (every staff page does), else the English text.
function i18nText(key, english, vars) {
  return typeof I18N === "undefined" ? english : I18N.t(key, vars);
}

function token() { return sessionStorage.getItem(TOKEN_KEY); }

function say(text, isError = false) {
  const el = $("status");
  el.textContent = text;
  el.className = isError ? "error" : "";
}

async function authorizedFetch(path, options = {}) {
  const headers = { Authorization: `Bearer ${token()}`, ...(options.headers || {}) };
  const res = await fetch(path, { ...options, headers });
  if (res.status === 401) {
    signOut(i18nText("session.refused", "That token was not accepted. Enter it again.")); // each page defines its own
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

// The sign-in form keeps the token for this tab and starts the page; "Sign out" calls the page's signOut().
function wireSignIn(start) {
  $("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    $("token").value = "";
    start();
  });
  $("signout").addEventListener("click", () => signOut());
}

// Signed out, on every staff page: the token forgotten, the page's panes and the session bar hidden, the form shown.
function showSignIn(message, ...panes) {
  sessionStorage.removeItem(TOKEN_KEY);
  for (const id of [...panes, "session"]) $(id).hidden = true;
  $("login").hidden = false;
  say(message || "", Boolean(message));
  $("token").focus();
}

// Signed in: the form hidden, the session bar shown, and who the token is. Every time the page shows is then on
// the deployment's clock (I18N.setTimezone), and the holder's name and role follow the language switch.
let sessionHolder = null;
function showWho() {
  if (sessionHolder) {
    const { name, role } = sessionHolder;
    $("who").textContent = I18N.t("session.who", { name, role: I18N.nameOf("role", role) });
  }
}
async function openSession() {
  $("login").hidden = true;
  $("session").hidden = false;
  say(I18N.t("session.loading"));
  sessionHolder = await (await authorizedFetch("/me")).json();
  I18N.setTimezone(sessionHolder.timezone);
  limitNav(sessionHolder.role);
  showWho();
  return sessionHolder;
}
document.addEventListener("langchange", showWho);

// Hand a fetched file (a CSV, a YAML export) to the browser's downloads under `name`.
function saveBlob(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}
