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
