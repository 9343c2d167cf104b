// The desk's only script (no inline script: the Content-Security-Policy forbids it).
"use strict";
document.addEventListener("click", (event) => {
  const all = event.target.closest("[data-select-all]");
  if (all) {
    const name = all.getAttribute("data-select-all");
    document.querySelectorAll(`input[type=checkbox][name="${name}"]`).forEach((box) => { box.checked = all.checked; });
  }
  const confirmer = event.target.closest("[data-confirm]");
  if (confirmer && !window.confirm(confirmer.getAttribute("data-confirm"))) {
    event.preventDefault();
  }
});
// Telegram's Login Widget, when the sign-in page offers it (web.public_url set).
const widget = document.getElementById("telegram-login");
if (widget) {
  const script = document.createElement("script");
  script.src = "https://telegram.org/js/telegram-widget.js?22";
  script.async = true;
  script.setAttribute("data-telegram-login", widget.dataset.telegramLogin);
  script.setAttribute("data-auth-url", widget.dataset.authUrl);
  script.setAttribute("data-size", "large");
  widget.appendChild(script);
}
// The live audience count under the broadcast form: what the server counts for the current choices.
const compose = document.getElementById("compose");
const countBox = document.getElementById("audience-count");
if (compose && countBox) {
  let pending = null;
  const refresh = () => {
    const params = new URLSearchParams();
    for (const [key, value] of new FormData(compose)) {
      if (!["csrf", "text_id", "text_en", "at", "when", "photo"].includes(key)) params.append(key, value);
    }
    fetch(`${countBox.dataset.countUrl}?${params}`, { credentials: "same-origin" })
      .then((answer) => (answer.ok ? answer.json() : null))
      .then((data) => { if (data) countBox.textContent = data.text; })
      .catch(() => {});
  };
  compose.addEventListener("change", () => { clearTimeout(pending); pending = setTimeout(refresh, 150); });
  refresh();
}
