/* Shared by the agent console and the supervisor page: API calls, login, rendering. */
window.Staff = (function () {
  "use strict";

  var csrf = null;
  var me = null;

  function api(method, path, body) {
    var headers = { "Accept": "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (csrf && method !== "GET") headers["X-CSRF-Token"] = csrf;
    return fetch(path, {
      method: method, headers: headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (data) {
        if (!response.ok) {
          var error = new Error((data.error && data.error.message) || ("HTTP " + response.status));
          error.code = data.error && data.error.code;
          error.status = response.status;
          throw error;
        }
        return data;
      });
    });
  }

  function whoami() {
    return api("GET", "/api/staff/me").then(function (data) {
      csrf = data.csrf;
      me = data.staff;
      return data;
    });
  }

  function login(username, password) {
    return api("POST", "/api/staff/login", { username: username, password: password })
      .then(function (data) { csrf = data.csrf; me = data.staff; return data; });
  }

  function logout() {
    return api("POST", "/api/staff/logout", {}).finally(function () { csrf = null; me = null; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (key) {
      if (attrs[key] === null || attrs[key] === undefined) return;
      if (key === "text") node.textContent = attrs[key];
      else if (key === "className") node.className = attrs[key];
      else node.setAttribute(key, attrs[key]);
    });
    (children || []).forEach(function (child) {
      if (child === null || child === undefined) return;
      node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    });
    return node;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function roleLabel(message) {
    if (message.role === "customer") return "Customer";
    if (message.role === "assistant") return "Assistant (AI)";
    if (message.role === "agent") {
      return (message.author || "Agent") + " (person" + (message.ai_drafted ? ", AI-drafted" : "") + ")";
    }
    return "System";
  }

  function messageItem(message) {
    var time = new Date(message.created_at);
    return el("li", { className: "msg msg-" + message.role, "data-seq": String(message.seq),
                      "data-role": message.role, "data-testid": "transcript-message" }, [
      el("div", { className: "msg-head" }, [
        el("strong", { text: roleLabel(message) }),
        el("time", { datetime: message.created_at, text: time.toLocaleTimeString() })
      ]),
      el("div", { className: "msg-text", text: message.content })
    ]);
  }

  /** Append messages to an <ol>, in seq order, each seq once. */
  function addMessages(list, messages) {
    messages.forEach(function (message) {
      if (list.querySelector('[data-seq="' + message.seq + '"]')) return;
      var item = messageItem(message);
      var after = null;
      Array.prototype.forEach.call(list.querySelectorAll("[data-seq]"), function (node) {
        if (!after && Number(node.getAttribute("data-seq")) > message.seq) after = node;
      });
      list.insertBefore(item, after);
    });
    list.scrollTop = list.scrollHeight;
  }

  function lastSeq(list) {
    var max = 0;
    Array.prototype.forEach.call(list.querySelectorAll("[data-seq]"), function (node) {
      max = Math.max(max, Number(node.getAttribute("data-seq")));
    });
    return max;
  }

  function formatWait(seconds) {
    seconds = Math.max(0, Math.floor(seconds));
    var m = Math.floor(seconds / 60), s = seconds % 60;
    if (m >= 60) return Math.floor(m / 60) + " h " + (m % 60) + " min";
    return m + ":" + (s < 10 ? "0" : "") + s;
  }

  function reasonLabel(reason) { return reason ? reason.replace(/_/g, " ") : "—"; }

  var LANGUAGES = { en: "English", zh: "Chinese", es: "Spanish" };
  function languageName(code) { return LANGUAGES[code] || code || "English"; }
  /** A badge on a queue card when the customer writes in another language than English. */
  function languageBadge(code) {
    if (!code || code === "en") return null;
    return el("span", { className: "badge badge-language", "data-testid": "language-badge",
                        lang: code, text: languageName(code) });
  }

  /** Wire the login form; ``onReady`` runs once someone is logged in. */
  function setupLogin(onReady) {
    var view = document.getElementById("login-view");
    var form = document.getElementById("login-form");
    var error = document.getElementById("login-error");
    form.addEventListener("submit", function (event) {
      event.preventDefault();
      error.textContent = "";
      var user = form.querySelector("[data-testid=login-user]").value.trim();
      var password = form.querySelector("[data-testid=login-password]").value;
      login(user, password).then(function () {
        form.reset();
        view.hidden = true;
        onReady();
      }).catch(function (e) { error.textContent = e.message; });
    });
    var logoutButton = document.getElementById("logout");
    if (logoutButton) {
      logoutButton.addEventListener("click", function () {
        logout().then(function () { window.location.reload(); });
      });
    }
    whoami().then(function () { view.hidden = true; onReady(); })
      .catch(function () { view.hidden = false; form.querySelector("[data-testid=login-user]").focus(); });
  }

  return {
    api: api, whoami: whoami, login: login, logout: logout, el: el, clear: clear,
    addMessages: addMessages, lastSeq: lastSeq, formatWait: formatWait, reasonLabel: reasonLabel,
    languageName: languageName, languageBadge: languageBadge,
    setupLogin: setupLogin,
    me: function () { return me; }
  };
})();
