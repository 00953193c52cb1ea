/* The demo lender site's controls: open the chat, sign in as a demo customer. */
(function () {
  "use strict";
  var TOKEN_KEY = "harbor-demo-customer";

  function $(id) { return document.getElementById(id); }

  function status(text) { $("demo-status").textContent = text; }

  // Without demo mode the server has no /api/demo (404): the panel stays hidden.
  function loadCustomers() {
    return fetch("/api/demo/customers").then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { forgetDemoSignIn(); return; }
        $("demo-panel").hidden = false;
        var select = $("demo-customer");
        data.customers.forEach(function (c) {
          var option = document.createElement("option");
          option.value = c.id;
          option.textContent = c.name + " (" + c.id + ")";
          select.appendChild(option);
        });
      }, function () { /* offline: the chat still works, without the demo panel */ });
  }

  function forgetDemoSignIn() {
    if (!signedIn) return;
    sessionStorage.removeItem(TOKEN_KEY);
    signedIn = null;
    window.HarborChat.setCustomerToken(null);
  }

  function signIn() {
    var id = $("demo-customer").value;
    if (!id) return;
    fetch("/api/demo/customer-token", {
      method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ customer_id: id })
    }).then(function (r) { return r.json().then(function (body) { return { ok: r.ok, body: body }; }); })
      .then(function (res) {
        if (!res.ok) { status(res.body.error ? res.body.error.message : "Sign-in failed."); return; }
        sessionStorage.setItem(TOKEN_KEY, JSON.stringify(res.body));
        status("Signed in as " + res.body.name + ". The chat now starts verified.");
        window.HarborChat.setCustomerToken(res.body.token);
        window.HarborChat.open();
      });
  }

  function signOut() {
    sessionStorage.removeItem(TOKEN_KEY);
    status("Browsing anonymously.");
    window.HarborChat.setCustomerToken(null);
  }

  // Runs before the widget (both scripts are deferred, in order): a demo sign-in survives
  // a reload, as a real site would render the token into the page again.
  var signedIn = null;
  try { signedIn = JSON.parse(sessionStorage.getItem(TOKEN_KEY) || "null"); } catch (e) { signedIn = null; }
  if (signedIn && signedIn.token) window.HarborChatConfig = { customerToken: signedIn.token };

  function restore() {
    if (signedIn) status("Signed in as " + signedIn.name + ". The chat starts verified.");
  }

  document.addEventListener("DOMContentLoaded", function () {
    loadCustomers();
    $("demo-signin").addEventListener("click", signIn);
    $("demo-signout").addEventListener("click", signOut);
    $("open-chat").addEventListener("click", function () { window.HarborChat.open(); });
    restore();
  });
})();
