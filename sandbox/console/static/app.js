// tipctl sandbox console: read-only views over GET /_sandbox/console/*.
// All data is written with textContent, never as HTML.
"use strict";
(function () {
  const base = "/_sandbox/console";
  const el = (tag, cls, text) => {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  };
  const short = (t) => (t ? t.replace("T", " ").replace(/\.\d+Z$|Z$/, "") : "");

  // why: what decided a refusal, and the data-level limits (row-level
  // security, document ACLs) that shaped an allowed call's result.
  const why = (v) => {
    const parts = [];
    if (v.decision) parts.push(v.decision.kind + ": " + v.decision.reason);
    else if (!v.allowed) parts.push(v.message || v.error || "");
    for (const l of v.limits || []) parts.push(l.kind + ": " + l.reason);
    return parts.join(" · ");
  };

  // Timeline over Server-Sent Events.
  const tbody = document.querySelector("#timeline tbody");
  const status = document.getElementById("status");
  function addRow(v) {
    const tr = el("tr", "call " + (v.allowed ? "allowed" : "denied"));
    tr.dataset.person = v.person || "";
    tr.dataset.action = v.action;
    [short(v.time), v.person || v.user_id || "-", v.role || "-", v.action, v.resource || "-",
      v.allowed ? (v.limits ? "allowed, limited" : "allowed") : "DENIED " + (v.error || ""), why(v)].forEach((c) => tr.appendChild(el("td", "", c)));
    tbody.insertBefore(tr, tbody.firstChild);
    while (tbody.rows.length > 500) tbody.deleteRow(tbody.rows.length - 1);
  }
  let refreshTimer = null;
  function scheduleChains() {
    if (refreshTimer) return;
    refreshTimer = setTimeout(() => { refreshTimer = null; loadChains(); }, 250);
  }
  const es = new EventSource(base + "/events");
  es.addEventListener("open", () => { status.textContent = "live"; });
  es.addEventListener("error", () => { status.textContent = "reconnecting…"; });
  es.addEventListener("call", (m) => {
    try { addRow(JSON.parse(m.data)); } catch (e) { return; }
    scheduleChains();
  });

  // Chains.
  function claimsBox(cls, kind, sub, claims, ok) {
    const b = el("div", "box " + cls + (ok === false ? " failed" : ""));
    b.appendChild(el("div", "kind", kind));
    if (sub) b.appendChild(el("div", "sub", sub));
    if (claims) b.appendChild(el("pre", "claims", JSON.stringify(claims, null, 1)));
    return b;
  }
  async function loadChains() {
    let chains;
    try { chains = await (await fetch(base + "/chains")).json(); } catch (e) { return; }
    const root = document.getElementById("chains");
    root.textContent = "";
    if (!chains.length) { root.appendChild(el("p", "empty", "No chain yet.")); return; }
    for (const c of chains) {
      const s = el("section", "chain");
      s.dataset.person = c.person || "";
      s.dataset.chain = c.id;
      s.appendChild(el("h3", "", (c.person || "unknown person") + " — started " + short(c.started)));
      const hops = el("div", "hops");
      hops.appendChild(claimsBox("origin", "IdP id_token", "", c.id_token));
      for (const h of c.hops) {
        hops.appendChild(el("span", "arrow", "→"));
        const b = claimsBox("hop", h.kind, h.action + (h.role ? " · " + h.role : "") + (h.issued ? " · " + h.issued : ""), h.claims, h.ok);
        b.dataset.kind = h.kind;
        hops.appendChild(b);
      }
      s.appendChild(hops);
      const ul = el("ul", "calls");
      for (const v of c.calls) {
        const li = el("li", v.allowed ? "allowed" : "denied",
          v.action + " " + (v.resource || "") + (v.allowed ? "  allowed" : "  DENIED " + (v.error || "")) + (why(v) ? " — " + why(v) : ""));
        li.dataset.action = v.action;
        ul.appendChild(li);
      }
      s.appendChild(ul);
      root.appendChild(s);
    }
  }

  // World and access matrix.
  function list(title, items) {
    const d = el("div");
    d.appendChild(el("h3", "", title));
    const ul = el("ul");
    for (const i of items || []) ul.appendChild(el("li", "", i));
    d.appendChild(ul);
    return d;
  }
  async function loadWorld() {
    let w;
    try { w = await (await fetch(base + "/world")).json(); } catch (e) { return; }
    const m = document.getElementById("matrix");
    m.textContent = "";
    const t = el("table", "matrix");
    const head = el("tr");
    head.appendChild(el("th", "", "person \\ resource"));
    for (const r of w.matrix.resources) head.appendChild(el("th", "", r));
    t.appendChild(head);
    for (const row of w.matrix.rows) {
      const tr = el("tr");
      tr.appendChild(el("th", "", row.person));
      row.cells.forEach((cell, i) => {
        const td = el("td", "cell " + (cell.allowed ? "allowed" : "denied"),
          cell.allowed ? "✔ " + (cell.label || cell.via) : "✘" + (cell.label ? " " + cell.label : ""));
        td.dataset.person = row.person;
        td.dataset.resource = w.matrix.resources[i];
        td.title = cell.via || "";
        tr.appendChild(td);
      });
      t.appendChild(tr);
    }
    m.appendChild(t);
    const wd = document.getElementById("world");
    wd.textContent = "";
    wd.appendChild(list("People", w.people.map((p) => p.email + " (" + p.user_name + ") groups: " + (p.groups || []).join(", "))));
    wd.appendChild(list("Groups", w.groups));
    wd.appendChild(list("Roles", w.roles));
    wd.appendChild(list("Trusted token issuers", w.trusted_token_issuers));
    wd.appendChild(list("Applications", w.applications));
  }
  loadChains();
  loadWorld();
  setInterval(loadWorld, 10000);
})();
