// The call exchange's web console: plain JavaScript, no build step, no library. It speaks only to the API
// (same origin, /api/v1) and its WebSocket (the URL from GET /api/v1/config).
// Rules kept throughout: every value from the API becomes a text node (never HTML); money is shown as the
// API's decimal string (sums are made in integer ten-thousandths, never in floating point); tokens live
// in memory, only the refresh token in sessionStorage (a reload keeps the session, closing the tab ends it).

const API = new URL("../api/v1", import.meta.url).href;
const REFRESH_KEY = "callx.refresh";
const POLL_MS = 5000; // KPI tiles and the admin's live board are read again this often

const state = {
  access: null, refresh: sessionStorage.getItem(REFRESH_KEY), expiresAt: 0, user: null,
  refreshing: null, refreshTimer: null, socket: null, wsUrl: undefined, lastEventId: null, seen: new Set(),
  reconnectDelay: 1000, reconnecting: false, view: null, pollTimer: null, notice: null,
};

// --- DOM: elements from data, text always as text -------------------------------------------------------

function h(tag, props, ...children) {
  const el = document.createElementNS(tag === "svg" || props?.svg ? "http://www.w3.org/2000/svg" : "http://www.w3.org/1999/xhtml", tag);
  const properties = [];
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false || key === "svg") continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "checked" || key === "value") properties.push([key, value]);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child)); // a string is appended as a text node
  }
  for (const [key, value] of properties) el[key] = value; // after the children: a <select>'s options
  return el;
}
const svg = (tag, props, ...children) => h(tag, { ...props, svg: true }, ...children);

function replace(el, ...children) { el.replaceChildren(); for (const c of children.flat(Infinity)) if (c != null && c !== false) el.append(c instanceof Node ? c : String(c)); }

const $ = (id) => document.getElementById(id);
let uid = 0;
const nextId = (prefix) => `${prefix}-${++uid}`;

// A view's reload rebuilds its lists when an event arrives; a form being typed into must survive that, so
// forms are built once per thing (an auction, a user, a call) and the same element is put back.
function kept(cache, key, build) {
  if (!cache.has(key)) cache.set(key, build());
  return cache.get(key);
}

function toast(text) {
  const item = h("div", { class: "toast" }, text);
  $("toasts").append(item);
  while ($("toasts").children.length > 4) $("toasts").firstChild.remove(); // the latest few, never a wall
  setTimeout(() => item.remove(), 6000);
}

const money = (value) => (value == null ? "—" : `$${value}`);
const when = (iso) => (iso ? new Date(iso).toLocaleString() : "—");
const short = (id) => (id ? String(id).slice(0, 8) : "—");

// Exact sums of the API's decimal strings, in ten-thousandths of a dollar (BigInt): no floating point.
function minor(text) {
  const match = /^(-?)(\d+)(?:\.(\d{1,4}))?$/.exec(String(text ?? "0"));
  if (!match) return 0n;
  const units = BigInt(match[2]) * 10000n + BigInt((match[3] || "").padEnd(4, "0"));
  return match[1] ? -units : units;
}
function decimal(units) {
  const sign = units < 0n ? "-" : "";
  const abs = units < 0n ? -units : units;
  const cents = (abs + 50n) / 100n; // to the cent, half up
  return `${sign}${cents / 100n}.${String(cents % 100n).padStart(2, "0")}`;
}

// --- the API -----------------------------------------------------------------------------------------------

class ApiError extends Error {
  constructor(status, body) {
    const error = body?.error || {};
    super(error.message || `The API answered ${status}`);
    this.status = status; this.code = error.code; this.details = error.details || [];
  }
}

async function api(method, path, body, { headers = {}, auth = true, raw = false } = {}) {
  const init = { method, headers: { ...headers } };
  if (body !== undefined) { init.headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
  if (auth) {
    await freshToken();
    init.headers.Authorization = `Bearer ${state.access}`;
  }
  const response = await fetch(API + path, init);
  if (raw && response.ok) return response;
  let payload = null;
  try { payload = await response.json(); } catch { payload = null; }
  if (!response.ok) {
    const error = new ApiError(response.status, payload);
    if (auth && response.status === 401) signedOut(`You were signed out: ${error.message}`);
    throw error;
  }
  return payload;
}

// --- the session: tokens in memory, refreshed before they expire, a 401 signs out -------------------------

function keep(tokens) {
  state.access = tokens.access_token;
  state.refresh = tokens.refresh_token;
  state.expiresAt = Date.now() + tokens.expires_in * 1000;
  sessionStorage.setItem(REFRESH_KEY, state.refresh);
  clearTimeout(state.refreshTimer);
  // A minute before it expires (the API rotates the refresh token on every use).
  state.refreshTimer = setTimeout(() => refreshTokens().catch(() => {}), Math.max(5000, tokens.expires_in * 1000 - 60000));
}

function refreshTokens() {
  if (!state.refresh) return Promise.reject(new Error("No session"));
  state.refreshing ??= api("POST", "/auth/refresh", { refresh_token: state.refresh }, { auth: false })
    .then((answer) => keep(answer.data))
    .catch((error) => { signedOut(`You were signed out: ${error.message}`); throw error; })
    .finally(() => { state.refreshing = null; });
  return state.refreshing;
}

async function freshToken() {
  if (!state.access || state.expiresAt - Date.now() < 30000) await refreshTokens();
}

async function signIn(answer) {
  keep(answer.tokens);
  state.user = answer.user;
  state.notice = null;
  history.replaceState(null, "", `${baseUrl()}#overview`);
  start();
}

async function signOut() {
  try { await api("POST", "/auth/logout", { refresh_token: state.refresh }); } catch { /* signed out either way */ }
  signedOut("You signed out.");
}

function signedOut(reason) {
  if (!state.user && !state.access && !state.refresh) return;
  const socket = state.socket;
  Object.assign(state, { access: null, refresh: null, user: null, expiresAt: 0, socket: null, lastEventId: null, notice: reason });
  sessionStorage.removeItem(REFRESH_KEY);
  clearTimeout(state.refreshTimer); clearInterval(state.pollTimer);
  socket?.close();
  setLive(null);
  history.replaceState(null, "", `${baseUrl()}#sign-in`);
  render();
}

// The console's own root (the mailed links open /verify-email and /reset-password, also the console).
function baseUrl() { return new URL("..", import.meta.url).pathname; }

// --- live: the WebSocket, reconnecting by itself ------------------------------------------------------------

function setLive(on, text) {
  const live = $("live");
  live.className = on == null ? "live" : on ? "live on" : "live off";
  live.textContent = text || "";
}

async function connectLive() {
  if (!state.user) return;
  try {
    if (state.wsUrl === undefined) state.wsUrl = (await api("GET", "/config", undefined, { auth: false })).data.websocket_url;
    await freshToken();
  } catch { return retryLive(); }
  if (!state.wsUrl || !state.user) return;
  const socket = new WebSocket(`${state.wsUrl}?token=${encodeURIComponent(state.access)}`);
  state.socket = socket;
  socket.onopen = () => {
    setLive(true, state.reconnecting ? "Live again" : "Live");
    state.reconnecting = false; state.reconnectDelay = 1000;
    if (state.lastEventId) socket.send(JSON.stringify({ action: "resume", after: state.lastEventId }));
  };
  socket.onmessage = (message) => {
    let event;
    try { event = JSON.parse(message.data); } catch { return; }
    if (event.event_id) {
      if (state.seen.has(event.event_id)) return; // delivered at least once: drop a repeat
      state.seen.add(event.event_id); state.lastEventId = event.event_id;
    }
    onEvent(event);
  };
  socket.onclose = async () => {
    if (state.socket !== socket || !state.user) return;
    state.socket = null;
    setLive(false, "Connection lost: reconnecting…");
    try { await api("GET", "/profile"); } catch (error) { if (error.status === 401) return; } // 401 signed out
    retryLive();
  };
}

function retryLive() {
  if (!state.user) return;
  state.reconnecting = true;
  setLive(false, "Connection lost: reconnecting…");
  setTimeout(connectLive, state.reconnectDelay);
  state.reconnectDelay = Math.min(state.reconnectDelay * 2, 15000);
}

const EVENT_TEXT = {
  "auction.started": () => "A new auction is open",
  "bid.placed": (d) => `A bid of ${money(d.amount)} was placed`,
  "bid.outbid": (d) => `You were outbid${d.amount ? ` (${money(d.amount)})` : ""}`,
  "auction.won": (d) => `You won the auction${d.amount ? ` at ${money(d.amount)}` : ""}`,
  "auction.lost": () => "An auction you bid in went to someone else",
  "call.status_changed": (d) => `A call is now ${String(d.status || "").replace("_", " ")}`,
  "call.completed": () => "A call ended",
  "balance.changed": () => "Your balance changed",
};

let reloadTimer = null;
function onEvent(event) {
  const text = EVENT_TEXT[event.type];
  if (!text) return;
  toast(text(event.data || {}));
  if (event.type === "auction.won" || event.type === "auction.lost") results.unshift({ ...event.data, type: event.type });
  clearTimeout(reloadTimer);
  reloadTimer = setTimeout(() => state.view?.reload?.(), 150);
}
const results = []; // the seller's auction results as they arrive
const recordings = new Map(); // call id -> the blob URL of its loaded recording (kept across a view's reloads)

// --- forms: a visible label on every input; the API's message for a field beside it ------------------------

function field(name, label, input, hint) {
  input.id ||= nextId("field");
  input.name = name;
  const message = h("p", { class: "message", id: `${input.id}-message` });
  const hintEl = hint ? h("p", { class: "muted", id: `${input.id}-hint` }, hint) : null;
  if (hintEl) input.setAttribute("aria-describedby", hintEl.id);
  const inline = input.type === "checkbox";
  return h("div", { class: inline ? "field inline" : "field" }, inline ? [input, h("label", { for: input.id }, label)] : [h("label", { for: input.id }, label), input], hintEl, message);
}

const input = (props = {}) => h("input", { type: "text", ...props });
const select = (options, props = {}) => h("select", props, options.map(([value, text]) => h("option", { value }, text)));

function form({ title, submit, fields, onSubmit, className = "card", label }) {
  const formMessage = h("p", { class: "form-message", role: "alert", id: nextId("form-message") });
  const button = h("button", { type: "submit" }, submit);
  const el = h("form", { class: className, "aria-label": label || title, novalidate: true }, title ? h("h2", {}, title) : null, formMessage, fields, h("div", { class: "actions" }, button));
  el.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(el);
    button.disabled = true;
    try {
      await onSubmit(values(el), el);
    } catch (error) {
      if (error instanceof ApiError) showErrors(el, error); else formMessage.textContent = String(error.message || error);
    } finally { button.disabled = false; }
  });
  return el;
}

function values(el) {
  const out = {};
  for (const control of el.elements) {
    if (!control.name) continue;
    out[control.name] = control.type === "checkbox" ? control.checked : control.value.trim();
  }
  return out;
}

function clearErrors(el) {
  el.querySelector(".form-message").textContent = "";
  for (const control of el.elements) {
    if (!control.name) continue;
    control.removeAttribute("aria-invalid");
    const hint = document.getElementById(`${control.id}-hint`);
    if (hint) control.setAttribute("aria-describedby", hint.id); else control.removeAttribute("aria-describedby");
    const message = document.getElementById(`${control.id}-message`);
    if (message) message.textContent = "";
  }
}

// details[].message beside its field (verbatim, linked with aria-describedby), else error.message on the form.
function showErrors(el, error) {
  const controls = [...el.elements].filter((c) => c.name);
  let placed = false;
  for (const detail of error.details) {
    const name = String(detail.field || "");
    const control = controls.filter((c) => name === c.name || name.startsWith(`${c.name}.`) || c.dataset.fields?.split(" ").includes(name))
      .sort((a, b) => b.name.length - a.name.length)[0];
    if (!control) continue;
    const message = document.getElementById(`${control.id}-message`);
    message.textContent = message.textContent ? `${message.textContent} ${detail.message}` : detail.message;
    control.setAttribute("aria-invalid", "true");
    control.setAttribute("aria-describedby", [control.getAttribute("aria-describedby"), message.id].filter(Boolean).join(" "));
    if (!placed) control.focus();
    placed = true;
  }
  // The form's own message: the API's, unless it only repeats what already stands beside a field.
  const besideFields = error.details.some((d) => d.message === error.message);
  el.querySelector(".form-message").textContent = placed && besideFields ? "" : error.message;
}

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const orNull = (text) => (text === "" ? null : text);
const intOrNull = (text) => (text === "" ? null : Number.parseInt(text, 10));

// --- tables and tiles -------------------------------------------------------------------------------------

function table(caption, columns, rows, rowExtra) {
  const body = h("tbody");
  for (const row of rows) {
    body.append(h("tr", {}, columns.map(([, cell]) => h("td", {}, cell(row)))));
    const extra = rowExtra?.(row);
    if (extra) body.append(h("tr", {}, h("td", { colspan: columns.length }, extra)));
  }
  return h("div", { class: "table" }, h("table", {}, h("caption", { class: "muted" }, caption), h("thead", {}, h("tr", {}, columns.map(([name]) => h("th", { scope: "col" }, name)))), body));
}

const tiles = (label, pairs) => h("dl", { class: "tiles", "aria-label": label }, pairs.map(([name, value]) => h("div", { class: "tile" }, h("dt", {}, name), h("dd", {}, value))));

function badge(text, kind) { return h("span", { class: `badge ${kind || ""}` }, text); }

// A bar per day for the calls, a line for the money, the last 30 days.
function chart(title, days, moneyLabel) {
  const width = 600, height = 180, pad = 24;
  const maxCalls = Math.max(1, ...days.map((d) => d.calls));
  const maxMoney = days.reduce((m, d) => (d.money > m ? d.money : m), 1n);
  const step = (width - 2 * pad) / days.length;
  const bars = days.map((d, i) => svg("rect", { class: "calls", x: pad + i * step + 1, y: height - pad - (d.calls / maxCalls) * (height - 2 * pad), width: Math.max(1, step - 2), height: (d.calls / maxCalls) * (height - 2 * pad) }));
  const points = days.map((d, i) => `${pad + i * step + step / 2},${height - pad - Number((d.money * 1000n) / maxMoney) / 1000 * (height - 2 * pad)}`).join(" ");
  const totalCalls = days.reduce((n, d) => n + d.calls, 0);
  const totalMoney = days.reduce((n, d) => n + d.money, 0n);
  const description = `${totalCalls} calls and $${decimal(totalMoney)} ${moneyLabel} over the last 30 days`;
  return h("figure", { class: "card" },
    h("figcaption", {}, h("h2", {}, title), h("div", { class: "legend" }, h("span", { class: "swatch-calls" }, "calls"), h("span", { class: "swatch-money" }, moneyLabel))),
    svg("svg", { class: "chart", viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": description },
      bars, svg("polyline", { class: "money", points }),
      svg("text", { x: pad, y: height - 6 }, days[0].day), svg("text", { x: width - pad - 60, y: height - 6 }, days.at(-1).day),
      svg("text", { x: 2, y: 12 }, `${maxCalls} calls`)),
    h("p", { class: "muted" }, description));
}

function lastThirtyDays(items, dateOf, moneyOf) {
  const days = [];
  const today = new Date();
  for (let i = 29; i >= 0; i--) {
    const d = new Date(today.getFullYear(), today.getMonth(), today.getDate() - i);
    days.push({ day: d.toLocaleDateString(undefined, { month: "short", day: "numeric" }), key: d.toDateString(), calls: 0, money: 0n });
  }
  const byKey = new Map(days.map((d) => [d.key, d]));
  for (const item of items) {
    const day = byKey.get(new Date(dateOf(item)).toDateString());
    if (!day) continue;
    const [calls, amount] = moneyOf(item);
    day.calls += calls; day.money += amount;
  }
  return days;
}

// --- pages ------------------------------------------------------------------------------------------------

const main = () => $("main");

function page(title, ...children) {
  document.title = `${title} · The call exchange`;
  replace(main(), h("h1", {}, title), children);
}

function mount(view) {
  clearInterval(state.pollTimer);
  state.view = view;
  view.mount();
  if (view.poll) state.pollTimer = setInterval(() => view.reload?.(), POLL_MS);
}

// Signed out: sign in, register, a lost password or verification mail.
function signedOutPages() {
  replace($("nav"));
  replace($("who"));
  const notice = state.notice ? h("p", { role: "alert", class: "card" }, state.notice) : null;
  const signInForm = form({
    title: "Sign in", submit: "Sign in",
    fields: [field("email", "Email", input({ type: "email", autocomplete: "username" })),
      field("password", "Password", input({ type: "password", autocomplete: "current-password" }))],
    onSubmit: async (v) => signIn((await api("POST", "/auth/login", { email: v.email, password: v.password, device_info: { platform: "web", browser: navigator.userAgent.slice(0, 100) } }, { auth: false })).data),
  });
  const registerForm = form({
    title: "Create an account", submit: "Create account",
    fields: [
      field("first_name", "First name", input({ autocomplete: "given-name" })),
      field("last_name", "Last name", input({ autocomplete: "family-name" })),
      field("company", "Company", input({ autocomplete: "organization" })),
      field("email", "Email", input({ type: "email", autocomplete: "email" })),
      field("password", "Password", input({ type: "password", autocomplete: "new-password" }), "8 or more characters with an uppercase and a lowercase letter, a digit and a symbol"),
      field("account_type", "Account type", select([["buyer", "Buyer: I bring calls and earn"], ["seller", "Seller: I buy calls"]])),
      field("accept_terms", "I accept the terms", input({ type: "checkbox" })),
    ],
    onSubmit: async (v) => {
      const answer = (await api("POST", "/auth/register", { ...v, company: orNull(v.company) }, { auth: false })).data;
      toast("Account created: a verification link is in your mail");
      await signIn(answer);
    },
  });
  const forgotForm = form({
    title: "Forgot your password?", submit: "Mail me a reset link",
    fields: [field("email", "Email", input({ type: "email" }))],
    onSubmit: async (v, el) => {
      const answer = await api("POST", "/auth/forgot-password", { email: v.email }, { auth: false });
      el.querySelector(".form-message").replaceChildren(h("span", { class: "done" }, answer.data.message));
    },
  });
  const resendForm = form({
    title: "No verification mail?", submit: "Mail the link again",
    fields: [field("email", "Email", input({ type: "email" }))],
    onSubmit: async (v, el) => {
      const answer = await api("POST", "/auth/resend-verification", { email: v.email }, { auth: false });
      el.querySelector(".form-message").replaceChildren(h("span", { class: "done" }, answer.data.message));
    },
  });
  page("Welcome", notice, h("div", { class: "columns" }, h("div", {}, signInForm, forgotForm, resendForm), registerForm),
    h("p", { class: "muted" }, "The API: ", h("a", { href: `${baseUrl()}api/v1/docs` }, "reference"), " · ", h("a", { href: `${baseUrl()}api/v1` }, "index")));
}

// /verify-email?token=…: the mailed link finishes the flow here.
async function verifyEmailPage() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const status = h("p", { role: "status" }, "Verifying your email address…");
  page("Verify your email", h("section", { class: "card" }, status, h("p", {}, h("a", { href: baseUrl() }, "Go to the console"))));
  try {
    const user = (await api("POST", "/auth/verify-email", { token }, { auth: false })).data;
    replace(status, `Your email address ${user.email} is verified.`);
    if (state.user) state.user.email_verified = true;
  } catch (error) {
    replace(status, `This link did not verify your email: ${error.message}`);
  }
}

// /reset-password?token=…
function resetPasswordPage() {
  const token = new URLSearchParams(location.search).get("token") || "";
  const done = h("p", { role: "status" });
  page("Choose a new password", form({
    title: null, label: "Choose a new password", submit: "Set the new password",
    fields: [field("new_password", "New password", input({ type: "password", autocomplete: "new-password" }), "8 or more characters with an uppercase and a lowercase letter, a digit and a symbol"),
      h("input", { type: "hidden", name: "token", value: token, "data-fields": "token" })],
    onSubmit: async (v, el) => {
      await api("POST", "/auth/reset-password", { token: v.token, new_password: v.new_password }, { auth: false });
      el.replaceWith(done);
      replace(done, "Your password is changed. Every session was signed out. ", h("a", { href: `${baseUrl()}#sign-in` }, "Sign in"));
    },
  }));
}

// --- signed in --------------------------------------------------------------------------------------------

const NAV = {
  buyer: [["overview", "Overview"], ["numbers", "Numbers"], ["calls", "Calls"], ["account", "Account"]],
  seller: [["overview", "Overview"], ["profiles", "Bid profiles"], ["auctions", "Auctions"], ["calls", "Calls"], ["account", "Account"]],
  admin: [["users", "Users"], ["disputes", "Disputes"], ["ledger", "Ledger"], ["live", "Live board"], ["account", "Account"]],
};

function header() {
  const user = state.user;
  replace($("who"), h("span", {}, `${user.first_name} ${user.last_name} (${user.account_type})`),
    h("button", { type: "button", class: "secondary", onclick: signOut }, "Sign out"));
  const current = location.hash.slice(1) || NAV[user.account_type][0][0];
  replace($("nav"), NAV[user.account_type].map(([key, text]) => h("a", { href: `#${key}`, "aria-current": key === current ? "page" : null }, text)));
}

function render() {
  const path = location.pathname.replace(/\/+$/, "");
  if (path.endsWith("/verify-email")) return verifyEmailPage();
  if (path.endsWith("/reset-password")) return resetPasswordPage();
  clearInterval(state.pollTimer);
  state.view = null;
  if (!state.user) return signedOutPages();
  header();
  const views = VIEWS[state.user.account_type];
  const key = location.hash.slice(1);
  const view = views[key] || views[NAV[state.user.account_type][0][0]];
  mount(view());
}

async function start() {
  render();
  connectLive();
}

// --- shared views -----------------------------------------------------------------------------------------

function accountView() {
  return {
    mount() {
      const user = state.user;
      const verify = user.email_verified ? badge("verified", "good") : h("span", {}, badge("not verified", "bad"), " ",
        h("button", { type: "button", class: "secondary", onclick: async () => { const a = await api("POST", "/auth/resend-verification", { email: user.email }, { auth: false }); toast(a.data.message); } }, "Mail the verification link again"));
      page("Account",
        h("section", { class: "card" }, h("h2", {}, "You"), h("p", {}, `${user.first_name} ${user.last_name}, ${user.company || "no company"}`),
          h("p", {}, user.email, " ", verify), h("p", { class: "muted" }, `A ${user.account_type} since ${when(user.created_at)}`)),
        form({
          title: "Change your password", submit: "Change password",
          fields: [field("current_password", "Current password", input({ type: "password", autocomplete: "current-password" })),
            field("new_password", "New password", input({ type: "password", autocomplete: "new-password" }))],
          onSubmit: async (v, el) => {
            const answer = await api("POST", "/auth/change-password", v);
            el.reset();
            el.querySelector(".form-message").replaceChildren(h("span", { class: "done" }, `Password changed; ${answer.data.revoked_sessions} other session(s) signed out.`));
          },
        }));
    },
  };
}

function balanceTiles(balance) {
  return tiles("Balance", [["Balance", money(balance.balance)], ["Held", money(balance.held)], ["Earnings", money(balance.earnings)],
    ["Earnings pending", money(balance.earnings_pending)], ["Earnings available", money(balance.earnings_available)],
    ["Credit limit", money(balance.credit_limit)], ["Available", money(balance.available)]]);
}

function overviewView() {
  const balanceBox = h("div"), kpis = h("div"), chartBox = h("div");
  const role = state.user.account_type;
  return {
    poll: true,
    mount() { page("Overview", h("h2", {}, "Balance"), balanceBox, h("h2", {}, "Totals"), kpis, chartBox); this.reload(); },
    async reload() {
      const [balance, dashboard] = await Promise.all([api("GET", "/account/balance"), api("GET", "/analytics/dashboard")]);
      replace(balanceBox, balanceTiles(balance.data));
      const s = dashboard.data.summary;
      replace(kpis, role === "buyer"
        ? tiles("Buyer totals", [["Calls", s.total_calls], ["Completed calls", s.completed_calls], ["Numbers", `${s.active_numbers} active of ${s.total_numbers}`], ["Orders", s.orders], ["Spend", money(s.spend)], ["Earnings", money(s.earnings)]])
        : tiles("Seller totals", [["Calls won", s.calls_won], ["Calls paid", s.calls_paid], ["Auctions bid", s.auctions_bid], ["Auctions won", s.auctions_won], ["Win rate", `${Math.round(s.win_rate * 100)}%`], ["Spend", money(s.spend)], ["Average price", money(s.average_price)]]));
      if (role === "buyer") {
        const [calls, entries] = await Promise.all([api("GET", "/calls?limit=100"), api("GET", "/billing/transactions?limit=100")]);
        const items = [...calls.data.map((c) => ({ at: c.created_at, calls: 1, money: 0n })),
          ...entries.data.filter((e) => e.bucket === "earnings").map((e) => ({ at: e.created_at, calls: 0, money: minor(e.amount) }))];
        replace(chartBox, chart("Calls and earnings per day", lastThirtyDays(items, (i) => i.at, (i) => [i.calls, i.money]), "earnings"));
      } else {
        const calls = await api("GET", "/calls?limit=100");
        replace(chartBox, chart("Calls and spend per day", lastThirtyDays(calls.data, (c) => c.created_at, (c) => [1, c.billable ? minor(c.price) : 0n]), "spend"));
      }
    },
  };
}

// A call's details: what routing did, the sellers it rang, its dispute, its recording.
function callDetails(call) {
  const box = h("div", { class: "details" });
  const log = call.routing_log?.length
    ? h("ol", {}, call.routing_log.map((e) => h("li", {}, `${e.outcome}${e.reason ? ` (${e.reason})` : ""}: profile ${short(e.profile_id)}${e.price ? ` at ${money(e.price)}` : ""}`)))
    : h("p", { class: "muted" }, "No routing log.");
  const attempts = call.attempts?.length ? h("ol", {}, call.attempts.map((a) => h("li", {}, `rang seller ${short(a.seller_id)} at ${money(a.price)}: ${a.outcome || "ringing"}`))) : null;
  const recording = h("div");
  const player = (url) => h("audio", { controls: true, src: url, "aria-label": `Recording of the call from ${call.from_number}` });
  if (call.recording) {
    const play = h("button", { type: "button", class: "secondary" }, "Load the recording");
    play.addEventListener("click", async () => {
      play.disabled = true;
      recordings.set(call.id, null); // loading: a reload meanwhile shows that, not the button again
      try {
        // The API wants the bearer token, which an <audio src> cannot send: fetched, then played from a blob.
        const response = await api("GET", `/calls/${call.id}/recording`, undefined, { headers: { Accept: "audio/wav" }, raw: true });
        recordings.set(call.id, URL.createObjectURL(await response.blob()));
        replace(recording, player(recordings.get(call.id)));
        state.view?.reload?.(); // the list may have been drawn again while it loaded
      } catch (error) { recordings.delete(call.id); replace(recording, h("p", { role: "alert" }, error.message)); }
    });
    const loaded = recordings.get(call.id);
    replace(recording, h("p", {}, `Recording: ${call.recording.status}${call.recording.duration ? `, ${call.recording.duration} s` : ""} `,
      loaded ? player(loaded) : recordings.has(call.id) ? "(loading…)" : call.recording.status === "completed" ? play : null));
  }
  replace(box, h("h3", {}, "Routing log"), log, attempts ? [h("h3", {}, "Sellers rung"), attempts] : null,
    call.dispute ? h("p", {}, `Dispute: ${call.dispute.status}; reason: `, call.dispute.reason, call.dispute.note ? ` (note: ${call.dispute.note})` : "") : null,
    h("p", { class: "muted" }, `Created ${when(call.created_at)}; started ${when(call.start_time)}; ended ${when(call.end_time)}; telephony ${money(call.cost)}`),
    recording);
  return box;
}

function disputeForm(call, done) {
  return form({
    title: null, label: `Dispute the call from ${call.from_number}`, submit: "Open the dispute", className: "details",
    fields: [field("reason", "Why should this call not have been billed?", h("textarea", { rows: 2 }))],
    onSubmit: async (v) => { await api("POST", `/calls/${call.id}/disputes`, { reason: v.reason }); toast("Dispute opened"); done(); },
  });
}

function callsView() {
  const box = h("div");
  const open = new Set();
  const disputing = new Set();
  const forms = new Map();
  const role = state.user.account_type;
  const view = {
    mount() { page("Calls", box); view.reload(); },
    async reload() {
      const calls = (await api("GET", "/calls?limit=50")).data;
      const columns = [
        ["When", (c) => when(c.created_at)], ["From", (c) => c.from_number], ["To", (c) => c.to_number],
        ["Status", (c) => badge(c.status.replace("_", " "), ["in_progress", "ringing"].includes(c.status) ? "live" : c.status === "completed" ? "good" : "")],
        [role === "buyer" ? "Seller" : "Buyer", (c) => short(role === "buyer" ? c.seller_id : c.buyer_id)],
        ["Price", (c) => money(c.price)], ["Duration", (c) => (c.duration == null ? "—" : `${c.duration} s`)],
        ["Billed", (c) => (c.billable == null ? "—" : c.billable ? "billed" : "not billed")], ["Source", (c) => c.source],
        ["", (c) => h("div", { class: "actions" },
          h("button", { type: "button", class: "secondary", "aria-expanded": String(open.has(c.id)), "aria-label": `Details of the call from ${c.from_number} at ${when(c.created_at)}`, onclick: () => { open.has(c.id) ? open.delete(c.id) : open.add(c.id); view.reload(); } }, open.has(c.id) ? "Hide" : "Details"),
          role === "seller" && c.billable && c.source === "api" && !c.dispute ? h("button", { type: "button", class: "secondary", onclick: () => { disputing.add(c.id); view.reload(); } }, "Dispute") : null)],
      ];
      replace(box, calls.length ? table(`${calls.length} most recent calls`, columns, calls, (c) => [open.has(c.id) ? callDetails(c) : null,
        disputing.has(c.id) && !c.dispute ? kept(forms, c.id, () => disputeForm(c, () => { disputing.delete(c.id); view.reload(); })) : null].filter(Boolean)) : h("p", {}, "No calls yet."));
    },
  };
  return view;
}

// --- buyer --------------------------------------------------------------------------------------------------

function numbersView() {
  const found = h("div"), progress = h("div", { role: "status", "aria-live": "polite" }), mine = h("div");
  const view = {
    mount() {
      const search = form({
        title: "Find numbers", submit: "Search",
        fields: h("div", { class: "columns" },
          field("country_code", "Country", input({ value: "US", maxlength: 2 })),
          field("area_code", "Area code", input({ inputmode: "numeric" })),
          field("type", "Type", select([["local", "Local"], ["toll_free", "Toll free"], ["mobile", "Mobile"]]))),
        onSubmit: async (v) => {
          const query = new URLSearchParams({ country_code: v.country_code, type: v.type, limit: "10" });
          if (v.area_code) query.set("area_code", v.area_code);
          const numbers = (await api("GET", `/numbers/search?${query}`)).data;
          replace(found, numbers.length ? table("Numbers you can buy", [["Number", (n) => n.phone_number], ["Where", (n) => [n.locality, n.region].filter(Boolean).join(", ") || "—"],
            ["Setup", (n) => money(n.setup_price)], ["Monthly", (n) => money(n.monthly_price)],
            ["", (n) => h("button", { type: "button", "aria-label": `Buy ${n.phone_number}`, onclick: () => buy(n) }, "Buy")]], numbers) : h("p", {}, "No numbers found."));
        },
      });
      page("Numbers", search, found, progress, h("h2", {}, "Your numbers"), mine);
      view.reload();
    },
    async reload() {
      const numbers = (await api("GET", "/numbers?limit=50")).data;
      replace(mine, numbers.length ? table("Your numbers", [["Number", (n) => n.phone_number], ["Name", (n) => n.friendly_name], ["Status", (n) => n.status],
        ["Calls go to", (n) => (n.routing === "exchange" ? "the exchange" : n.voice_url || "your server")],
        ["", (n) => (n.status === "ACTIVE" && n.routing !== "exchange" ? h("button", { type: "button", class: "secondary", "aria-label": `Route ${n.phone_number} to the exchange`, onclick: async () => { await api("PUT", `/numbers/${n.id}`, { routing: "exchange", call_type: n.call_type || "sales" }); toast(`${n.phone_number} now sends its calls to the exchange`); view.reload(); } }, "Route to the exchange") : null)]], numbers)
        : h("p", {}, "You have no numbers yet."));
    },
  };
  async function buy(number) {
    try {
      const order = (await api("POST", "/numbers/purchase", { numbers: [{ phone_number: number.phone_number, friendly_name: `Line ${number.phone_number.slice(-4)}` }] })).data;
      replace(progress, h("p", {}, `Order ${short(order.order_id)} for ${number.phone_number}: ${order.status}…`));
      let current = order;
      while (current.status === "PENDING" && state.view === view) {
        await new Promise((r) => setTimeout(r, 700));
        current = (await api("GET", `/orders/${order.order_id}`)).data;
        replace(progress, h("p", {}, `Order ${short(order.order_id)} for ${number.phone_number}: ${current.status}${current.status === "PENDING" ? "…" : ""}`));
      }
      const failed = current.items?.find((i) => i.error_code);
      if (failed) progress.append(h("p", {}, `Twilio said ${failed.error_code}: `, failed.reason || ""));
      view.reload();
    } catch (error) {
      replace(progress, h("p", { role: "alert" }, error.message));
    }
  }
  return view;
}

// --- seller -------------------------------------------------------------------------------------------------

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

function profileForm(profile, done) {
  const p = profile || { criteria: {}, active: true };
  const c = p.criteria || {};
  const s = p.schedule || null, caps = p.caps || {};
  const window = s?.windows?.[0];
  const dayBoxes = DAYS.map((day) => field(`day_${day}`, day, input({ type: "checkbox", checked: window ? window.days.includes(day) : true })));
  return form({
    title: profile ? `Edit profile ${short(profile.id)}` : "New bid profile", submit: profile ? "Save the profile" : "Create the profile",
    fields: [
      h("fieldset", {}, h("legend", {}, "Which calls"),
        field("criteria.geography.countries", "Countries (comma separated)", input({ value: (c.geography?.countries || ["US"]).join(", ") })),
        field("criteria.geography.states", "States (comma separated)", input({ value: (c.geography?.states || []).join(", ") })),
        field("criteria.call_type", "Call types (comma separated)", input({ value: [].concat(c.call_type || ["sales"]).join(", ") })),
        field("criteria.keywords", "Keywords (comma separated)", input({ value: (c.keywords || []).join(", ") })),
        field("criteria.max_budget", "Daily budget ($)", input({ value: c.max_budget || "", inputmode: "decimal" })),
        field("criteria.verified_only", "Live calls only (never calls reported through the API)", input({ type: "checkbox", checked: !!c.verified_only })),
        field("criteria.duplicate_window_hours", "Duplicate caller window (hours)", input({ value: c.duplicate_window_hours ?? "", inputmode: "numeric" }))),
      h("fieldset", {}, h("legend", {}, "Price and destination"),
        field("bid_amount", "Bid for a call routed at once ($)", input({ value: p.bid_amount || "", inputmode: "decimal" })),
        field("destination_number", "Destination number (E.164)", input({ value: p.destination_number || "", type: "tel" })),
        field("conversion_seconds", "Converts after (seconds of talk)", input({ value: p.conversion_seconds ?? "", inputmode: "numeric" })),
        field("record_calls", "Record calls", input({ type: "checkbox", checked: !!p.record_calls })),
        field("active", "Active", input({ type: "checkbox", checked: p.active !== false }))),
      h("fieldset", {}, h("legend", {}, "Hours"),
        field("schedule.enabled", "Only in these hours", input({ type: "checkbox", checked: !!s })),
        field("schedule.timezone", "Time zone", input({ value: s?.timezone || Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC" })),
        h("div", { class: "days", role: "group", "aria-label": "Days open" }, dayBoxes),
        field("schedule.windows", "Opening time", input({ value: window?.start_time || "09:00", "data-fields": "schedule" })),
        field("schedule.end_time", "Closing time", input({ value: window?.end_time || "17:00" })),
        field("schedule.closed_dates", "Closed dates (YYYY-MM-DD, comma separated)", input({ value: (s?.closed_dates || []).join(", ") }))),
      h("fieldset", {}, h("legend", {}, "Caps and blocked callers"),
        field("caps.concurrency", "Calls at once", input({ value: caps.concurrency ?? "", inputmode: "numeric" })),
        field("caps.hourly", "Calls per hour", input({ value: caps.hourly ?? "", inputmode: "numeric" })),
        field("caps.daily", "Calls per day", input({ value: caps.daily ?? "", inputmode: "numeric" })),
        field("caps.monthly", "Calls per month", input({ value: caps.monthly ?? "", inputmode: "numeric" })),
        field("caps.counts", "A call counts", select([["connected", "once connected"], ["converted", "once converted"]], { value: caps.counts || "connected" })),
        field("blocked_callers", "Blocked callers (numbers or prefixes, comma separated)", input({ value: (p.blocked_callers || []).join(", ") }))),
    ],
    onSubmit: async (v) => {
      const body = {
        criteria: {
          geography: { countries: list(v["criteria.geography.countries"]), states: list(v["criteria.geography.states"]) },
          call_type: list(v["criteria.call_type"]), keywords: list(v["criteria.keywords"]),
          max_budget: orNull(v["criteria.max_budget"]), verified_only: v["criteria.verified_only"],
          duplicate_window_hours: intOrNull(v["criteria.duplicate_window_hours"]),
        },
        bid_amount: orNull(v.bid_amount), destination_number: orNull(v.destination_number),
        conversion_seconds: intOrNull(v.conversion_seconds), record_calls: v.record_calls, active: v.active,
        blocked_callers: list(v.blocked_callers),
      };
      const capValues = { concurrency: intOrNull(v["caps.concurrency"]), hourly: intOrNull(v["caps.hourly"]), daily: intOrNull(v["caps.daily"]), monthly: intOrNull(v["caps.monthly"]) };
      body.caps = Object.values(capValues).some((x) => x != null) ? { ...capValues, counts: v["caps.counts"] } : null;
      body.schedule = v["schedule.enabled"] ? {
        timezone: v["schedule.timezone"], closed_dates: list(v["schedule.closed_dates"]),
        windows: [{ days: DAYS.filter((d) => v[`day_${d}`]), start_time: v["schedule.windows"], end_time: v["schedule.end_time"] }],
      } : null;
      const saved = profile ? await api("PUT", `/bid-profiles/${profile.id}`, body) : await api("POST", "/bid-profiles", body);
      toast(profile ? "Profile saved" : "Profile created");
      done(saved.data);
    },
  });
}

function profilesView() {
  const box = h("div"), editor = h("div");
  const view = {
    mount() {
      page("Bid profiles", h("div", { class: "actions" }, h("button", { type: "button", onclick: () => edit(null) }, "New bid profile")), editor, box);
      view.reload();
    },
    async reload() {
      const profiles = (await api("GET", "/bid-profiles?limit=50")).data;
      replace(box, profiles.length ? table("Your bid profiles", [
        ["Profile", (p) => short(p.id)], ["Wants", (p) => `${[].concat(p.criteria?.call_type || []).join(", ") || "any call"} from ${(p.criteria?.geography?.states || []).join(", ") || (p.criteria?.geography?.countries || []).join(", ") || "anywhere"}`],
        ["Keywords", (p) => (p.criteria?.keywords || []).join(", ") || "—"], ["Bid", (p) => money(p.bid_amount)], ["Rings", (p) => p.destination_number || "—"],
        ["State", (p) => (p.paused ? badge("paused (account)", "bad") : p.active ? badge("active", "good") : badge("paused"))],
        ["", (p) => h("div", { class: "actions" },
          h("button", { type: "button", class: "secondary", "aria-label": `Edit profile ${short(p.id)}`, onclick: () => edit(p) }, "Edit"),
          h("button", { type: "button", class: "secondary", "aria-label": `${p.active ? "Pause" : "Resume"} profile ${short(p.id)}`, onclick: async () => { await api("PUT", `/bid-profiles/${p.id}`, { active: !p.active }); view.reload(); } }, p.active ? "Pause" : "Resume"),
          h("button", { type: "button", class: "secondary", "aria-label": `Delete profile ${short(p.id)}`, onclick: async () => { await api("DELETE", `/bid-profiles/${p.id}`); view.reload(); } }, "Delete"))],
      ], profiles) : h("p", {}, "No bid profiles yet: create one to be offered calls."));
    },
  };
  function edit(profile) {
    replace(editor, profileForm(profile, () => { replace(editor); view.reload(); }));
    editor.querySelector("input")?.focus();
  }
  return view;
}

function auctionsView() {
  const box = h("div"), mine = h("div");
  const forms = new Map();
  const view = {
    mount() { page("Auctions", h("p", { class: "muted" }, "Open auctions your active profiles match appear here as they open."), box, h("h2", {}, "Results"), mine); view.reload(); },
    async reload() {
      const [auctions, bids] = await Promise.all([api("GET", "/auctions?status=active&limit=50"), api("GET", "/bids?limit=20")]);
      replace(box, auctions.data.length ? table("Open auctions", [
        ["Call", (a) => [a.call_facts?.call_type || "call", a.call_facts?.state ? ` from ${a.call_facts.state}` : "", a.call_facts?.keywords?.length ? ` (${a.call_facts.keywords.join(", ")})` : ""]],
        ["Reserve", (a) => money(a.reserve_price)], ["Bids", (a) => a.bid_count], ["Ends", (a) => when(a.ends_at)],
        ["Your bid", (a) => kept(forms, a.id, () => form({
          title: null, label: `Bid on auction ${short(a.id)}`, submit: "Place bid", className: "",
          fields: [field("amount", `Bid amount for auction ${short(a.id)} ($)`, input({ inputmode: "decimal", value: a.reserve_price }))],
          onSubmit: async (v) => { await api("POST", "/bids", { auction_id: a.id, amount: v.amount }); toast(`Bid placed on auction ${short(a.id)}`); view.reload(); },
        }))],
      ], auctions.data) : h("p", {}, "No open auction matches your profiles right now."));
      replace(mine, results.length ? h("ul", {}, results.map((r) => h("li", {}, `${r.type === "auction.won" ? "Won" : "Lost"}: auction ${short(r.auction_id)}${r.amount ? ` at ${money(r.amount)}` : ""}`))) : null,
        bids.data.length ? table("Your bids", [["Auction", (b) => short(b.auction_id)], ["Amount", (b) => money(b.amount)], ["Placed", (b) => when(b.placed_at)]], bids.data) : h("p", {}, "No bids yet."));
    },
  };
  return view;
}

// --- admin --------------------------------------------------------------------------------------------------

function usersView() {
  const box = h("div");
  let query = "";
  const managing = new Set();
  const forms = new Map();
  const view = {
    mount() {
      page("Users", form({
        title: null, label: "Search users", submit: "Search", className: "card",
        fields: [field("q", "Email or name", input({ type: "search" }))],
        onSubmit: async (v) => { query = v.q; await view.reload(); },
      }), box);
      view.reload();
    },
    async reload() {
      const users = (await api("GET", `/admin/users?limit=50${query ? `&q=${encodeURIComponent(query)}` : ""}`)).data;
      replace(box, users.length ? table(`${users.length} users`, [
        ["Name", (u) => `${u.first_name} ${u.last_name}`], ["Email", (u) => u.email], ["Type", (u) => u.account_type],
        ["Status", (u) => badge(u.status, u.status === "active" ? "good" : "bad")],
        ["", (u) => h("button", { type: "button", class: "secondary", "aria-expanded": String(managing.has(u.id)), "aria-label": `Manage ${u.email}`, onclick: () => { managing.has(u.id) ? managing.delete(u.id) : managing.add(u.id); view.reload(); } }, "Manage")],
      ], users, (u) => (managing.has(u.id) ? kept(forms, `${u.id}:${u.status}`, () => manage(u)) : null)) : h("p", {}, "No user matches."));
    },
  };
  function manage(user) {
    const done = (text) => { toast(text); forms.delete(`${user.id}:${user.status}`); view.reload(); };
    return h("div", { class: "columns" },
      user.status === "active"
        ? form({ title: `Suspend ${user.email}`, submit: "Suspend", className: "details",
          fields: [field("reason", "Reason", input()), field("duration_days", "Days (empty: until reactivated)", input({ inputmode: "numeric" })), field("notify_user", "Tell the user", input({ type: "checkbox", checked: true }))],
          onSubmit: async (v) => { await api("PUT", `/admin/users/${user.id}/suspend`, { reason: v.reason, duration_days: intOrNull(v.duration_days), notify_user: v.notify_user }); done(`${user.email} suspended`); } })
        : h("div", { class: "details" }, h("p", {}, `${user.status}: `, user.suspension_reason || "", user.suspended_until ? ` until ${when(user.suspended_until)}` : ""),
          h("button", { type: "button", onclick: async () => { await api("PUT", `/admin/users/${user.id}/reactivate`); done(`${user.email} reactivated`); } }, `Reactivate ${user.email}`)),
      form({ title: `Credit ${user.email}`, submit: "Credit", className: "details",
        fields: [field("amount", "Amount ($)", input({ inputmode: "decimal" })), field("reason", "Reason", input()),
          field("idempotency_key", "Idempotency key (the same key never credits twice)", input({ value: crypto.randomUUID(), "data-fields": "Idempotency-Key" }))],
        onSubmit: async (v) => { const a = await api("POST", `/admin/users/${user.id}/credits`, { amount: v.amount, reason: v.reason }, { headers: { "Idempotency-Key": v.idempotency_key } }); done(`Credited ${money(a.data.amount)}; balance now ${money(a.data.balance?.balance)}`); } }),
      form({ title: `Credit limit of ${user.email}`, submit: "Set the credit limit", className: "details",
        fields: [field("credit_limit", "Credit limit ($)", input({ inputmode: "decimal", value: user.billing?.credit_limit || "" }))],
        onSubmit: async (v) => { await api("PUT", `/admin/users/${user.id}`, { credit_limit: v.credit_limit }); done("Credit limit set"); } }));
  }
  return view;
}

function disputesView() {
  const box = h("div");
  const view = {
    mount() { page("Disputes", box); view.reload(); },
    async reload() {
      const calls = (await api("GET", "/admin/disputes?limit=50")).data;
      replace(box, calls.length ? calls.map((c) => h("section", { class: "card" },
        h("h2", {}, `Call ${short(c.id)} from ${c.from_number}: ${money(c.price)}`),
        h("p", {}, "Reason: ", c.dispute?.reason || ""), h("p", { class: "muted" }, `Seller ${short(c.seller_id)}, buyer ${short(c.buyer_id)}, opened ${when(c.dispute?.opened_at)}`),
        form({ title: null, label: `Decide the dispute of call ${short(c.id)}`, submit: "Decide", className: "",
          fields: [field("decision", "Decision", select([["accepted", "Accept: reverse the settlement"], ["rejected", "Reject"]])), field("note", "Note", input())],
          onSubmit: async (v) => { await api("PUT", `/admin/disputes/${c.id}`, { decision: v.decision, note: orNull(v.note) }); toast(`Dispute ${v.decision}`); view.reload(); } }))) : h("p", {}, "No dispute waits for a decision."));
    },
  };
  return view;
}

function ledgerView() {
  const box = h("div");
  const view = {
    mount() { page("Ledger", box); view.reload(); },
    async reload() {
      const l = (await api("GET", "/admin/ledger")).data;
      replace(box, tiles("The books", [["Balanced", l.balanced ? "yes" : "NO"], ["Sum of every bucket", money(l.sum)], ["Holds match", l.holds_match ? "yes" : "NO"], ["Open holds", money(l.open_holds)], ["Accounts read", l.accounts]]),
        table("The platform's accounts", [["Account", (a) => a.account_id], ["Balance", (a) => money(a.balance)], ["Earnings", (a) => money(a.earnings)], ["Held", (a) => money(a.held)]], l.platform_accounts));
    },
  };
  return view;
}

function liveBoardView() {
  const callsBox = h("div"), auctionsBox = h("div");
  const view = {
    poll: true,
    mount() { page("Live board", h("h2", {}, "Calls in progress"), callsBox, h("h2", {}, "Open auctions"), auctionsBox); view.reload(); },
    async reload() {
      const [ringing, talking, auctions] = await Promise.all([api("GET", "/calls?status=ringing&limit=50"), api("GET", "/calls?status=in_progress&limit=50"), api("GET", "/auctions?status=active&limit=50")]);
      const calls = [...talking.data, ...ringing.data];
      replace(callsBox, calls.length ? table("Calls under way", [["From", (c) => c.from_number], ["To", (c) => c.to_number], ["Status", (c) => c.status.replace("_", " ")], ["Seller", (c) => short(c.seller_id)], ["Price", (c) => money(c.price)], ["Since", (c) => when(c.start_time || c.created_at)]], calls) : h("p", {}, "No call is under way."));
      replace(auctionsBox, auctions.data.length ? table("Auctions open", [["Auction", (a) => short(a.id)], ["Reserve", (a) => money(a.reserve_price)], ["Bids", (a) => a.bid_count], ["Ends", (a) => when(a.ends_at)]], auctions.data) : h("p", {}, "No auction is open."));
    },
  };
  return view;
}

const VIEWS = {
  buyer: { overview: overviewView, numbers: numbersView, calls: callsView, account: accountView },
  seller: { overview: overviewView, profiles: profilesView, auctions: auctionsView, calls: callsView, account: accountView },
  admin: { users: usersView, disputes: disputesView, ledger: ledgerView, live: liveBoardView, account: accountView },
};

// --- start --------------------------------------------------------------------------------------------------

window.addEventListener("hashchange", () => { if (state.user) render(); else if (location.hash === "#sign-in") render(); });
window.addEventListener("unhandledrejection", (event) => { if (event.reason instanceof ApiError && event.reason.status !== 401) toast(event.reason.message); });

(async function boot() {
  const path = location.pathname.replace(/\/+$/, "");
  if (state.refresh && !path.endsWith("/verify-email") && !path.endsWith("/reset-password")) {
    try {
      await refreshTokens();
      state.user = (await api("GET", "/profile")).data;
      return start();
    } catch { state.notice = null; }
  }
  render();
})();
