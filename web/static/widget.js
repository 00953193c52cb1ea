/*
 * Harbor Consumer Finance — customer chat widget.
 *
 * Embed with one line (the lender's site):
 *   <script src="https://chat.example.com/widget.js" data-customer-token="…" defer></script>
 * data-customer-token is optional (a signed token from the lender's back end for a
 * logged-in customer). Vanilla JS, no build step. Protocol: web/PROTOCOL.md.
 *
 * Or set window.HarborChatConfig = { customerToken: "…" } before the script runs.
 * JS API: window.HarborChat.open() / .close() / .setCustomerToken(token|null) / .reset()
 */
(function () {
  "use strict";

  if (window.HarborChat) return; // loaded twice

  var script = document.currentScript;
  var base = new URL(script ? script.src : "/widget.js", window.location.href);
  var WS_URL = base.origin.replace(/^http/, "ws") + "/ws/chat";
  var STORE_KEY = "harbor-chat:" + base.origin;
  var PING_EVERY_MS = 25000;
  var PONG_TIMEOUT_MS = 10000;
  var NO_RECONNECT = { 1008: true, 4401: true };

  var token = (script && script.getAttribute("data-customer-token")) ||
    (window.HarborChatConfig && window.HarborChatConfig.customerToken) || null;
  var ws = null;
  var reconnectDelay = 500;
  var reconnectTimer = null;
  var pingTimer = null;
  var pongTimer = null;
  var stopped = false; // a fatal error: do not reconnect until reset
  var agentTypingTimer = null;
  var maxChars = 2000;
  var shownSeq = 0; // the highest seq on screen: a reconnect asks for what follows it
  var draftItem = null; // the reply being streamed (a draft the stored reply replaces)
  var proposalBox = null; // the Yes / No buttons under the reply that proposes a change

  // --- persisted session (this tab only) ----------------------------------------------------
  var session = loadSession();

  function loadSession() {
    try {
      var raw = window.sessionStorage.getItem(STORE_KEY);
      if (raw) return JSON.parse(raw);
    } catch (e) { /* storage blocked: the chat still works, without resume */ }
    return { conversationId: null, resume: null, outbox: [], open: false, state: "ai" };
  }

  function saveSession() {
    try { window.sessionStorage.setItem(STORE_KEY, JSON.stringify(session)); } catch (e) { /* ignore */ }
  }

  // --- DOM ------------------------------------------------------------------------------------
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) { if (child) node.appendChild(child); });
    return node;
  }

  var ui = {};

  function build() {
    var link = el("link", { rel: "stylesheet", href: base.origin + "/widget.css" });
    document.head.appendChild(link);

    ui.launcher = el("button", {
      type: "button", className: "hcw-launcher", "aria-expanded": "false",
      "aria-controls": "hcw-panel", "data-testid": "chat-launcher"
    }, [el("span", { className: "hcw-launcher-icon", "aria-hidden": "true", text: "\uD83D\uDCAC" }),
        el("span", { text: "Chat with us" })]);

    ui.title = el("h2", { className: "hcw-title", id: "hcw-title", text: "Harbor Consumer Finance" });
    ui.subtitle = el("p", { className: "hcw-subtitle", id: "hcw-subtitle", "data-testid": "chat-status",
                            text: "Automated assistant \u00b7 ask for a person any time" });
    ui.human = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-human",
                              text: "Talk to a person" });
    ui.end = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-end",
                            text: "End chat" });
    ui.minimize = el("button", { type: "button", className: "hcw-icon-btn", "aria-label": "Minimize chat",
                                 "data-testid": "chat-minimize", text: "\u2715" });
    var header = el("div", { className: "hcw-header" }, [
      el("div", { className: "hcw-heading" }, [ui.title, ui.subtitle]), ui.minimize
    ]);
    ui.toolbar = el("div", { className: "hcw-toolbar", role: "toolbar", "aria-label": "Chat actions" },
                     [ui.human, ui.end]);

    ui.banner = el("div", { className: "hcw-banner", role: "status", "data-testid": "chat-connection" });
    ui.banner.hidden = true;
    ui.queue = el("div", { className: "hcw-queue", role: "status", "data-testid": "chat-queue" });
    ui.queue.hidden = true;

    ui.log = el("ol", { className: "hcw-log", "aria-live": "polite", "aria-relevant": "additions",
                        "aria-label": "Conversation", tabindex: "0", "data-testid": "chat-log" });
    ui.intro = el("li", { className: "hcw-intro", text:
      "Hi! I'm Harbor's automated assistant. I can help with payments, due dates and your balance. " +
      "You can ask for a person at any time." });
    ui.log.appendChild(ui.intro);

    ui.typingText = el("span", { className: "hcw-sr-only", text: "" });
    ui.typing = el("div", { className: "hcw-typing", "aria-live": "polite", "data-testid": "chat-typing" }, [
      el("span", { className: "hcw-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { className: "hcw-typing-label" }), ui.typingText
    ]);
    ui.typing.hidden = true;

    ui.input = el("textarea", { id: "hcw-input", className: "hcw-input", rows: "1", maxlength: "2000",
                                placeholder: "Type your message\u2026", "data-testid": "chat-input",
                                "aria-describedby": "hcw-hint", autocomplete: "off" });
    ui.send = el("button", { type: "submit", className: "hcw-btn hcw-send", "data-testid": "chat-send",
                             text: "Send" });
    ui.form = el("form", { className: "hcw-composer", "aria-label": "Send a message" }, [
      el("label", { className: "hcw-sr-only", "for": "hcw-input", text: "Your message" }),
      ui.input, ui.send
    ]);
    ui.hint = el("p", { className: "hcw-hint", id: "hcw-hint",
                        text: "Enter to send, Shift+Enter for a new line. Never share card or bank numbers here." });

    ui.rating = buildRating();
    ui.rating.hidden = true;

    ui.panel = el("section", { id: "hcw-panel", className: "hcw-panel", role: "dialog", "aria-modal": "false",
                               "aria-labelledby": "hcw-title", "aria-describedby": "hcw-subtitle",
                               "data-testid": "chat-panel" },
                  [header, ui.toolbar, ui.banner, ui.queue, ui.log, ui.typing, ui.rating, ui.form, ui.hint]);
    ui.panel.hidden = true;

    ui.root = el("div", { className: "hcw-root" }, [ui.panel, ui.launcher]);
    document.body.appendChild(ui.root);

    ui.launcher.addEventListener("click", function () { toggle(true); });
    ui.minimize.addEventListener("click", function () { toggle(false); });
    ui.panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); toggle(false); }
    });
    ui.form.addEventListener("submit", function (event) { event.preventDefault(); submit(); });
    ui.input.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submit(); }
    });
    ui.input.addEventListener("input", autosize);
    ui.human.addEventListener("click", function () { queueFrame({ type: "request_human" }); });
    ui.end.addEventListener("click", function () {
      if (window.confirm("End this chat?")) queueFrame({ type: "end" });
    });
  }

  function buildRating() {
    var legend = el("legend", { text: "How did we do? (optional)" });
    var stars = el("div", { className: "hcw-stars" });
    for (var i = 1; i <= 5; i++) {
      var id = "hcw-rate-" + i;
      stars.appendChild(el("input", { type: "radio", name: "hcw-rating", id: id, value: String(i),
                                      "data-testid": "chat-rating-" + i }));
      stars.appendChild(el("label", { "for": id, text: String(i),
                                      title: i + (i === 1 ? " (poor)" : i === 5 ? " (excellent)" : "") }));
    }
    ui.comment = el("textarea", { id: "hcw-comment", className: "hcw-input", rows: "2", maxlength: "1000",
                                  "data-testid": "chat-rating-comment" });
    ui.rateSend = el("button", { type: "submit", className: "hcw-btn", "data-testid": "chat-rating-submit",
                                 text: "Send feedback" });
    ui.restart = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-restart",
                                text: "Start a new chat" });
    ui.rateDone = el("p", { className: "hcw-rate-done", role: "status" });
    var form = el("form", { className: "hcw-rating", "aria-label": "Rate this conversation" }, [
      el("fieldset", {}, [legend, stars]),
      el("label", { "for": "hcw-comment", text: "Comment (optional)" }), ui.comment,
      el("div", { className: "hcw-row" }, [ui.rateSend, ui.restart]), ui.rateDone
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = form.querySelector("input[name=hcw-rating]:checked");
      if (!chosen) { ui.rateDone.textContent = "Choose 1 to 5 first."; return; }
      queueFrame({ type: "rate", rating: Number(chosen.value), comment: ui.comment.value.trim() || null });
    });
    ui.restart.addEventListener("click", function () { reset(); toggle(true); });
    return form;
  }

  function autosize() {
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight, 120) + "px";
  }

  function toggle(open) {
    session.open = open;
    saveSession();
    ui.panel.hidden = !open;
    ui.launcher.hidden = open;
    ui.launcher.setAttribute("aria-expanded", String(open));
    if (open) {
      connect();
      window.setTimeout(function () { ui.input.focus(); }, 0);
      scrollDown();
    } else {
      ui.launcher.focus();
    }
  }

  // --- rendering ------------------------------------------------------------------------------
  var LINK = /(https?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)])/g;
  var linkDomains = []; // the lender's domains, from the welcome frame (PROTOCOL.md)

  // Only links to this page's site, the chat server's or the lender's domains (subdomains
  // included) are clickable; any other address stays plain text. The URL parser reads the
  // host as the browser will (user info, backslashes, IDN in punycode).
  function linkAllowed(url) {
    var parsed;
    try { parsed = new URL(url); } catch (e) { return false; }
    if (parsed.protocol !== "https:" && parsed.protocol !== "http:") return false;
    if (parsed.username || parsed.password) return false;
    if (parsed.origin === window.location.origin || parsed.origin === base.origin) return true;
    var host = parsed.hostname.toLowerCase().replace(/\.$/, "");
    return linkDomains.some(function (domain) {
      return host === domain || host.slice(-(domain.length + 1)) === "." + domain;
    });
  }

  function renderText(node, text) {
    node.textContent = "";
    var last = 0;
    text.replace(LINK, function (match, url, offset) {
      if (!linkAllowed(url)) return match; // stays in the plain text around it
      if (offset > last) node.appendChild(document.createTextNode(text.slice(last, offset)));
      node.appendChild(el("a", { href: url, target: "_blank", rel: "noopener noreferrer", text: url }));
      last = offset + match.length;
      return match;
    });
    if (last < text.length) node.appendChild(document.createTextNode(text.slice(last)));
  }

  function authorLabel(message) {
    if (message.role === "customer") return "You";
    if (message.role === "assistant") return "Harbor assistant (automated)";
    if (message.role === "agent") return (message.author || "Harbor team") + " \u00b7 Harbor team (a person)";
    return "";
  }

  function timeLabel(iso) {
    try {
      return new Date(iso).toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
    } catch (e) { return ""; }
  }

  function bubble(role, seq) {
    var item = el("li", { className: "hcw-msg hcw-" + role, "data-testid": "chat-message", "data-role": role });
    if (seq) item.setAttribute("data-seq", String(seq));
    return item;
  }

  function fill(item, message, status) {
    item.textContent = "";
    var label = authorLabel(message);
    if (label) item.appendChild(el("span", { className: "hcw-author", text: label }));
    var body = el("div", { className: "hcw-text" });
    renderText(body, message.content);
    item.appendChild(body);
    var meta = status || (message.created_at ? timeLabel(message.created_at) : "");
    if (meta) item.appendChild(el("span", { className: "hcw-meta", text: meta }));
  }

  function findSeq(seq) { return ui.log.querySelector('[data-seq="' + seq + '"]'); }
  function findPending(id) { return ui.log.querySelector('[data-client-id="' + CSS.escape(id) + '"]'); }

  function addMessage(message) {
    if (findSeq(message.seq)) return; // already shown
    var item = message.client_id ? findPending(message.client_id) : null;
    if (item) {
      item.setAttribute("data-seq", String(message.seq));
      item.classList.remove("hcw-pending", "hcw-failed");
      fill(item, message);
    } else {
      item = bubble(message.role, message.seq);
      if (message.role === "system") item.classList.add("hcw-divider");
      fill(item, message);
      insertInOrder(item, message.seq);
    }
    if (message.seq > shownSeq) shownSeq = message.seq;
    if (message.seq === shownSeq) showProposal(item, message.proposal); // the newest only
    if (message.role === "assistant") clearDraft();
    if (message.role === "assistant" || message.role === "agent") setTyping(false);
    scrollDown();
  }

  function insertInOrder(item, seq) {
    var nodes = ui.log.querySelectorAll("[data-seq]");
    for (var i = 0; i < nodes.length; i++) {
      if (Number(nodes[i].getAttribute("data-seq")) > seq) { ui.log.insertBefore(item, nodes[i]); return; }
    }
    var firstPending = ui.log.querySelector(".hcw-pending");
    ui.log.insertBefore(item, firstPending);
  }

  function addPending(frame) {
    if (findPending(frame.id)) return;
    var item = bubble("customer", null);
    item.setAttribute("data-client-id", frame.id);
    item.classList.add("hcw-pending");
    fill(item, { role: "customer", content: sentText(frame) }, "Sending\u2026");
    ui.log.appendChild(item);
    scrollDown();
  }

  // A streamed reply, shown as it is written. Hidden from screen readers (the stored
  // reply, which replaces it, is announced once, whole); "text" is the draft so far.
  function showDraft(frame) {
    if (frame.reply_to <= shownSeq) return; // that turn's reply is already on screen
    if (!frame.text) { clearDraft(); return; }
    if (!draftItem) {
      draftItem = el("li", { className: "hcw-msg hcw-assistant hcw-draft", "data-testid": "chat-draft",
                             "data-role": "assistant", "aria-hidden": "true" });
      ui.log.appendChild(draftItem);
    }
    fill(draftItem, { role: "assistant", content: frame.text }, "Writing\u2026");
    scrollDown();
  }

  function clearDraft() {
    if (draftItem) { draftItem.remove(); draftItem = null; }
  }

  // --- Yes / No under a reply that proposes a change (PROTOCOL.md, "confirm") -----------------
  // Frames the transcript shows as the customer's words, with what they show.
  var SHOWN_FRAMES = { message: true, confirm: true };

  function sentText(frame) {
    if (frame.type === "confirm") return frame.answer === "yes" ? "Yes" : "No";
    return frame.text;
  }

  function clearProposal() {
    if (proposalBox) { proposalBox.remove(); proposalBox = null; }
  }

  // Real buttons (keyboard and screen readers get them for free), named by the summary of
  // what "Yes" would set up; any newer message or a typed reply removes them.
  function showProposal(item, proposal) {
    clearProposal();
    if (!proposal || !proposal.id) return;
    var summaryId = "hcw-proposal-" + item.getAttribute("data-seq");
    var yes = el("button", { type: "button", className: "hcw-btn", "data-testid": "chat-confirm-yes",
                             "aria-describedby": summaryId, text: "Yes" });
    var no = el("button", { type: "button", className: "hcw-btn hcw-btn-plain", "data-testid": "chat-confirm-no",
                            "aria-describedby": summaryId, text: "No" });
    proposalBox = el("div", { className: "hcw-confirm", role: "group", "aria-label": "Answer this proposal",
                              "data-testid": "chat-confirm", "data-proposal-id": proposal.id }, [
      el("p", { className: "hcw-confirm-summary", id: summaryId, text: proposal.summary || "" }),
      el("div", { className: "hcw-row" }, [yes, no])
    ]);
    function answer(value) {
      clearProposal();
      queueFrame({ type: "confirm", proposal_id: proposal.id, answer: value });
      ui.input.focus();
    }
    yes.addEventListener("click", function () { answer("yes"); });
    no.addEventListener("click", function () { answer("no"); });
    item.appendChild(proposalBox);
  }

  function notice(text) {
    var item = el("li", { className: "hcw-notice", "data-testid": "chat-notice", text: text });
    ui.log.appendChild(item);
    scrollDown();
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function setTyping(on, who, author) {
    if (!on && who === "assistant") clearDraft(); // the turn ended without its reply (an error)
    ui.typing.hidden = !on;
    var label = who === "agent" ? (author || "Our team member") + " is typing\u2026" : "The assistant is typing\u2026";
    ui.typing.querySelector(".hcw-typing-label").textContent = on ? label : "";
    ui.typingText.textContent = "";
    if (agentTypingTimer) { window.clearTimeout(agentTypingTimer); agentTypingTimer = null; }
    if (on && who === "agent") agentTypingTimer = window.setTimeout(function () { setTyping(false); }, 5000);
  }

  function setState(state) {
    session.state = state;
    saveSession();
    var closed = state === "closed";
    var subtitle = {
      ai: "Automated assistant \u00b7 ask for a person any time",
      queued: "Waiting for a person from our team",
      human: "You're chatting with a person from our team",
      closed: "This chat has ended"
    }[state] || "";
    ui.subtitle.textContent = subtitle;
    ui.form.hidden = closed;
    ui.hint.hidden = closed;
    ui.rating.hidden = !closed;
    ui.human.hidden = state !== "ai";
    ui.end.hidden = closed;
    ui.toolbar.hidden = closed;
    if (state !== "queued") ui.queue.hidden = true;
    if (state !== "ai") setTyping(false);
  }

  function showQueue(frame) {
    if (session.state !== "queued") return;
    ui.queue.hidden = false;
    if (frame.staff_online) {
      var m = frame.estimated_wait_minutes;
      ui.queue.textContent = "You're number " + frame.position + " in line \u00b7 estimated wait about " +
        m + " minute" + (m === 1 ? "" : "s") + ".";
    } else {
      ui.queue.textContent = "Nobody from our team is online right now. Your conversation is saved " +
        "and a person will reply here.";
    }
  }

  function clearLog() {
    shownSeq = 0;
    clearDraft();
    clearProposal();
    Array.prototype.slice.call(ui.log.querySelectorAll(".hcw-msg, .hcw-notice")).forEach(function (n) {
      n.remove();
    });
  }

  // --- sending ---------------------------------------------------------------------------------
  function newId() {
    if (window.crypto && window.crypto.randomUUID) return window.crypto.randomUUID();
    return "c" + Date.now().toString(36) + Math.random().toString(36).slice(2, 10);
  }

  function submit() {
    var text = ui.input.value.trim();
    if (!text) return;
    if (text.length > maxChars) {
      notice("That message is too long (" + maxChars + " characters at most). Please send it in parts.");
      return;
    }
    ui.input.value = "";
    autosize();
    clearProposal(); // a typed reply answers it too
    queueFrame({ type: "message", text: text });
  }

  function queueFrame(frame) {
    frame.id = newId();
    session.outbox.push(frame);
    saveSession();
    if (SHOWN_FRAMES[frame.type]) addPending(frame);
    transmit(frame);
  }

  function transmit(frame) {
    if (ws && ws.readyState === WebSocket.OPEN && ws.harborReady) ws.send(JSON.stringify(frame));
    else connect();
  }

  function settle(id) {
    session.outbox = session.outbox.filter(function (f) { return f.id !== id; });
    saveSession();
  }

  function frameById(id) {
    for (var i = 0; i < session.outbox.length; i++) if (session.outbox[i].id === id) return session.outbox[i];
    return null;
  }

  // --- the socket --------------------------------------------------------------------------------
  function connect() {
    if (stopped || (ws && (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING))) return;
    if (reconnectTimer) { window.clearTimeout(reconnectTimer); reconnectTimer = null; }
    var socket = new WebSocket(WS_URL);
    ws = socket;
    socket.onopen = function () {
      socket.send(JSON.stringify({ type: "hello", v: 1, token: token, resume: session.resume,
                                   last_seq: shownSeq }));
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      handle(socket, frame);
    };
    socket.onclose = function (event) {
      if (ws !== socket) return;
      ws = null;
      stopPing();
      setTyping(false);
      if (stopped || NO_RECONNECT[event.code]) return;
      showBanner("Connection lost \u2014 reconnecting\u2026");
      var delay = reconnectDelay + Math.random() * 250;
      reconnectDelay = Math.min(reconnectDelay * 2, 10000);
      reconnectTimer = window.setTimeout(connect, delay);
    };
  }

  function showBanner(text) {
    ui.banner.hidden = !text;
    ui.banner.textContent = text || "";
  }

  function startPing(socket) {
    stopPing();
    pingTimer = window.setInterval(function () {
      if (socket.readyState !== WebSocket.OPEN) return;
      socket.send(JSON.stringify({ type: "ping" }));
      pongTimer = window.setTimeout(function () { socket.close(4000, "no pong"); }, PONG_TIMEOUT_MS);
    }, PING_EVERY_MS);
  }

  function stopPing() {
    if (pingTimer) window.clearInterval(pingTimer);
    if (pongTimer) window.clearTimeout(pongTimer);
    pingTimer = pongTimer = null;
  }

  function handle(socket, frame) {
    switch (frame.type) {
      case "welcome": return onWelcome(socket, frame);
      case "message": return addMessage(frame.message);
      case "ack": return onAck(frame);
      case "state": return setState(frame.state);
      case "queue": return showQueue(frame);
      case "typing": return setTyping(frame.on, frame.who, frame.author);
      case "draft": return showDraft(frame);
      case "error": return onError(frame);
      case "pong":
        if (pongTimer) { window.clearTimeout(pongTimer); pongTimer = null; }
        return;
      default: return;
    }
  }

  function onWelcome(socket, frame) {
    reconnectDelay = 500;
    showBanner("");
    clearDraft(); // a draft of a turn cut off by the reconnect; its reply follows if stored
    if (session.conversationId && session.conversationId !== frame.conversation_id) {
      clearLog(); // a new conversation (the old one could not be resumed)
      // Unsent words still go (to the new conversation); "end" or "rate" of the old do not.
      session.outbox = session.outbox.filter(function (f) { return f.type === "message"; });
    }
    session.conversationId = frame.conversation_id;
    session.resume = frame.resume;
    maxChars = frame.max_message_chars || maxChars;
    linkDomains = (frame.link_domains || []).map(function (d) { return String(d).toLowerCase(); });
    ui.input.setAttribute("maxlength", String(maxChars));
    ui.panel.setAttribute("data-conversation-id", frame.conversation_id);
    saveSession();
    setState(frame.state);
    if (frame.rating) ui.rateDone.textContent = "Thanks for your feedback.";
    socket.harborReady = true;
    startPing(socket);
    // Everything not acknowledged goes again, with the same ids (the server dedups).
    session.outbox.forEach(function (f) {
      if (SHOWN_FRAMES[f.type]) addPending(f);
      socket.send(JSON.stringify(f));
    });
  }

  function onAck(frame) {
    var sent = frameById(frame.id);
    settle(frame.id);
    if (!sent) return;
    if (SHOWN_FRAMES[sent.type]) {
      var item = findPending(frame.id);
      if (item && frame.seq && !findSeq(frame.seq)) item.setAttribute("data-seq", String(frame.seq));
      if (item) {
        item.classList.remove("hcw-pending");
        var meta = item.querySelector(".hcw-meta");
        if (meta) meta.textContent = "Sent";
      }
    } else if (sent.type === "rate") {
      ui.rateDone.textContent = "Thanks for your feedback.";
      ui.rateSend.disabled = true;
    }
  }

  var resent = {};  // frame id -> times resent after try_again / internal_error

  function onError(frame) {
    var sent = frame.id ? frameById(frame.id) : null;
    if (sent && frame.code === "rate_limited") {
      var retry = Math.max(Number(frame.retry_after) || 1, 0.5) * 1000;
      window.setTimeout(function () { if (frameById(sent.id)) transmit(sent); }, retry);
      return;
    }
    // Nothing of the message was stored: send the same frame (same id) again, a few
    // times with a growing pause, before telling the customer it was not sent.
    if (sent && (frame.code === "try_again" || frame.code === "internal_error") &&
        (resent[sent.id] = (resent[sent.id] || 0) + 1) <= 3) {
      window.setTimeout(function () { if (frameById(sent.id)) transmit(sent); },
                        1000 * Math.pow(2, resent[sent.id] - 1));
      return;
    }
    if (sent) {
      settle(sent.id);
      var item = findPending(sent.id);
      if (item) {
        item.classList.remove("hcw-pending");
        item.classList.add("hcw-failed");
        var meta = item.querySelector(".hcw-meta");
        if (meta) meta.textContent = "Not sent: " + frame.message;
      } else {
        notice(frame.message);
      }
      return;
    }
    if (frame.code === "token_expired" || frame.code === "bad_token" || frame.code === "unknown_customer") {
      stopped = true;
      notice("Your sign-in could not be confirmed (" + frame.message + "). Please refresh the page.");
      return;
    }
    if (frame.code === "resume_rejected") return; // a fresh conversation follows
    notice(frame.message);
  }

  // --- public API ----------------------------------------------------------------------------------
  function reset() {
    if (ws) { var old = ws; ws = null; old.close(1000, "reset"); }
    stopped = false;
    session = { conversationId: null, resume: null, outbox: [], open: session.open, state: "ai" };
    saveSession();
    clearLog();
    ui.rateDone.textContent = "";
    ui.rateSend.disabled = false;
    ui.comment.value = "";
    Array.prototype.forEach.call(ui.rating.querySelectorAll("input[type=radio]"), function (r) { r.checked = false; });
    setState("ai");
    if (session.open) connect();
  }

  function init() {
    build();
    setState(session.state || "ai");
    if (session.open || (script && script.getAttribute("data-open") === "true")) toggle(true);
  }

  window.HarborChat = {
    open: function () { toggle(true); },
    close: function () { toggle(false); },
    reset: reset,
    setCustomerToken: function (newToken) { token = newToken || null; reset(); }
  };

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
