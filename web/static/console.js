/* The agent console: live queue, claim, chat with AI-drafted suggestions, hand back, close. */
(function () {
  "use strict";
  var S = window.Staff;
  var el = S.el;
  var $ = function (id) { return document.getElementById(id); };

  var ws = null;
  var wsDelay = 500;
  var current = null;      // the selected conversation's detail
  var queueAt = 0;         // when the last queue frame arrived (waits tick from there)
  var queueItems = [];
  var aiDrafted = false;
  var lastTypingSent = 0;

  function status(text, bad) {
    $("action-status").textContent = text || "";
    $("action-status").className = "status" + (bad ? " bad" : "");
  }

  // --- the socket ---------------------------------------------------------------------------
  function connect() {
    var socket = new WebSocket(window.location.origin.replace(/^http/, "ws") + "/ws/console");
    ws = socket;
    socket.onopen = function () {
      wsDelay = 500;
      $("socket-status").textContent = "Live.";
      if (current) watch(current.conversation.id);
    };
    socket.onmessage = function (event) {
      var frame = JSON.parse(event.data);
      if (frame.type === "queue") renderQueue(frame);
      else if (frame.type === "message" && current && frame.conversation_id === current.conversation.id) {
        S.addMessages($("transcript"), [frame.message]);
      } else if (frame.type === "state" && current && frame.conversation_id === current.conversation.id) {
        select(current.conversation.id, true);
      } else if (frame.type === "error") {
        $("socket-status").textContent = frame.message;
        if (frame.code === "not_authenticated" || frame.code === "signed_out") window.location.reload();
      }
    };
    socket.onclose = function (event) {
      if (ws !== socket) return;
      ws = null;
      if (event.code === 4401) return;
      $("socket-status").textContent = "Connection lost — reconnecting…";
      window.setTimeout(connect, wsDelay);
      wsDelay = Math.min(wsDelay * 2, 10000);
    };
  }

  function send(frame) {
    if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(frame));
  }

  function watch(id) {
    send({ type: "watch", conversation_id: id, last_seq: S.lastSeq($("transcript")) });
  }

  // --- the queue -------------------------------------------------------------------------------
  var lastQueueFrame = null;
  // The queue shown in one language (a person who speaks it), or all.
  $("queue-language").addEventListener("change", function () {
    if (lastQueueFrame) renderQueue(lastQueueFrame);
  });

  function renderQueue(frame) {
    lastQueueFrame = frame;
    queueAt = Date.now();
    queueItems = frame.items;
    var language = $("queue-language").value;
    var shown = frame.items.filter(function (item) {
      return !language || (item.language || "en") === language;
    });
    $("queue-count").textContent = "(" + (language ? shown.length + " of " : "") + frame.items.length + ")";
    var list = $("queue");
    S.clear(list);
    if (!frame.items.length) list.appendChild(el("li", { className: "muted", text: "Nobody is waiting." }));
    else if (!shown.length) list.appendChild(el("li", { className: "muted", text: "Nobody is waiting in this language." }));
    shown.forEach(function (item) {
      var claim = el("button", { type: "button", "data-testid": "claim", text: "Claim" });
      claim.addEventListener("click", function (event) { event.stopPropagation(); doClaim(item.conversation_id); });
      var view = el("button", { type: "button", className: "secondary", text: "View" });
      view.addEventListener("click", function () { select(item.conversation_id); });
      list.appendChild(el("li", { className: "item prio-" + item.priority, "data-testid": "queue-item",
                                  "data-conversation-id": item.conversation_id }, [
        el("div", { className: "item-main" }, [
          el("span", { className: "badge badge-" + item.priority, text: item.priority }),
          el("strong", { text: S.reasonLabel(item.reason) }),
          S.languageBadge(item.language),
          el("span", { text: item.customer_name ? item.customer_name + " (" + item.customer_id + ")"
                                                : "Unverified customer" }),
          el("span", { className: "wait", "data-wait": String(item.waiting_seconds),
                       text: "waiting " + S.formatWait(item.waiting_seconds) })
        ]),
        el("div", { className: "item-actions" }, [view, claim])
      ]));
    });
    var mine = $("mine");
    S.clear(mine);
    if (!frame.mine.length) mine.appendChild(el("li", { className: "muted", text: "None." }));
    frame.mine.forEach(function (item) {
      var open = el("button", { type: "button", text: "Open" });
      open.addEventListener("click", function () { select(item.conversation_id); });
      mine.appendChild(el("li", { className: "item", "data-testid": "mine-item",
                                  "data-conversation-id": item.conversation_id }, [
        el("div", { className: "item-main" }, [
          el("strong", { text: S.reasonLabel(item.reason) }),
          el("span", { text: item.customer_name || "Unverified customer" })
        ]),
        el("div", { className: "item-actions" }, [open])
      ]));
    });
  }

  function tickWaits() {
    var elapsed = (Date.now() - queueAt) / 1000;
    Array.prototype.forEach.call(document.querySelectorAll("#queue .wait"), function (node) {
      node.textContent = "waiting " + S.formatWait(Number(node.getAttribute("data-wait")) + elapsed);
    });
  }

  // --- one conversation ----------------------------------------------------------------------
  function doClaim(id) {
    status("Claiming…");
    S.api("POST", "/api/staff/conversations/" + encodeURIComponent(id) + "/claim", {})
      .then(function (detail) { status("You have this conversation."); show(detail, false); })
      .catch(function (e) { status(e.message, true); });
  }

  function select(id, keepInput) {
    return S.api("GET", "/api/staff/conversations/" + encodeURIComponent(id))
      .then(function (detail) { show(detail, keepInput); })
      .catch(function (e) { status(e.message, true); });
  }

  function mineNow(detail) {
    var me = S.me();
    return detail.conversation.state === "human" && detail.conversation.assigned_to &&
      me && detail.conversation.assigned_to.id === me.id;
  }

  function show(detail, keepInput) {
    var switching = !current || current.conversation.id !== detail.conversation.id;
    current = detail;
    var c = detail.conversation;
    $("conv-title").textContent = (c.customer_name || "Unverified customer") + " — " + S.reasonLabel(c.reason);
    $("conv-meta").textContent = "State: " + c.state +
      (c.assigned_to ? " · with " + c.assigned_to.display_name : "") +
      (c.priority ? " · " + c.priority + " priority" : "") +
      " · " + (c.verified ? "identity verified" : "identity NOT verified");
    var transcript = $("transcript");
    if (switching) S.clear(transcript);
    S.addMessages(transcript, detail.transcript);
    renderHandoff(detail.handoff);
    renderLedger(detail.ledger);
    var mine = mineNow(detail);
    $("reply-form").hidden = !mine;
    $("suggestions-box").hidden = !mine;
    if (!keepInput || switching) { $("agent-input").value = ""; setDrafted(false); }
    if (mine) loadSuggestions(c.id);
    watch(c.id);
  }

  function loadSuggestions(id) {
    S.api("GET", "/api/staff/conversations/" + encodeURIComponent(id) + "/suggestions").then(function (data) {
      var box = $("suggestions");
      S.clear(box);
      data.suggestions.forEach(function (text) {
        var button = el("button", { type: "button", className: "suggestion", "data-testid": "suggestion", text: text });
        button.addEventListener("click", function () {
          $("agent-input").value = text;
          setDrafted(true);
          $("agent-input").focus();
        });
        box.appendChild(button);
      });
    }).catch(function () { /* suggestions are a help, not a must */ });
  }

  function setDrafted(on) {
    aiDrafted = on;
    $("drafted-note").hidden = !on;
  }

  function renderHandoff(handoff) {
    var box = $("handoff");
    S.clear(box);
    if (!handoff) { box.appendChild(el("p", { className: "muted", text: "No escalation." })); return; }
    var p = handoff.packet || {};
    var v = p.verification || {};
    var dl = el("dl", {}, [
      el("dt", { text: "Reason" }), el("dd", { text: S.reasonLabel(handoff.reason) }),
      el("dt", { text: "Priority" }), el("dd", { text: handoff.priority }),
      el("dt", { text: "Language" }), el("dd", { text: S.languageName(p.language) }),
      el("dt", { text: "Verification" }),
      el("dd", { text: (v.verified ? "verified" : "not verified") +
                       (v.failed_attempts ? " · " + v.failed_attempts + " failed attempt(s)" : "") +
                       (v.locked ? " · locked" : "") }),
      el("dt", { text: "Escalated" }), el("dd", { text: new Date(handoff.created_at).toLocaleString() })
    ]);
    box.appendChild(el("p", { className: "summary", text: handoff.summary }));
    box.appendChild(dl);
    var loans = p.loans || [];
    if (loans.length) {
      box.appendChild(el("h3", { text: "Loans (at escalation)" }));
      box.appendChild(el("ul", {}, loans.map(function (l) {
        return el("li", { text: l.loan_id + ": " + l.past_due_amount + " past due (" + l.days_past_due +
                                " days); payoff " + l.payoff_amount_today });
      })));
    }
    var actions = p.assistant_actions || [];
    box.appendChild(el("h3", { text: "What the assistant already did" }));
    box.appendChild(actions.length ? el("ul", {}, actions.map(function (a) {
      return el("li", { text: typeof a === "string" ? a : JSON.stringify(a) });
    })) : el("p", { className: "muted", text: "Nothing yet." }));
  }

  function renderLedger(ledger) {
    var box = $("ledger");
    S.clear(box);
    if (!ledger) {
      box.appendChild(el("p", { className: "muted",
        text: "Shown once the customer is verified (ask for date of birth and ZIP code)." }));
      return;
    }
    var c = ledger.customer;
    box.appendChild(el("p", {}, [el("strong", { text: c.name + " (" + c.id + ")" }),
      el("br"), (c.phone || "") + " · " + (c.email || "") + " · ZIP " + c.postal_code]));
    box.appendChild(el("p", { className: "muted", text: "As of " + ledger.as_of }));
    ledger.loans.forEach(function (l) {
      box.appendChild(el("h3", { text: "Loan " + l.loan_id + " (" + l.status + ")" }));
      box.appendChild(el("dl", {}, [
        el("dt", { text: "Past due" }), el("dd", { text: l.past_due_amount + " (" + l.days_past_due + " days)" }),
        el("dt", { text: "Unpaid fees" }), el("dd", { text: l.unpaid_fees }),
        el("dt", { text: "Next payment" }),
        el("dd", { text: l.next_due_date ? l.next_due_amount + " on " + l.next_due_date : "—" }),
        el("dt", { text: "Payoff today" }), el("dd", { text: l.payoff_amount_today }),
        el("dt", { text: "Principal" }), el("dd", { text: l.principal_balance + " at " + l.apr + " APR" }),
        el("dt", { text: "Promises" }),
        el("dd", { text: l.promises_to_pay.map(function (p) { return p.amount + " on " + p.date + " (" + p.status + ")"; }).join("; ") || "—" }),
        el("dt", { text: "Payments" }),
        el("dd", { text: l.payments.map(function (p) { return p.amount + " on " + p.date; }).join("; ") || "—" })
      ]));
    });
  }

  // --- actions ----------------------------------------------------------------------------------
  function sendReply(event) {
    event.preventDefault();
    var text = $("agent-input").value.trim();
    if (!text || !current) return;
    var id = current.conversation.id;
    S.api("POST", "/api/staff/conversations/" + encodeURIComponent(id) + "/messages",
          { text: text, ai_drafted: aiDrafted })
      .then(function (data) {
        $("agent-input").value = "";
        setDrafted(false);
        status("");
        S.addMessages($("transcript"), [data.message]);
      })
      .catch(function (e) { status(e.message, true); });
  }

  function handBack() {
    if (!current) return;
    S.api("POST", "/api/staff/conversations/" + encodeURIComponent(current.conversation.id) + "/handback", {})
      .then(function () { status("Handed back to the assistant."); return select(current.conversation.id); })
      .catch(function (e) { status(e.message, true); });
  }

  function closeConversation() {
    if (!current) return;
    var disposition = $("disposition").value;
    S.api("POST", "/api/staff/conversations/" + encodeURIComponent(current.conversation.id) + "/close",
          { disposition: disposition })
      .then(function () { status("Closed (" + disposition.replace(/_/g, " ") + ")."); return select(current.conversation.id); })
      .catch(function (e) { status(e.message, true); });
  }

  function start() {
    S.whoami().then(function (data) {
      var me = data.staff;
      $("who").textContent = me.display_name + " (" + me.role + ")";
      $("logout").hidden = false;
      $("supervisor-link").hidden = me.role !== "supervisor";
      var dispositions = $("disposition");
      S.clear(dispositions);
      data.dispositions.forEach(function (d) {
        dispositions.appendChild(el("option", { value: d, text: d.replace(/_/g, " ") }));
      });
      $("console-view").hidden = false;
      connect();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    $("reply-form").addEventListener("submit", sendReply);
    $("agent-input").addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) sendReply(event);
    });
    $("agent-input").addEventListener("input", function () {
      if (!$("agent-input").value.trim()) setDrafted(false);
      var now = Date.now();
      if (current && now - lastTypingSent > 2000) {
        lastTypingSent = now;
        send({ type: "typing", conversation_id: current.conversation.id });
      }
    });
    $("handback").addEventListener("click", handBack);
    $("close").addEventListener("click", closeConversation);
    window.setInterval(tickWaits, 1000);
    S.setupLogin(start);
  });
})();
