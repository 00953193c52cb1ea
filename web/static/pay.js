/* The demo payment page: show the one-time link, record its payment once. */
(function () {
  "use strict";
  var token = decodeURIComponent(window.location.pathname.split("/").pop() || "");
  var api = "/api/pay/" + encodeURIComponent(token);

  function $(id) { return document.getElementById(id); }

  function result(text, good) {
    $("result").textContent = text;
    $("result").className = "result " + (good ? "good" : "bad");
  }

  function show(link) {
    $("details").hidden = false;
    $("loan").textContent = link.loan_id;
    $("amount").textContent = link.amount;
    $("expires").textContent = new Date(link.expires_at).toLocaleString();
    $("note").textContent = link.message;
    $("pay").hidden = link.status !== "open";
    if (link.status !== "open") result(link.message, false);
  }

  fetch(api).then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
    .then(function (res) {
      if (!res.ok) { result(res.body.error.message, false); return; }
      show(res.body);
    })
    .catch(function () { result("The payment page could not be loaded.", false); });

  $("pay").addEventListener("click", function () {
    var button = $("pay");
    button.disabled = true;
    fetch(api, { method: "POST", headers: { "Content-Type": "application/json" }, body: "{}" })
      .then(function (r) { return r.json().then(function (b) { return { ok: r.ok, body: b }; }); })
      .then(function (res) {
        if (!res.ok) { result(res.body.error.message, false); button.hidden = true; return; }
        button.hidden = true;
        result("Payment of " + res.body.amount + " on loan " + res.body.loan_id +
               " recorded (demo). Thank you!", true);
      })
      .catch(function () { button.disabled = false; result("Something went wrong; try again.", false); });
  });
})();
