// pumpwatch alert queue: a single page over the JSON API. Routes live in the URL's hash
// (#/queue, #/alert/ID, #/cases, #/case/ID, #/audit); every change goes through the API with
// the session's CSRF token and the version the page read. No text from the API is ever
// parsed as HTML: the DOM is built with h().
"use strict";

const state = { me: null, csrf: null, users: [] };

// ---------- small helpers ----------

function h(tag, attrs, ...children) {
  const svg = ["svg", "g", "line", "polyline", "rect", "circle", "text", "path", "title", "defs", "marker"].includes(tag);
  const el = svg ? document.createElementNS("http://www.w3.org/2000/svg", tag) : document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === null || value === undefined || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "text") el.textContent = value;
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

function show(...nodes) {
  const main = document.getElementById("main");
  main.replaceChildren(...nodes);
}

function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 3500);
}

class ApiError extends Error {
  constructor(status, body) {
    super(body && body.message ? body.message : "HTTP " + status);
    this.status = status;
  }
}

async function api(method, path, body) {
  const headers = { "Accept": "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (method !== "GET" && state.csrf) headers["X-CSRF-Token"] = state.csrf;
  const response = await fetch(path, {
    method, headers, credentials: "same-origin",
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = null; }
  if (response.status === 401 && path !== "/api/login") {
    state.me = null;
    renderLogin("Your session has ended: log in again.");
    throw new ApiError(401, data);
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function sevBadge(severity) {
  return h("span", { class: "badge sev-" + severity, text: severity });
}

function stateTag(s) {
  return h("span", { class: "state", "data-state": s, text: s.replace("_", " ") });
}

function when(ts) {
  // Event times keep the producer's offset: show them as written, without the date noise.
  if (!ts) return "";
  const m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})/.exec(ts);
  return m ? m[1] + " " + m[2] : ts;
}

// The UTC offset of an RFC 3339 time, in minutes (0 for Z or none).
function offsetMinutes(ts) {
  const m = /([+-])(\d{2}):(\d{2})$/.exec(ts || "");
  return m ? (m[1] === "-" ? -1 : 1) * (Number(m[2]) * 60 + Number(m[3])) : 0;
}

function fmtNumber(value) {
  if (value === null || value === undefined) return "";
  const n = Number(value);
  if (!Number.isFinite(n)) return String(value);
  if (Math.abs(n) >= 1000) return n.toLocaleString("en-US", { maximumFractionDigits: 0 });
  return n.toLocaleString("en-US", { maximumFractionDigits: 4 });
}

// ---------- login ----------

function renderLogin(message) {
  document.getElementById("nav").hidden = true;
  document.getElementById("logout").hidden = true;
  document.getElementById("who").textContent = "";
  const error = h("p", { class: "error", id: "login-error", text: message || "" });
  const name = h("input", { id: "login-name", name: "name", autocomplete: "username", required: true });
  const password = h("input", { id: "login-password", name: "password", type: "password", autocomplete: "current-password", required: true });
  const form = h("form", {
    onsubmit: async (event) => {
      event.preventDefault();
      try {
        const me = await api("POST", "/api/login", { name: name.value, password: password.value });
        loggedIn(me);
        route();
      } catch (err) {
        error.textContent = err.message;
      }
    },
  },
    h("label", {}, "Name", h("br"), name),
    h("label", {}, "Password", h("br"), password),
    h("button", { type: "submit", id: "login-submit", text: "Log in" }),
    error);
  show(h("div", { class: "card login" }, h("h1", { text: "Log in" }), form));
  name.focus();
}

function loggedIn(me) {
  state.me = me.user;
  state.csrf = me.csrf_token;
  document.getElementById("nav").hidden = false;
  document.getElementById("logout").hidden = false;
  document.getElementById("who").textContent = me.user.name + " (" + me.user.role + ")";
  api("GET", "/api/users").then((users) => { state.users = users; }).catch(() => {});
}

// ---------- the queue ----------

const queueState = { state: "new", sort: "score", page: 1, filters: {} };

async function renderQueue() {
  const params = new URLSearchParams();
  if (queueState.state) params.set("state", queueState.state);
  params.set("sort", queueState.sort);
  params.set("page", queueState.page);
  params.set("page_size", 50);
  for (const [k, v] of Object.entries(queueState.filters)) if (v) params.set(k, v);
  const [counts, page] = await Promise.all([
    api("GET", "/api/alerts/counts"),
    api("GET", "/api/alerts?" + params.toString()),
  ]);
  const tabs = h("div", { class: "tabs", id: "state-tabs" },
    ...[["new", "New"], ["assigned", "Assigned"], ["escalated", "Escalated"],
        ["pending_approval", "Awaiting approval"], ["closed", "Closed"], ["", "All"]].map(([key, label]) =>
      h("button", {
        class: queueState.state === key ? "active" : "",
        "data-state": key || "all",
        onclick: () => { queueState.state = key; queueState.page = 1; renderQueue().catch(fail); },
      }, label + " (" + (key ? counts[key] : counts.total) + ")")));
  const field = (name, label, attrs) => {
    const input = h("input", Object.assign({ name, value: queueState.filters[name] || "", size: 12 }, attrs || {}));
    return h("label", {}, label, input);
  };
  const severity = h("select", { name: "severity" },
    ...["", "low", "medium", "high", "critical"].map((s) =>
      h("option", { value: s, selected: (queueState.filters.severity || "") === s }, s || "any")));
  const sort = h("select", { name: "sort" },
    ...[["score", "riskiest first"], ["time", "newest first"], ["time_asc", "oldest first"]].map(([v, l]) =>
      h("option", { value: v, selected: queueState.sort === v }, l)));
  const filters = h("form", {
    class: "filters", id: "queue-filters",
    onsubmit: (event) => {
      event.preventDefault();
      const data = new FormData(event.target);
      queueState.filters = {};
      for (const key of ["rule", "severity", "symbol", "account", "from", "to"]) queueState.filters[key] = (data.get(key) || "").trim();
      queueState.sort = data.get("sort");
      queueState.page = 1;
      renderQueue().catch(fail);
    },
  },
    field("symbol", "Symbol"), field("account", "Account"), field("rule", "Rule", { size: 22 }),
    h("label", {}, "Severity", severity),
    field("from", "From (RFC 3339)", { size: 22, placeholder: "2025-03-17T09:00:00+09:00" }),
    field("to", "To", { size: 22 }),
    h("label", {}, "Sort", sort),
    h("button", { type: "submit", text: "Apply" }));
  const rows = page.items.map((item) => h("tr", {
    class: "clickable", "data-alert-id": item.alert_id,
    onclick: () => { location.hash = "#/alert/" + encodeURIComponent(item.alert_id); },
  },
    h("td", { class: "num", text: item.score }),
    h("td", {}, sevBadge(item.severity)),
    h("td", { text: when(item.ts) }),
    h("td", { text: item.account_ids.join(", ") }),
    h("td", { text: item.symbols.join(", ") }),
    h("td", { text: item.summary.length > 160 ? item.summary.slice(0, 157) + "…" : item.summary }),
    h("td", {}, stateTag(item.state)),
    h("td", { text: item.assignee || "" }),
    h("td", { text: item.case_id || "" })));
  const pages = Math.max(1, Math.ceil(page.total / page.page_size));
  const pager = h("div", { class: "pager" },
    h("button", { class: "secondary", disabled: page.page <= 1, onclick: () => { queueState.page--; renderQueue().catch(fail); }, text: "‹ Previous" }),
    h("span", { text: "Page " + page.page + " of " + pages + " — " + page.total + " alerts" }),
    h("button", { class: "secondary", disabled: page.page >= pages, onclick: () => { queueState.page++; renderQueue().catch(fail); }, text: "Next ›" }));
  show(h("h1", { text: "Alert queue" }), tabs, filters,
    h("table", { id: "queue" },
      h("thead", {}, h("tr", {}, ...["Score", "Severity", "Fired", "Accounts", "Symbols", "Summary", "State", "Assignee", "Case"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 9, class: "muted", text: "No alert matches." })))),
    pager);
}

// ---------- workflow panel, shared by alerts and cases ----------

function workflowPanel(kind, id, item, reload) {
  const me = state.me;
  const supervisor = me.role === "supervisor" || me.role === "admin";
  const message = h("p", { class: "error", id: "workflow-error" });
  const change = async (body) => {
    try {
      await api("POST", "/api/" + kind + "s/" + encodeURIComponent(id) + "/workflow", { version: item.version, change: body });
      toast(body.action + " done");
      await reload();
    } catch (err) {
      message.textContent = err.status === 409 ? err.message + " The page has been reloaded." : err.message;
      if (err.status === 409) setTimeout(() => reload().catch(fail), 1500);
    }
  };
  const reasonBox = (id) => h("textarea", { id, rows: 2, placeholder: "Reason (required)" });
  const open = item.state !== "closed" && item.state !== "pending_approval";
  const parts = [
    h("p", {}, "State ", stateTag(item.state), item.assignee ? " · assigned to " + item.assignee : " · unassigned",
      item.disposition ? " · " + item.disposition.replaceAll("_", " ") : "", " · version " + item.version),
  ];
  if (open && !item.assignee) {
    parts.push(h("button", { id: "take", onclick: () => change({ action: "assign", assignee: me.name }), text: "Take it" }));
  }
  if (open && supervisor) {
    const who = h("select", { id: "assignee" }, ...state.users.filter((u) => !u.disabled).map((u) => h("option", { value: u.name, text: u.name + " (" + u.role + ")" })));
    parts.push(h("div", { class: "row" }, who, h("button", { class: "secondary", id: "assign", onclick: () => change({ action: "assign", assignee: who.value }), text: "Assign" })));
  }
  if (item.state === "new" || item.state === "assigned") {
    const reason = reasonBox("escalate-reason");
    parts.push(h("form", { id: "escalate-form", onsubmit: (e) => { e.preventDefault(); change({ action: "escalate", reason: reason.value }); } },
      reason, h("button", { class: "secondary", type: "submit", text: "Escalate" })));
  }
  if (open) {
    const disposition = h("select", { id: "disposition" },
      ...[["false_positive", "False positive"], ["customer_notified", "Customer notified"],
          ["orders_held", "Orders held"], ["reported_to_regulator", "Reported to the regulator"]].map(([v, l]) => h("option", { value: v, text: l })));
    const reason = reasonBox("close-reason");
    const needsApproval = !supervisor && (item.severity === "high" || item.severity === "critical");
    parts.push(h("form", { id: "close-form", onsubmit: (e) => {
      e.preventDefault();
      if (!reason.value.trim()) { message.textContent = "Closing needs a reason."; return; }
      change({ action: "close", disposition: disposition.value, reason: reason.value });
    } },
      h("strong", { text: needsApproval ? "Close (a supervisor approves)" : "Close" }), disposition, reason,
      h("button", { type: "submit", id: "close", text: "Close" })));
  }
  if (item.state === "pending_approval") {
    parts.push(h("p", { text: "Awaiting approval to close" + (item.pending_by ? " (asked by " + item.pending_by + ")" : "") }));
    if (supervisor) {
      const reason = reasonBox("reject-reason");
      parts.push(h("div", { class: "row" },
        h("button", { id: "approve", onclick: () => change({ action: "approve" }), text: "Approve close" })),
        h("form", { onsubmit: (e) => { e.preventDefault(); change({ action: "reject", reason: reason.value }); } },
          reason, h("button", { class: "secondary", type: "submit", text: "Send back" })));
    }
  }
  if (item.state === "closed" && supervisor) {
    const reason = reasonBox("reopen-reason");
    parts.push(h("form", { id: "reopen-form", onsubmit: (e) => { e.preventDefault(); change({ action: "reopen", reason: reason.value }); } },
      reason, h("button", { class: "secondary", type: "submit", text: "Reopen" })));
  }
  const comment = h("textarea", { id: "comment", rows: 2, placeholder: "Comment" });
  parts.push(h("form", { id: "comment-form", onsubmit: async (e) => {
    e.preventDefault();
    try {
      await api("POST", "/api/" + kind + "s/" + encodeURIComponent(id) + "/comments", { body: comment.value });
      await reload();
    } catch (err) { message.textContent = err.message; }
  } }, comment, h("button", { class: "secondary", type: "submit", text: "Comment" })));
  parts.push(message);
  return h("div", { class: "card workflow", id: "workflow" }, h("h2", { text: "Work it" }), ...parts);
}

function commentsCard(comments) {
  return h("div", { class: "card", id: "comments" }, h("h2", { text: "Comments" }),
    comments.length ? h("ul", {}, ...comments.map((c) => h("li", {}, h("span", { class: "muted", text: when(c.at) + " " + c.author + ": " }), c.body)))
      : h("p", { class: "muted", text: "None yet." }));
}

function auditTable(entries, id) {
  return h("table", { id: id || "audit" },
    h("thead", {}, h("tr", {}, ...["#", "When (UTC)", "Who", "What", "On", "Before → after"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...entries.map((e) => h("tr", { "data-action": e.action },
      h("td", { class: "num", text: e.seq }), h("td", { text: when(e.at) }), h("td", { text: e.actor }),
      h("td", { text: e.action }), h("td", { text: e.entity_type + " " + e.entity_id }),
      h("td", { class: "audit-json", text: (e.before === null ? "" : JSON.stringify(e.before) + " → ") + JSON.stringify(e.after) })))));
}

// ---------- an alert's page ----------

function featuresTable(features) {
  return h("table", { id: "features" },
    h("thead", {}, h("tr", {}, ...["Feature", "Value", "Condition", "Held"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...Object.entries(features).map(([name, f]) => h("tr", {},
      h("td", { text: name.replaceAll("_", " ") }),
      h("td", { class: "num", text: fmtNumber(f.value) }),
      h("td", { text: f.op ? f.op + " " + fmtNumber(f.threshold) : "(information)" }),
      h("td", {}, f.crossed === undefined || f.crossed === null ? ""
        : h("span", { class: f.crossed ? "crossed-yes" : "crossed-no", text: f.crossed ? "yes" : "no" }))))));
}

function evidenceLine(e) {
  const bits = [e.type, e.id];
  if (e.side) bits.push(e.side);
  if (e.qty) bits.push(fmtNumber(e.qty) + (e.symbol ? " " + e.symbol : ""));
  else if (e.symbol) bits.push(e.symbol);
  if (e.price !== undefined) bits.push("@ " + fmtNumber(e.price));
  if (e.notional !== undefined) bits.push("(" + fmtNumber(e.notional) + ")");
  if (e.margin) bits.push("on margin");
  if (e.note) bits.push("— " + e.note);
  return bits.join(" ");
}

function timeline(evidence) {
  const sorted = evidence.slice().sort((a, b) => Date.parse(a.ts) - Date.parse(b.ts));
  return h("ol", { class: "timeline", id: "timeline" }, ...sorted.map((e) =>
    h("li", { class: "t-" + e.type }, h("span", { class: "when", text: when(e.ts) }), evidenceLine(e))));
}

function holdingsTable(holdings) {
  if (!holdings.length) return h("p", { class: "muted", text: "No holdings loaded for this alert's day." });
  const list = (items) => items.map((i) => i.symbol + " " + fmtNumber(i.qty)).join(", ") || "—";
  return h("table", { id: "holdings" },
    h("thead", {}, h("tr", {}, ...["Account", "Start of day", "At the alert"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...holdings.map((a) => h("tr", {},
      h("td", { text: a.account_id }),
      h("td", { text: list(a.start_of_day) + (a.cash_start_of_day ? " · cash " + fmtNumber(a.cash_start_of_day) : "") }),
      h("td", { text: list(a.at_alert) + (a.cash_at_alert ? " · cash " + fmtNumber(a.cash_at_alert) : "") })))));
}

// Price (line) and volume (bars) by minute through the day, the alert's orders marked.
function priceChart(symbol, bars, evidence, alertTs) {
  const W = 860, H = 300, left = 64, right = 16, top = 14, priceH = 190, volTop = 220, volH = 60;
  if (!bars.length) return h("p", { class: "muted", text: "No market data loaded for " + symbol + " on this day." });
  const t = bars.map((b) => Date.parse(b.minute_utc));
  const marks = evidence.filter((e) => e.symbol === symbol && e.price !== undefined && (e.type === "order" || e.type === "execution"));
  const prices = bars.flatMap((b) => [Number(b.high), Number(b.low)]).concat(marks.map((m) => Number(m.price)));
  const t0 = Math.min(...t, ...marks.map((m) => Date.parse(m.ts))), t1 = Math.max(...t, ...marks.map((m) => Date.parse(m.ts))) + 60000;
  let p0 = Math.min(...prices), p1 = Math.max(...prices);
  if (p1 === p0) { p0 *= 0.99; p1 *= 1.01; if (p1 === p0) { p0 -= 1; p1 += 1; } }
  const vmax = Math.max(...bars.map((b) => b.volume), 1);
  const x = (ms) => left + (W - left - right) * (ms - t0) / Math.max(t1 - t0, 1);
  const y = (p) => top + priceH * (1 - (p - p0) / (p1 - p0));
  const points = bars.map((b, i) => x(t[i] + 30000).toFixed(1) + "," + y(Number(b.close)).toFixed(1)).join(" ");
  const svg = h("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", role: "img", "aria-label": "Price and volume of " + symbol, "data-symbol": symbol, class: "chart" });
  for (let i = 0; i <= 4; i++) {
    const p = p0 + (p1 - p0) * i / 4;
    svg.append(h("line", { x1: left, x2: W - right, y1: y(p), y2: y(p), stroke: "#e6e9ed" }),
      h("text", { x: left - 6, y: y(p) + 4, "text-anchor": "end", text: fmtNumber(p) }));
  }
  bars.forEach((b, i) => {
    const bh = volH * b.volume / vmax;
    svg.append(h("rect", { x: x(t[i]), y: volTop + volH - bh, width: Math.max(1, x(t[i] + 60000) - x(t[i]) - 0.5), height: bh, fill: "#9fb3c8", class: "volume-bar" }));
  });
  svg.append(h("text", { x: left - 6, y: volTop + 10, "text-anchor": "end", text: "vol" }));
  svg.append(h("polyline", { points, fill: "none", stroke: "#1f5fbf", "stroke-width": 1.6, class: "price-line" }));
  for (const m of marks) {
    const cx = x(Date.parse(m.ts)), cy = y(Number(m.price));
    const color = m.side === "sell" ? "#0b7a3b" : "#b3122e";
    svg.append(h("g", { class: "order-mark", "data-id": m.id },
      h("circle", { cx, cy, r: 5, fill: color, stroke: "#fff", "stroke-width": 1.5 }),
      h("title", { text: evidenceLine(m) + " at " + when(m.ts) })));
  }
  if (alertTs) {
    const ax = x(Date.parse(alertTs));
    const nearRight = ax > W - right - 50;
    svg.append(h("line", { x1: ax, x2: ax, y1: top, y2: volTop + volH, stroke: "#b3122e", "stroke-dasharray": "4 3" }),
      h("text", { x: nearRight ? ax - 4 : ax + 4, y: top + 10, "text-anchor": nearRight ? "end" : "start", text: "alert" }));
  }
  // Clock times in the alert's own offset (the exchange's local time), hourly ticks.
  const offset = offsetMinutes(alertTs);
  const clock = (ms) => new Date(ms + offset * 60000).toISOString().slice(11, 16);
  const hour = 3600000;
  for (let tick = Math.ceil((t0 + offset * 60000) / hour) * hour - offset * 60000; tick <= t1; tick += hour) {
    svg.append(h("line", { x1: x(tick), x2: x(tick), y1: volTop + volH, y2: volTop + volH + 4, stroke: "#6b7682" }),
      h("text", { x: x(tick), y: H - 2, "text-anchor": "middle", text: clock(tick) }));
  }
  const zone = alertTs ? alertTs.slice(-6).replace("Z", "UTC") : "UTC";
  return h("div", {}, h("p", { class: "muted" }, symbol + ": price by minute (line), volume (bars), times at " + zone + "; ",
    h("span", { class: "crossed-no", text: "●" }), " the alert's buys, ", h("span", { class: "crossed-yes", text: "●" }), " its sells."), svg);
}

function linksTable(links, id) {
  if (!links.length) return h("p", { class: "muted", text: "No matched executions between accounts." });
  return h("table", { id: id || "links" },
    h("thead", {}, h("tr", {}, ...["Symbol", "Buyer", "Seller", "Qty", "Notional", "Fills", "First", "Last"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...links.map((l) => h("tr", {},
      h("td", { text: l.symbol }), h("td", { text: l.buyer }), h("td", { text: l.seller }),
      h("td", { class: "num", text: fmtNumber(l.qty) }), h("td", { class: "num", text: fmtNumber(l.notional) }),
      h("td", { class: "num", text: l.fills }), h("td", { text: when(l.first_ts_utc) }), h("td", { text: when(l.last_ts_utc) })))));
}

async function renderAlert(id) {
  const page = await api("GET", "/api/alerts/" + encodeURIComponent(id));
  const a = page.alert, item = page.item;
  const reload = () => renderAlert(id);
  const charts = item.symbols.map((s) => priceChart(s, page.bars.filter((b) => b.symbol === s), a.evidence || [], a.ts));
  const header = h("div", {},
    h("p", {}, h("a", { href: "#/queue", text: "← Queue" }), item.case_id ? h("span", {}, " · ", h("a", { href: "#/case/" + encodeURIComponent(item.case_id), text: "Case " + item.case_id })) : ""),
    h("h1", {}, sevBadge(item.severity), " ", "Score " + item.score + " · " + a.rule.replaceAll("_", " ")),
    h("p", { class: "muted", text: "Alert " + item.alert_id + " · fired " + when(a.ts) + " · recommends " + String(a.action).replaceAll("_", " ") + " · config " + a.config_version }));
  show(header,
    h("div", { class: "grid" },
      h("div", {},
        h("div", { class: "card" }, h("p", { class: "summary", id: "summary", text: a.summary })),
        h("div", { class: "card" }, h("h2", { text: "Price and volume" }), ...charts),
        h("div", { class: "card" }, h("h2", { text: "Why it fired" }), featuresTable(a.features || {})),
        h("div", { class: "card" }, h("h2", { text: "Evidence" }), timeline(a.evidence || [])),
        h("div", { class: "card" }, h("h2", { text: "Holdings" }), holdingsTable(page.holdings)),
        h("div", { class: "card" }, h("h2", { text: "Executions with other accounts" }), linksTable(page.links))),
      h("div", {},
        workflowPanel("alert", id, item, reload),
        commentsCard(page.comments),
        h("div", { class: "card" }, h("h2", { text: "Audit trail" }), auditTable(page.audit)))));
}

// ---------- cases ----------

async function renderCases() {
  const page = await api("GET", "/api/cases?page_size=100");
  const rows = page.items.map((c) => h("tr", { class: "clickable", "data-case-id": c.case_id, onclick: () => { location.hash = "#/case/" + encodeURIComponent(c.case_id); } },
    h("td", { class: "num", text: c.score }), h("td", {}, sevBadge(c.severity)), h("td", { text: c.title }),
    h("td", { class: "num", text: c.alert_count }), h("td", { text: when(c.first_ts_utc) + " – " + when(c.last_ts_utc).slice(11) }),
    h("td", {}, stateTag(c.state)), h("td", { text: c.assignee || "" })));
  show(h("h1", { text: "Cases" }),
    h("p", { class: "muted", text: "Alerts of one campaign: the same target symbol close in time, or accounts linked by matched executions." }),
    h("table", { id: "cases" },
      h("thead", {}, h("tr", {}, ...["Score", "Severity", "Case", "Alerts", "Span (UTC)", "State", "Assignee"].map((t) => h("th", { text: t })))),
      h("tbody", {}, rows.length ? rows : h("tr", {}, h("td", { colspan: 7, class: "muted", text: "No case yet." })))));
}

// Accounts on a circle; an arrow from seller to buyer for each matched execution.
function caseGraph(detail) {
  const alerted = new Set(detail.accounts);
  const nodes = [...new Set([...detail.accounts, ...detail.links.flatMap((l) => [l.buyer, l.seller])])].sort();
  const W = 560, H = 420, cx = W / 2, cy = H / 2, r = Math.min(W, H) / 2 - 60;
  const pos = new Map(nodes.map((n, i) => [n, [cx + r * Math.cos(2 * Math.PI * i / nodes.length - Math.PI / 2), cy + r * Math.sin(2 * Math.PI * i / nodes.length - Math.PI / 2)]]));
  const svg = h("svg", { viewBox: "0 0 " + W + " " + H, width: "100%", id: "case-graph", role: "img", "aria-label": "Accounts and the executions between them" },
    h("defs", {}, h("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 18, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
      h("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#6b7682" }))));
  const maxQty = Math.max(1, ...detail.links.map((l) => l.qty));
  for (const l of detail.links) {
    const [x1, y1] = pos.get(l.seller), [x2, y2] = pos.get(l.buyer);
    svg.append(h("line", { x1, y1, x2, y2, stroke: "#6b7682", "stroke-width": 1 + 4 * l.qty / maxQty, "marker-end": "url(#arrow)", class: "edge" },
      h("title", { text: l.seller + " sold " + fmtNumber(l.qty) + " " + l.symbol + " to " + l.buyer + " (" + fmtNumber(l.notional) + ", " + l.fills + " fills)" })));
  }
  for (const n of nodes) {
    const [x, y] = pos.get(n);
    svg.append(h("g", { class: "node", "data-account": n },
      h("circle", { cx: x, cy: y, r: 11, fill: alerted.has(n) ? "#b3122e" : "#1f5fbf" }),
      h("text", { x, y: y + 26, "text-anchor": "middle", text: n })));
  }
  return h("div", {}, h("p", { class: "muted" }, h("span", { class: "crossed-no", text: "●" }), " alerted accounts, ",
    h("span", { text: "● " }), "their counterparties; arrows run from seller to buyer, thicker for more shares."), svg);
}

async function renderCase(id) {
  const page = await api("GET", "/api/cases/" + encodeURIComponent(id));
  const d = page.detail, c = d.case;
  const reload = () => renderCase(id);
  const alerts = h("table", { id: "case-alerts" },
    h("thead", {}, h("tr", {}, ...["Score", "Severity", "Fired", "Accounts", "Summary", "State"].map((t) => h("th", { text: t })))),
    h("tbody", {}, ...d.alerts.map((a) => h("tr", { class: "clickable", onclick: () => { location.hash = "#/alert/" + encodeURIComponent(a.alert_id); } },
      h("td", { class: "num", text: a.score }), h("td", {}, sevBadge(a.severity)), h("td", { text: when(a.ts) }),
      h("td", { text: a.account_ids.join(", ") }), h("td", { text: a.summary }), h("td", {}, stateTag(a.state))))));
  show(h("p", {}, h("a", { href: "#/cases", text: "← Cases" })),
    h("h1", {}, sevBadge(c.severity), " ", c.title),
    h("p", { class: "muted" }, "Case " + c.case_id + " · score " + c.score + " · " + c.alert_count + " alerts · symbols " + d.symbols.join(", ") + " · ",
      h("a", { href: "/api/cases/" + encodeURIComponent(id) + "/report", target: "_blank", id: "report-link", text: "printable report" }), " · ",
      h("a", { href: "/api/cases/" + encodeURIComponent(id) + "/export", target: "_blank", id: "export-link", text: "evidence bundle (JSON)" })),
    h("div", { class: "grid" },
      h("div", {},
        h("div", { class: "card" }, h("h2", { text: "Alerts" }), alerts),
        h("div", { class: "card" }, h("h2", { text: "Accounts and executions" }), caseGraph(d), linksTable(d.links, "case-links"))),
      h("div", {},
        workflowPanel("case", id, c, reload),
        commentsCard(page.comments),
        h("div", { class: "card" }, h("h2", { text: "Audit trail" }), auditTable(page.audit)))));
}

// ---------- the audit log ----------

async function renderAudit() {
  const entries = await api("GET", "/api/audit?limit=1000&newest_first=true");
  const result = h("p", { id: "verify-result" });
  const supervisor = state.me.role !== "analyst";
  show(h("h1", { text: "Audit log" }),
    h("p", { class: "muted", text: "Every change, append-only; each entry is chained to the one before by SHA-256." }),
    supervisor ? h("button", { id: "verify", onclick: async () => {
      const v = await api("GET", "/api/audit/verify");
      result.textContent = v.intact ? "Intact: " + v.entries + " entries verified." : "BROKEN at entry " + v.broken_at + ": " + v.problem;
      result.className = v.intact ? "crossed-yes" : "error";
    }, text: "Verify the chain" }) : "",
    result,
    auditTable(entries, "audit-log"));
}

// ---------- users (admins) ----------

async function renderUsers(note) {
  const users = await api("GET", "/api/users");
  const admin = state.me.role === "admin";
  const issued = h("p", { id: "issued-token", class: "audit-json", text: note || "" });
  const message = h("p", { class: "error", id: "users-error" });
  const act = (fn) => async (event) => {
    if (event) event.preventDefault();
    message.textContent = "";
    try { await fn(); } catch (err) { message.textContent = err.message; }
  };
  const showToken = (name, token) => {
    issued.textContent = "API token of " + name + " (shown only now): " + token;
  };
  const rows = users.map((u) => h("tr", { "data-user": u.name },
    h("td", { text: u.name }), h("td", { text: u.role }),
    h("td", { text: u.has_password ? "password and tokens" : "tokens only" }),
    h("td", { text: u.disabled ? "disabled" : "enabled" }),
    h("td", {}, admin ? h("span", {},
      h("button", { class: "secondary", onclick: act(async () => {
        const t = await api("POST", "/api/users/" + encodeURIComponent(u.name) + "/tokens", { label: "issued in the web UI" });
        showToken(u.name, t.token);
      }), text: "New token" }), " ",
      h("button", { class: "secondary", onclick: act(async () => {
        const r = await api("DELETE", "/api/users/" + encodeURIComponent(u.name) + "/tokens");
        toast(r.revoked + " token(s) of " + u.name + " revoked; their sessions ended");
      }), text: "Revoke tokens" })) : "")));
  const name = h("input", { id: "new-user-name", placeholder: "name" });
  const role = h("select", { id: "new-user-role" }, ...["analyst", "supervisor", "admin"].map((r) => h("option", { value: r, text: r })));
  const password = h("input", { id: "new-user-password", type: "password", placeholder: "password (optional, 12+ characters)", autocomplete: "new-password" });
  const form = admin ? h("form", { class: "filters", id: "new-user", onsubmit: act(async () => {
    const body = { name: name.value.trim(), role: role.value };
    if (password.value) body.password = password.value;
    const created = await api("POST", "/api/users", body);
    await renderUsers("API token of " + created.user.name + " (shown only now): " + created.token);
  }) }, h("label", {}, "Name", name), h("label", {}, "Role", role), h("label", {}, "Password", password),
    h("button", { type: "submit", text: "Add user" })) : h("p", { class: "muted", text: "Only admins add users and manage tokens." });
  show(h("h1", { text: "Users" }), form, message, issued,
    h("table", { id: "users" },
      h("thead", {}, h("tr", {}, ...["Name", "Role", "Logs in with", "State", ""].map((t) => h("th", { text: t })))),
      h("tbody", {}, ...rows)));
}

// ---------- routing ----------

function fail(err) {
  if (err && err.status === 401) return;
  show(h("p", { class: "error", id: "page-error", text: (err && err.message) || String(err) }),
    h("p", {}, h("a", { href: "#/queue", text: "Back to the queue" })));
}

async function route() {
  if (!state.me) {
    try { loggedIn(await api("GET", "/api/me")); } catch (_) { return; }
  }
  const hash = location.hash || "#/queue";
  const [, page, ...rest] = hash.split("/");
  const id = decodeURIComponent(rest.join("/"));
  for (const a of document.querySelectorAll("nav a")) a.classList.toggle("active", hash.startsWith(a.getAttribute("href")));
  try {
    if (page === "alert" && id) await renderAlert(id);
    else if (page === "cases") await renderCases();
    else if (page === "case" && id) await renderCase(id);
    else if (page === "audit") await renderAudit();
    else if (page === "users") await renderUsers("");
    else await renderQueue();
  } catch (err) { fail(err); }
}

document.addEventListener("DOMContentLoaded", () => {
  document.getElementById("logout").addEventListener("click", async () => {
    try { await api("POST", "/api/logout"); } catch (_) { /* ended already */ }
    state.me = null; state.csrf = null;
    renderLogin("Logged out.");
  });
  window.addEventListener("hashchange", route);
  route();
});
