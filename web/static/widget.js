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
 *
 * Its own labels come in English, Simplified Chinese and Spanish (STRINGS): it starts in
 * the page's language (data-language="es" on the script tag, HarborChatConfig.language, or
 * <html lang>) and follows the conversation's language the server names.
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

  // --- the widget's own words, in each language it speaks ------------------------------------
  // Chinese addresses the customer as 您 (nin), Spanish as usted. The texts are \u-escaped, like
  // every string in this file: a host that serves or embeds the script in another charset
  // breaks nothing. An entry with "one" / "other" depends on values.count. Server texts
  // (messages, most errors) are not in here; serverText() has ours for a few error codes.
  var STRINGS = {
    en: {
      launcher: "Chat with us",
      status_ai: "Automated assistant \u00b7 ask for a person any time",
      status_queued: "Waiting for a person from our team",
      status_human: "You're chatting with a person from our team",
      status_closed: "This chat has ended",
      human: "Talk to a person",
      end: "End chat",
      end_confirm: "End this chat?",
      minimize: "Minimize chat",
      toolbar: "Chat actions",
      log: "Conversation",
      intro: "Hi! I'm Harbor's automated assistant. I can help with payments, due dates and your balance. " +
        "You can ask for a person at any time.",
      placeholder: "Type your message\u2026",
      input_label: "Your message",
      composer: "Send a message",
      send: "Send",
      hint: "Enter to send, Shift+Enter for a new line. Never share card or bank numbers here.",
      rating_form: "Rate this conversation",
      rating_legend: "How did we do? (optional)",
      rating_poor: "{n} (poor)",
      rating_excellent: "{n} (excellent)",
      rating_comment: "Comment (optional)",
      rating_send: "Send feedback",
      rating_choose: "Choose 1 to 5 first.",
      rating_thanks: "Thanks for your feedback.",
      restart: "Start a new chat",
      author_customer: "You",
      author_assistant: "Harbor assistant (automated)",
      author_agent: "{name} \u00b7 Harbor team (a person)",
      author_team: "Harbor team",
      sending: "Sending\u2026",
      writing: "Writing\u2026",
      sent: "Sent",
      not_sent: "Not sent: {message}",
      yes: "Yes",
      no: "No",
      proposal: "Answer this proposal",
      typing_assistant: "The assistant is typing\u2026",
      typing_agent: "{name} is typing\u2026",
      typing_someone: "Our team member",
      queue_position: {
        one: "You're number {position} in line \u00b7 estimated wait about {count} minute.",
        other: "You're number {position} in line \u00b7 estimated wait about {count} minutes."
      },
      queue_nobody: "Nobody from our team is online right now. Your conversation is saved " +
        "and a person will reply here.",
      too_long: "That message is too long ({max} characters at most). Please send it in parts.",
      reconnecting: "Connection lost \u2014 reconnecting\u2026",
      signin_failed: "Your sign-in could not be confirmed ({message}). Please refresh the page."
    },
    zh: {
      launcher: "\u5728\u7ebf\u54a8\u8be2",
      status_ai: "\u81ea\u52a8\u52a9\u624b \u00b7 \u60a8\u53ef\u4ee5\u968f\u65f6\u8981\u6c42\u8f6c\u4eba\u5de5",
      status_queued: "\u6b63\u5728\u7b49\u5f85\u6211\u4eec\u7684\u5de5\u4f5c\u4eba\u5458",
      status_human: "\u60a8\u6b63\u5728\u4e0e\u6211\u4eec\u7684\u5de5\u4f5c\u4eba\u5458\u4ea4\u8c08",
      status_closed: "\u672c\u6b21\u5bf9\u8bdd\u5df2\u7ed3\u675f",
      human: "\u8f6c\u4eba\u5de5",
      end: "\u7ed3\u675f\u5bf9\u8bdd",
      end_confirm: "\u786e\u5b9a\u8981\u7ed3\u675f\u672c\u6b21\u5bf9\u8bdd\u5417\uff1f",
      minimize: "\u6700\u5c0f\u5316\u5bf9\u8bdd\u7a97\u53e3",
      toolbar: "\u5bf9\u8bdd\u64cd\u4f5c",
      log: "\u5bf9\u8bdd\u8bb0\u5f55",
      intro: "\u60a8\u597d\uff01\u6211\u662f Harbor \u7684\u81ea\u52a8\u52a9\u624b\uff0c\u53ef\u4ee5\u5e2e\u60a8\u5904\u7406\u8fd8\u6b3e\u3001\u5230\u671f\u65e5\u548c\u4f59\u989d\u7b49\u95ee\u9898\u3002\u60a8\u968f\u65f6\u53ef\u4ee5\u8981\u6c42\u8f6c\u4eba\u5de5\u3002",
      placeholder: "\u8bf7\u8f93\u5165\u60a8\u7684\u6d88\u606f\u2026",
      input_label: "\u60a8\u7684\u6d88\u606f",
      composer: "\u53d1\u9001\u6d88\u606f",
      send: "\u53d1\u9001",
      hint: "\u6309 Enter \u53d1\u9001\uff0c\u6309 Shift+Enter \u6362\u884c\u3002\u8bf7\u52ff\u5728\u6b64\u8f93\u5165\u94f6\u884c\u5361\u53f7\u6216\u94f6\u884c\u8d26\u53f7\u3002",
      rating_form: "\u4e3a\u672c\u6b21\u5bf9\u8bdd\u8bc4\u5206",
      rating_legend: "\u60a8\u5bf9\u672c\u6b21\u670d\u52a1\u6ee1\u610f\u5417\uff1f\uff08\u9009\u586b\uff09",
      rating_poor: "{n}\uff08\u5f88\u5dee\uff09",
      rating_excellent: "{n}\uff08\u975e\u5e38\u597d\uff09",
      rating_comment: "\u610f\u89c1\u6216\u5efa\u8bae\uff08\u9009\u586b\uff09",
      rating_send: "\u63d0\u4ea4\u8bc4\u4ef7",
      rating_choose: "\u8bf7\u5148\u9009\u62e9 1 \u5230 5 \u5206\u3002",
      rating_thanks: "\u611f\u8c22\u60a8\u7684\u53cd\u9988\u3002",
      restart: "\u5f00\u59cb\u65b0\u7684\u5bf9\u8bdd",
      author_customer: "\u60a8",
      author_assistant: "Harbor \u52a9\u624b\uff08\u81ea\u52a8\u56de\u590d\uff09",
      author_agent: "{name} \u00b7 Harbor \u56e2\u961f\uff08\u771f\u4eba\u5ba2\u670d\uff09",
      author_team: "Harbor \u56e2\u961f",
      sending: "\u6b63\u5728\u53d1\u9001\u2026",
      writing: "\u6b63\u5728\u8f93\u5165\u2026",
      sent: "\u5df2\u53d1\u9001",
      not_sent: "\u672a\u53d1\u9001\uff1a{message}",
      yes: "\u662f",
      no: "\u5426",
      proposal: "\u7b54\u590d\u6b64\u65b9\u6848",
      typing_assistant: "\u52a9\u624b\u6b63\u5728\u8f93\u5165\u2026",
      typing_agent: "{name} \u6b63\u5728\u8f93\u5165\u2026",
      typing_someone: "\u6211\u4eec\u7684\u5de5\u4f5c\u4eba\u5458",
      queue_position: "\u60a8\u76ee\u524d\u6392\u5728\u7b2c {position} \u4f4d \u00b7 \u9884\u8ba1\u7b49\u5f85\u7ea6 {count} \u5206\u949f\u3002",
      queue_nobody: "\u6211\u4eec\u7684\u5de5\u4f5c\u4eba\u5458\u76ee\u524d\u90fd\u4e0d\u5728\u7ebf\u3002\u60a8\u7684\u5bf9\u8bdd\u5df2\u4fdd\u5b58\uff0c\u5de5\u4f5c\u4eba\u5458\u4f1a\u5728\u8fd9\u91cc\u56de\u590d\u60a8\u3002",
      too_long: "\u6d88\u606f\u592a\u957f\u4e86\uff08\u6700\u591a {max} \u4e2a\u5b57\u7b26\uff09\uff0c\u8bf7\u5206\u51e0\u6b21\u53d1\u9001\u3002",
      reconnecting: "\u8fde\u63a5\u5df2\u65ad\u5f00\uff0c\u6b63\u5728\u91cd\u65b0\u8fde\u63a5\u2026",
      signin_failed: "\u65e0\u6cd5\u786e\u8ba4\u60a8\u7684\u767b\u5f55\u72b6\u6001\uff08{message}\uff09\uff0c\u8bf7\u5237\u65b0\u9875\u9762\u3002",
      error_rate_limited: "\u60a8\u53d1\u9001\u6d88\u606f\u7684\u901f\u5ea6\u592a\u5feb\u4e86\uff0c\u8bf7\u7a0d\u7b49\u7247\u523b\u3002",
      error_conversation_closed: "\u672c\u6b21\u5bf9\u8bdd\u5df2\u7ed3\u675f\u3002",
      error_message_too_long: "\u6d88\u606f\u592a\u957f\u4e86\uff0c\u8bf7\u5206\u51e0\u6b21\u53d1\u9001\u3002",
      error_empty_message: "\u6d88\u606f\u662f\u7a7a\u7684\u3002",
      error_stale_proposal: "\u8fd9\u4e2a\u65b9\u6848\u5df2\u4e0d\u518d\u6709\u6548\uff0c\u8bf7\u56de\u590d\u6700\u65b0\u7684\u6d88\u606f\u3002",
      error_try_again: "\u6d88\u606f\u6682\u65f6\u65e0\u6cd5\u4fdd\u5b58\uff0c\u8bf7\u518d\u8bd5\u4e00\u6b21\u3002",
      error_internal_error: "\u51fa\u4e86\u70b9\u95ee\u9898\uff0c\u8bf7\u518d\u8bd5\u4e00\u6b21\u3002",
      error_not_closed: "\u5bf9\u8bdd\u7ed3\u675f\u540e\u624d\u80fd\u8bc4\u5206\u3002",
      error_unavailable: "\u804a\u5929\u670d\u52a1\u6682\u65f6\u65e0\u6cd5\u4f7f\u7528\uff0c\u8bf7\u7a0d\u540e\u518d\u8bd5\u3002"
    },
    es: {
      launcher: "Chatee con nosotros",
      status_ai: "Asistente autom\u00e1tico \u00b7 puede pedir hablar con una persona cuando quiera",
      status_queued: "Esperando a una persona de nuestro equipo",
      status_human: "Est\u00e1 conversando con una persona de nuestro equipo",
      status_closed: "Este chat ha terminado",
      human: "Hablar con una persona",
      end: "Terminar el chat",
      end_confirm: "\u00bfDesea terminar este chat?",
      minimize: "Minimizar el chat",
      toolbar: "Acciones del chat",
      log: "Conversaci\u00f3n",
      intro: "\u00a1Hola! Soy el asistente autom\u00e1tico de Harbor. Puedo ayudarle con sus pagos, fechas de " +
        "vencimiento y su saldo. Puede pedir hablar con una persona en cualquier momento.",
      placeholder: "Escriba su mensaje\u2026",
      input_label: "Su mensaje",
      composer: "Enviar un mensaje",
      send: "Enviar",
      hint: "Pulse Intro para enviar y May\u00fas+Intro para una nueva l\u00ednea. Nunca comparta aqu\u00ed n\u00fameros " +
        "de tarjeta ni de cuenta bancaria.",
      rating_form: "Califique esta conversaci\u00f3n",
      rating_legend: "\u00bfC\u00f3mo lo hicimos? (opcional)",
      rating_poor: "{n} (malo)",
      rating_excellent: "{n} (excelente)",
      rating_comment: "Comentario (opcional)",
      rating_send: "Enviar opini\u00f3n",
      rating_choose: "Primero elija una calificaci\u00f3n del 1 al 5.",
      rating_thanks: "Gracias por su opini\u00f3n.",
      restart: "Iniciar un nuevo chat",
      author_customer: "Usted",
      author_assistant: "Asistente de Harbor (autom\u00e1tico)",
      author_agent: "{name} \u00b7 Equipo de Harbor (una persona)",
      author_team: "Equipo de Harbor",
      sending: "Enviando\u2026",
      writing: "Escribiendo\u2026",
      sent: "Enviado",
      not_sent: "No enviado: {message}",
      yes: "S\u00ed",
      no: "No",
      proposal: "Responda a esta propuesta",
      typing_assistant: "El asistente est\u00e1 escribiendo\u2026",
      typing_agent: "{name} est\u00e1 escribiendo\u2026",
      typing_someone: "Una persona de nuestro equipo",
      queue_position: {
        one: "Usted es el n\u00famero {position} en la fila \u00b7 espera estimada: unos {count} minuto.",
        other: "Usted es el n\u00famero {position} en la fila \u00b7 espera estimada: unos {count} minutos."
      },
      queue_nobody: "En este momento no hay nadie de nuestro equipo en l\u00ednea. Su conversaci\u00f3n queda " +
        "guardada y una persona le responder\u00e1 aqu\u00ed.",
      too_long: "Ese mensaje es demasiado largo (m\u00e1ximo {max} caracteres). Env\u00edelo en varias partes.",
      reconnecting: "Se perdi\u00f3 la conexi\u00f3n; reconectando\u2026",
      signin_failed: "No pudimos confirmar su inicio de sesi\u00f3n ({message}). Actualice la p\u00e1gina.",
      error_rate_limited: "Est\u00e1 enviando mensajes demasiado r\u00e1pido; espere un momento.",
      error_conversation_closed: "Esta conversaci\u00f3n ha terminado.",
      error_message_too_long: "El mensaje es demasiado largo; env\u00edelo en varias partes.",
      error_empty_message: "El mensaje est\u00e1 vac\u00edo.",
      error_stale_proposal: "Esta propuesta ya no est\u00e1 vigente; responda al mensaje m\u00e1s reciente.",
      error_try_again: "No pudimos guardar su mensaje en este momento; int\u00e9ntelo de nuevo.",
      error_internal_error: "Algo sali\u00f3 mal; int\u00e9ntelo de nuevo.",
      error_not_closed: "Podr\u00e1 calificar la conversaci\u00f3n cuando termine.",
      error_unavailable: "El chat no est\u00e1 disponible en este momento; int\u00e9ntelo de nuevo en unos minutos."
    }
  };

  // "es-MX" -> "es", "zh-Hans-CN" -> "zh"; null when it is none of ours.
  function ourLanguage(tag) {
    var code = String(tag || "").trim().toLowerCase().split(/[-_]/)[0];
    return Object.prototype.hasOwnProperty.call(STRINGS, code) ? code : null;
  }

  var lang = ourLanguage(script && script.getAttribute("data-language")) ||
    ourLanguage(window.HarborChatConfig && window.HarborChatConfig.language) ||
    ourLanguage(document.documentElement.lang) || "en";

  // The widget's text for ``key`` in its current language, with {name} filled from values.
  function t(key, values) {
    var text = STRINGS[lang][key];
    if (text === undefined) text = STRINGS.en[key];
    if (text === undefined) return "";
    if (typeof text === "object") text = values && values.count === 1 ? text.one : text.other;
    return text.replace(/\{(\w+)\}/g, function (match, name) {
      return values && values[name] !== undefined && values[name] !== null ? String(values[name]) : match;
    });
  }

  // Text the server wrote ("message" of an error frame), in our words where we have them.
  function serverText(frame) {
    var key = "error_" + frame.code;
    return lang !== "en" && STRINGS[lang][key] ? t(key) : String(frame.message || "");
  }

  // Give a node's text (attr "text") or an attribute the widget's words: a key (with
  // values) or a function that writes the text. It is written again on a language switch.
  function localize(node, attr, key, values) {
    var make = typeof key === "function" ? key : function () { return t(key, values); };
    node.hcwWords = node.hcwWords || {};
    node.hcwWords[attr] = make;
    node.setAttribute("data-hcw-i18n", "");
    write(node, attr, make());
    return node;
  }

  function write(node, attr, value) {
    if (attr === "text") node.textContent = value;
    else node.setAttribute(attr, value);
  }

  // Re-label everything in place: typed text, the transcript and focus stay as they are.
  function setLanguage(code) {
    code = ourLanguage(code);
    if (!code || code === lang) return;
    lang = code;
    session.language = code;
    saveSession();
    if (!ui.root) return;
    ui.root.setAttribute("lang", lang);
    Array.prototype.forEach.call(ui.root.querySelectorAll("[data-hcw-i18n]"), function (node) {
      Object.keys(node.hcwWords || {}).forEach(function (attr) { write(node, attr, node.hcwWords[attr]()); });
    });
  }

  // --- persisted session (this tab only) ----------------------------------------------------
  var session = loadSession();
  if (ourLanguage(session.language)) lang = ourLanguage(session.language); // this tab's conversation

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
  // attrs: "text" a literal text; "words" the key of the widget's text (STRINGS);
  // "words:<attribute>" the key of an attribute's text (an aria-label, a placeholder).
  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (key === "text") node.textContent = attrs[key];
      else if (key === "words") localize(node, "text", attrs[key]);
      else if (key.indexOf("words:") === 0) localize(node, key.slice(6), attrs[key]);
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
        el("span", { words: "launcher" })]);

    ui.title = el("h2", { className: "hcw-title", id: "hcw-title", text: "Harbor Consumer Finance" });
    ui.subtitle = el("p", { className: "hcw-subtitle", id: "hcw-subtitle", "data-testid": "chat-status",
                            words: "status_ai" });
    ui.human = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-human",
                              words: "human" });
    ui.end = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-end",
                            words: "end" });
    ui.minimize = el("button", { type: "button", className: "hcw-icon-btn", "words:aria-label": "minimize",
                                 "data-testid": "chat-minimize", text: "\u2715" });
    var header = el("div", { className: "hcw-header" }, [
      el("div", { className: "hcw-heading" }, [ui.title, ui.subtitle]), ui.minimize
    ]);
    ui.toolbar = el("div", { className: "hcw-toolbar", role: "toolbar", "words:aria-label": "toolbar" },
                     [ui.human, ui.end]);

    ui.banner = el("div", { className: "hcw-banner", role: "status", "data-testid": "chat-connection" });
    ui.banner.hidden = true;
    ui.queue = el("div", { className: "hcw-queue", role: "status", "data-testid": "chat-queue" });
    ui.queue.hidden = true;

    ui.log = el("ol", { className: "hcw-log", "aria-live": "polite", "aria-relevant": "additions",
                        "words:aria-label": "log", tabindex: "0", "data-testid": "chat-log" });
    ui.intro = el("li", { className: "hcw-intro", words: "intro" });
    ui.log.appendChild(ui.intro);

    ui.typingText = el("span", { className: "hcw-sr-only", text: "" });
    ui.typing = el("div", { className: "hcw-typing", "aria-live": "polite", "data-testid": "chat-typing" }, [
      el("span", { className: "hcw-dots", "aria-hidden": "true" }, [el("span"), el("span"), el("span")]),
      el("span", { className: "hcw-typing-label" }), ui.typingText
    ]);
    ui.typing.hidden = true;

    ui.input = el("textarea", { id: "hcw-input", className: "hcw-input", rows: "1", maxlength: "2000",
                                "words:placeholder": "placeholder", "data-testid": "chat-input",
                                "aria-describedby": "hcw-hint", autocomplete: "off" });
    ui.send = el("button", { type: "submit", className: "hcw-btn hcw-send", "data-testid": "chat-send",
                             words: "send" });
    ui.form = el("form", { className: "hcw-composer", "words:aria-label": "composer" }, [
      el("label", { className: "hcw-sr-only", "for": "hcw-input", words: "input_label" }),
      ui.input, ui.send
    ]);
    ui.hint = el("p", { className: "hcw-hint", id: "hcw-hint", words: "hint" });

    ui.rating = buildRating();
    ui.rating.hidden = true;

    ui.panel = el("section", { id: "hcw-panel", className: "hcw-panel", role: "dialog", "aria-modal": "false",
                               "aria-labelledby": "hcw-title", "aria-describedby": "hcw-subtitle",
                               "data-testid": "chat-panel" },
                  [header, ui.toolbar, ui.banner, ui.queue, ui.log, ui.typing, ui.rating, ui.form, ui.hint]);
    ui.panel.hidden = true;

    // lang: screen readers pronounce the labels (and the replies, in the same language) right.
    ui.root = el("div", { className: "hcw-root", lang: lang }, [ui.panel, ui.launcher]);
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
      if (window.confirm(t("end_confirm"))) queueFrame({ type: "end" });
    });
  }

  function buildRating() {
    var legend = el("legend", { words: "rating_legend" });
    var stars = el("div", { className: "hcw-stars" });
    for (var i = 1; i <= 5; i++) {
      var id = "hcw-rate-" + i;
      stars.appendChild(el("input", { type: "radio", name: "hcw-rating", id: id, value: String(i),
                                      "data-testid": "chat-rating-" + i }));
      var label = el("label", { "for": id, text: String(i) });
      if (i === 1 || i === 5) localize(label, "title", i === 1 ? "rating_poor" : "rating_excellent", { n: i });
      else label.setAttribute("title", String(i));
      stars.appendChild(label);
    }
    ui.comment = el("textarea", { id: "hcw-comment", className: "hcw-input", rows: "2", maxlength: "1000",
                                  "data-testid": "chat-rating-comment" });
    ui.rateSend = el("button", { type: "submit", className: "hcw-btn", "data-testid": "chat-rating-submit",
                                 words: "rating_send" });
    ui.restart = el("button", { type: "button", className: "hcw-btn hcw-btn-ghost", "data-testid": "chat-restart",
                                words: "restart" });
    ui.rateDone = el("p", { className: "hcw-rate-done", role: "status" });
    var form = el("form", { className: "hcw-rating", "words:aria-label": "rating_form" }, [
      el("fieldset", {}, [legend, stars]),
      el("label", { "for": "hcw-comment", words: "rating_comment" }), ui.comment,
      el("div", { className: "hcw-row" }, [ui.rateSend, ui.restart]), ui.rateDone
    ]);
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var chosen = form.querySelector("input[name=hcw-rating]:checked");
      if (!chosen) { localize(ui.rateDone, "text", "rating_choose"); return; }
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
    if (message.role === "customer") return t("author_customer");
    if (message.role === "assistant") return t("author_assistant");
    if (message.role === "agent") return t("author_agent", { name: message.author || t("author_team") });
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

  // status: the key of a note instead of the time ("sending", "writing").
  function fill(item, message, status) {
    item.textContent = "";
    if (authorLabel(message)) {
      item.appendChild(localize(el("span", { className: "hcw-author" }), "text",
                                function () { return authorLabel(message); }));
    }
    var body = el("div", { className: "hcw-text" });
    renderText(body, message.content);
    item.appendChild(body);
    if (status) item.appendChild(el("span", { className: "hcw-meta", words: status }));
    else if (message.created_at) item.appendChild(el("span", { className: "hcw-meta", text: timeLabel(message.created_at) }));
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
    fill(item, { role: "customer", content: sentText(frame) }, "sending");
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
    fill(draftItem, { role: "assistant", content: frame.text }, "writing");
    scrollDown();
  }

  function clearDraft() {
    if (draftItem) { draftItem.remove(); draftItem = null; }
  }

  // --- Yes / No under a reply that proposes a change (PROTOCOL.md, "confirm") -----------------
  // Frames the transcript shows as the customer's words, with what they show.
  var SHOWN_FRAMES = { message: true, confirm: true };

  // A button's answer shows as the server stores it (PROTOCOL.md: "Yes" / "No").
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
                             "aria-describedby": summaryId, words: "yes" });
    var no = el("button", { type: "button", className: "hcw-btn hcw-btn-plain", "data-testid": "chat-confirm-no",
                            "aria-describedby": summaryId, words: "no" });
    proposalBox = el("div", { className: "hcw-confirm", role: "group", "words:aria-label": "proposal",
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

  // text: a literal text, or a function that writes it in the widget's language.
  function notice(text) {
    var item = el("li", { className: "hcw-notice", "data-testid": "chat-notice" });
    if (typeof text === "function") localize(item, "text", text);
    else item.textContent = text;
    ui.log.appendChild(item);
    scrollDown();
  }

  function scrollDown() { ui.log.scrollTop = ui.log.scrollHeight; }

  function setTyping(on, who, author) {
    if (!on && who === "assistant") clearDraft(); // the turn ended without its reply (an error)
    ui.typing.hidden = !on;
    localize(ui.typing.querySelector(".hcw-typing-label"), "text", function () {
      if (!on) return "";
      return who === "agent" ? t("typing_agent", { name: author || t("typing_someone") }) : t("typing_assistant");
    });
    ui.typingText.textContent = "";
    if (agentTypingTimer) { window.clearTimeout(agentTypingTimer); agentTypingTimer = null; }
    if (on && who === "agent") agentTypingTimer = window.setTimeout(function () { setTyping(false); }, 5000);
  }

  function setState(state) {
    session.state = state;
    saveSession();
    var closed = state === "closed";
    var known = { ai: true, queued: true, human: true, closed: true };
    localize(ui.subtitle, "text", function () { return known[state] ? t("status_" + state) : ""; });
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
      localize(ui.queue, "text", "queue_position",
               { position: frame.position, count: frame.estimated_wait_minutes });
    } else {
      localize(ui.queue, "text", "queue_nobody");
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
      var most = maxChars;
      notice(function () { return t("too_long", { max: most }); });
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
      // The page's language starts a new conversation in it (one on file comes first).
      socket.send(JSON.stringify({ type: "hello", v: 1, token: token, resume: session.resume,
                                   last_seq: shownSeq, language: lang }));
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
      showBanner("reconnecting");
      var delay = reconnectDelay + Math.random() * 250;
      reconnectDelay = Math.min(reconnectDelay * 2, 10000);
      reconnectTimer = window.setTimeout(connect, delay);
    };
  }

  function showBanner(key) {
    ui.banner.hidden = !key;
    localize(ui.banner, "text", key ? key : function () { return ""; });
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
      case "state":
        setLanguage(frame.language);
        return setState(frame.state);
      case "language": return setLanguage(frame.language);
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
    setLanguage(frame.language);
    setState(frame.state);
    if (frame.rating) localize(ui.rateDone, "text", "rating_thanks");
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
        if (meta) localize(meta, "text", "sent");
      }
    } else if (sent.type === "rate") {
      localize(ui.rateDone, "text", "rating_thanks");
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
        if (meta) localize(meta, "text", function () { return t("not_sent", { message: serverText(frame) }); });
      } else {
        notice(function () { return serverText(frame); });
      }
      return;
    }
    if (frame.code === "token_expired" || frame.code === "bad_token" || frame.code === "unknown_customer") {
      stopped = true;
      notice(function () { return t("signin_failed", { message: frame.message }); });
      return;
    }
    if (frame.code === "resume_rejected") return; // a fresh conversation follows
    notice(function () { return serverText(frame); });
  }

  // --- public API ----------------------------------------------------------------------------------
  function reset() {
    if (ws) { var old = ws; ws = null; old.close(1000, "reset"); }
    stopped = false;
    session = { conversationId: null, resume: null, outbox: [], open: session.open, state: "ai" };
    saveSession();
    clearLog();
    localize(ui.rateDone, "text", function () { return ""; });
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
