/* Supervisor view: metrics, audit-chain status, conversations, flags, escalations. */
(function () {
  "use strict";
  var S = window.Staff;
  var el = S.el;
  var $ = function (id) { return document.getElementById(id); };
  var when = function (iso) { return iso ? new Date(iso).toLocaleString() : "—"; };

  function metric(label, value) {
    return el("div", { className: "metric" }, [el("div", { className: "value", text: String(value) }),
                                                el("div", { className: "muted", text: label })]);
  }

  function loadOverview() {
    return S.api("GET", "/api/supervisor/overview").then(function (data) {
      var m = data.metrics;
      var box = $("metrics");
      S.clear(box);
      box.appendChild(metric("conversations", m.conversations));
      ["ai", "queued", "human", "closed"].forEach(function (s) { box.appendChild(metric("state: " + s, m.by_state[s])); });
      box.appendChild(metric("escalation rate", m.escalation_rate === null ? "—" : Math.round(m.escalation_rate * 100) + "%"));
      box.appendChild(metric("average rating (" + m.ratings + ")", m.average_rating === null ? "—" : m.average_rating));
      box.appendChild(metric("open flags", m.open_flags));
      var reasons = $("reasons");
      S.clear(reasons);
      var keys = Object.keys(m.escalations_by_reason);
      reasons.appendChild(keys.length ? el("ul", {}, keys.map(function (k) {
        return el("li", { text: S.reasonLabel(k) + ": " + m.escalations_by_reason[k] });
      })) : el("p", { className: "muted", text: "No escalations yet." }));
      var a = data.audit;
      $("audit").className = a.ok ? "ok" : "broken";
      $("audit").textContent = a.ok ? "Audit chain OK — " + a.events_checked + " events verified."
        : "Audit chain BROKEN at event " + a.first_bad_id + ": " + a.problem;
    });
  }

  function loadConversations() {
    var state = $("state-filter").value;
    return S.api("GET", "/api/supervisor/conversations" + (state ? "?state=" + state : "")).then(function (data) {
      var body = $("conversations");
      S.clear(body);
      data.conversations.forEach(function (c) {
        var view = el("button", { type: "button", className: "secondary", text: "View" });
        view.addEventListener("click", function () { showConversation(c.id); });
        body.appendChild(el("tr", { "data-conversation-id": c.id }, [
          el("td", { text: when(c.updated_at) }), el("td", { text: c.state + (c.flagged ? " ⚑" : "") }),
          el("td", { text: c.customer_name || "unverified" }), el("td", { text: S.reasonLabel(c.reason) }),
          el("td", { text: S.languageName(c.language) }),
          el("td", { text: String(c.messages) }), el("td", { text: c.rating ? c.rating + "/5" : "—" }),
          el("td", {}, [view])
        ]));
      });
    });
  }

  function showConversation(id) {
    S.api("GET", "/api/supervisor/conversations/" + encodeURIComponent(id)).then(function (d) {
      var c = d.conversation;
      $("detail-meta").textContent = c.id + " · " + c.state + " · " + (c.customer_name || "unverified") +
        (c.disposition ? " · disposition: " + c.disposition : "") +
        (c.rating ? " · rated " + c.rating + "/5" + (c.rating_comment ? " (\u201c" + c.rating_comment + "\u201d)" : "") : "") +
        " · audit " + (d.audit.ok ? "OK (" + d.audit.events_checked + " events)" : "BROKEN");
      var list = $("detail-transcript");
      S.clear(list);
      S.addMessages(list, d.transcript);
      var extra = $("detail-extra");
      S.clear(extra);
      extra.appendChild(el("h3", { text: "Escalations" }));
      d.escalations.forEach(function (e) {
        extra.appendChild(el("pre", { className: "packet", text: JSON.stringify(e.packet, null, 2) }));
      });
      extra.appendChild(el("h3", { text: "Flags" }));
      extra.appendChild(d.flags.length ? el("ul", {}, d.flags.map(function (f) {
        return el("li", { text: f.kind + ": " + f.detail });
      })) : el("p", { className: "muted", text: "None." }));
      extra.appendChild(el("h3", { text: "State changes" }));
      extra.appendChild(el("ul", {}, d.events.filter(function (e) { return e.kind === "state_changed"; }).map(function (e) {
        return el("li", { text: when(e.created_at) + ": " + e.from + " → " + e.to + (e.data && e.data.actor ? " by " + e.data.actor : "") });
      })));
    }).catch(function (e) { $("detail-meta").textContent = e.message; });
  }

  function loadFlags() {
    return S.api("GET", "/api/supervisor/flags").then(function (data) {
      var body = $("flags");
      S.clear(body);
      data.flags.forEach(function (f) {
        var button = null;
        if (!f.reviewed) {
          button = el("button", { type: "button", className: "secondary", text: "Mark reviewed" });
          button.addEventListener("click", function () {
            S.api("POST", "/api/supervisor/flags/" + f.id + "/review", {}).then(refresh);
          });
        }
        var open = el("button", { type: "button", className: "secondary", text: "Transcript" });
        open.addEventListener("click", function () { showConversation(f.conversation_id); });
        body.appendChild(el("tr", {}, [el("td", { text: when(f.created_at) }), el("td", { text: f.kind }),
          el("td", { text: f.detail }), el("td", {}, [open]), el("td", {}, [button || el("span", { text: "reviewed" })])]));
      });
      if (!data.flags.length) body.appendChild(el("tr", {}, [el("td", { colspan: "5", className: "muted", text: "No flags." })]));
    });
  }

  function loadEscalations() {
    return S.api("GET", "/api/supervisor/escalations").then(function (data) {
      var body = $("escalations");
      S.clear(body);
      data.escalations.forEach(function (e) {
        body.appendChild(el("tr", {}, [el("td", { text: when(e.created_at) }), el("td", { text: S.reasonLabel(e.reason) }),
          el("td", { text: e.priority }), el("td", { text: e.summary }), el("td", { text: e.claimed_by || "—" }),
          el("td", { text: when(e.resolved_at) })]));
      });
      if (!data.escalations.length) body.appendChild(el("tr", {}, [el("td", { colspan: "6", className: "muted", text: "None." })]));
    });
  }

  function loadTeam() {
    return S.api("GET", "/api/supervisor/staff").then(function (data) {
      var body = $("team");
      S.clear(body);
      data.staff.forEach(function (p) {
        var action = el("span", { className: "muted", text: p.logins_throttled_seconds
          ? "new-device logins slowed for " + Math.ceil(p.logins_throttled_seconds / 60) + " min (many wrong passwords)" : "" });
        if (p.active_sessions) {
          action = el("button", { type: "button", className: "secondary", text: "Sign out everywhere",
                                  "data-testid": "sign-out-" + p.username,
                                  "aria-label": "Sign out everywhere: " + p.display_name });
          action.addEventListener("click", function () {
            if (!window.confirm("Sign out " + p.display_name + " on every device?")) return;
            S.api("POST", "/api/supervisor/staff/" + p.id + "/sign-out", {}).then(refresh);
          });
        }
        body.appendChild(el("tr", {}, [el("td", { text: p.display_name + " (" + p.username + ")" }),
          el("td", { text: p.role }),
          el("td", { text: p.active_sessions ? p.active_sessions + " session" + (p.active_sessions === 1 ? "" : "s") : "no" }),
          el("td", {}, [action])]));
      });
    });
  }

  function refresh() {
    return Promise.all([loadOverview(), loadConversations(), loadFlags(), loadEscalations(), loadTeam()])
      .then(function () { $("updated").textContent = "Updated " + new Date().toLocaleTimeString(); })
      .catch(function (e) {
        if (e.status === 403) { $("forbidden").hidden = false; $("content").hidden = true; }
        else $("updated").textContent = e.message;
      });
  }

  function start() {
    var me = S.me();
    $("who").textContent = me ? me.display_name + " (" + me.role + ")" : "";
    $("logout").hidden = false;
    $("supervisor-view").hidden = false;
    if (me && me.role !== "supervisor") { $("forbidden").hidden = false; $("content").hidden = true; return; }
    refresh();
    window.setInterval(refresh, 15000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("refresh").addEventListener("click", refresh);
    $("state-filter").addEventListener("change", loadConversations);
    S.setupLogin(start);
  });
})();
