/* UEP sandbox web chat: plain JavaScript, no build step, no external resources.
 *
 * Actions go through the emulator's control API (/_emulator/people/<id>/<action>), sandbox-only things
 * (personas, uploads, files, clock) through /_sandbox/. A websocket (/_sandbox/ws) streams every chat's
 * events; the page draws the open chat and refreshes the chat list.
 */
"use strict";

const TZ = "Asia/Makassar";
const DEFAULT_LOCATION = { latitude: -0.502106, longitude: 117.153709 }; // Samarinda
const ALLOWED_TAGS = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre",
  "blockquote", "tg-spoiler", "span", "br"]);
const KIND_LABEL = { recipient: "Penerima", tksk: "TKSK", psm: "PSM", caseworker: "Petugas kasus", admin: "Admin",
  stranger: "Orang asing", person: "Orang" };
const STATE_LABEL = { not_joined: "belum bergabung", consent: "persetujuan", declined: "menolak", phone: "cek nomor HP",
  profile: "cek profil", aid_waiting: "menunggu bantuan", aid_receipt: "terima bantuan", active: "aktif" };

const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const state = {
  bot: { username: "", name: "UEP Kaltim" },
  userId: null,          // the persona we are
  chat: null,            // last /chats/<id> answer
  messages: new Map(),   // message_id -> rendered message data
  replyMarkup: null,     // the reply keyboard on screen (Telegram ReplyKeyboardMarkup)
  kbHidden: false,
  clock: null,           // {now_ms, next_reminder, ...}
  clockFetchedAt: 0,
  peopleKind: "recipient",
  peopleSeq: 0,
  ws: null,
  wsRetry: 0,
  typingTimer: null,
  recorder: null,
};

// ------------------------------------------------------------------ helpers
async function api(path, options = {}) {
  const opts = { ...options };
  if (opts.json !== undefined) {
    opts.method = opts.method || "POST";
    opts.headers = { "Content-Type": "application/json" };
    opts.body = JSON.stringify(opts.json);
    delete opts.json;
  }
  const res = await fetch(path, opts);
  let body = null;
  try { body = await res.json(); } catch (e) { body = null; }
  if (!res.ok || !body || body.ok === false) {
    throw new Error((body && body.error) || `HTTP ${res.status}`);
  }
  return body.result;
}

function act(action, payload) {
  return api(`/_emulator/people/${state.userId}/${action}`, { json: payload || {} });
}

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(node.dataset, v);
    else node.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) node.append(c);
  return node;
}

function initials(name) {
  const words = (name || "").split(/\s+/).filter((w) => /^\p{L}/u.test(w));
  return words.slice(0, 2).map((w) => w[0].toUpperCase()).join("") || "?";
}

const timeFmt = new Intl.DateTimeFormat("id-ID", { timeZone: TZ, hour: "2-digit", minute: "2-digit", hour12: false });
const dayFmt = new Intl.DateTimeFormat("id-ID", { timeZone: TZ, weekday: "long", day: "numeric", month: "long", year: "numeric" });
const clockFmt = new Intl.DateTimeFormat("id-ID", { timeZone: TZ, weekday: "short", day: "numeric", month: "short",
  year: "numeric", hour: "2-digit", minute: "2-digit", hour12: false });
const hm = (sec) => timeFmt.format(new Date(sec * 1000)).replace(".", ":");
const clockText = (ms) => clockFmt.format(new Date(ms)).replace(/(\d{2})\.(\d{2})$/, "$1:$2") + " WITA";

let toastTimer = null;
function toast(text, isError = false) {
  const t = $("#toast");
  t.textContent = text;
  t.classList.toggle("error", isError);
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.hidden = true; }, isError ? 5000 : 3000);
}

function showAlert(text, { title = state.bot.name, confirm = false } = {}) {
  return new Promise((resolve) => {
    const d = $("#alert-dialog");
    $("#alert-title").textContent = title;
    $("#alert-text").textContent = text;
    $("#alert-cancel").hidden = !confirm;
    d.onclose = () => resolve(d.returnValue === "ok");
    d.returnValue = "";
    d.showModal();
  });
}

async function guarded(fn) {
  try { return await fn(); } catch (e) { toast(e.message || String(e), true); return undefined; }
}

// ------------------------------------------------------------------ safe rendering of the bot's HTML
const DEEP_LINK = /(?:https?:\/\/)?t\.me\/([A-Za-z0-9_]{3,32})\?start=([A-Za-z0-9_-]{1,64})/g;
const URL_RE = /(?:https?:\/\/|t\.me\/)[^\s<>"]+/g;

function deepLinkPayload(url) {
  DEEP_LINK.lastIndex = 0;
  const m = DEEP_LINK.exec(url || "");
  if (!m || m[1].toLowerCase() !== state.bot.username.toLowerCase()) return null;
  return m[2];
}

function linkNode(url, label) {
  const payload = deepLinkPayload(url);
  if (payload !== null) {
    const a = el("a", { href: "#", class: "deeplink", title: "Buka tautan ini (mengirim /start …)", dataset: { payload } },
      label || url);
    a.addEventListener("click", (ev) => { ev.preventDefault(); openDeepLink(payload); });
    const copy = el("button", { type: "button", class: "copy-link", title: "Salin tautan untuk dibuka di tab lain",
      text: "⧉" });
    copy.addEventListener("click", (ev) => { ev.preventDefault(); copyLink(url, payload); });
    const frag = document.createDocumentFragment();
    frag.append(a, copy);
    return frag;
  }
  const safe = /^(https?:|tg:|mailto:|tel:)/i.test(url) ? url : (/^t\.me\//i.test(url) ? `https://${url}` : null);
  if (!safe) return document.createTextNode(label || url);
  return el("a", { href: safe, target: "_blank", rel: "noopener noreferrer" }, label || url);
}

function linkifyText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  URL_RE.lastIndex = 0;
  let m;
  while ((m = URL_RE.exec(text)) !== null) {
    let url = m[0].replace(/[.,;:!?)]+$/, "");
    if (m.index > last) frag.append(text.slice(last, m.index));
    frag.append(linkNode(url));
    last = m.index + url.length;
    URL_RE.lastIndex = last;
  }
  if (last < text.length) frag.append(text.slice(last));
  return frag;
}

/* Keep only Telegram's formatting tags; everything else becomes its text. */
function sanitizeInto(target, html) {
  const tpl = document.createElement("template");
  tpl.innerHTML = html;
  const walk = (src, dst) => {
    for (const node of Array.from(src.childNodes)) {
      if (node.nodeType === Node.TEXT_NODE) {
        dst.append(linkifyText(node.nodeValue));
      } else if (node.nodeType === Node.ELEMENT_NODE) {
        const tag = node.tagName.toLowerCase();
        if (!ALLOWED_TAGS.has(tag)) { walk(node, dst); continue; }
        if (tag === "a") {
          const href = node.getAttribute("href") || "";
          const label = node.textContent;
          dst.append(linkNode(href, label));
          continue;
        }
        let out;
        if (tag === "tg-spoiler" || (tag === "span" && node.classList.contains("tg-spoiler"))) {
          out = el("span", { class: "spoiler", title: "spoiler" });
          out.addEventListener("click", () => out.classList.toggle("open"));
        } else if (tag === "span") {
          walk(node, dst); continue;
        } else {
          out = document.createElement(tag);
        }
        walk(node, out);
        dst.append(out);
      }
    }
  };
  walk(tpl.content, target);
}

// ------------------------------------------------------------------ deep links between tabs
async function openDeepLink(payload) {
  await guarded(() => act("command", { command: "start", payload }));
}

async function copyLink(url, payload) {
  localStorage.setItem("uep.sandbox.link", JSON.stringify({ url, payload, at: Date.now(), from: state.userId }));
  try { await navigator.clipboard.writeText(url); } catch (e) { /* clipboard may be unavailable */ }
  toast("Tautan disalin. Buka tab orang lain: tautan bisa dibuka di sana, atau tempel di kolom pesan.");
}

function refreshLinkChip() {
  const chip = $("#link-chip");
  let link = null;
  try { link = JSON.parse(localStorage.getItem("uep.sandbox.link") || "null"); } catch (e) { link = null; }
  if (!state.userId || !link || link.from === state.userId || Date.now() - link.at > 30 * 60 * 1000) {
    chip.hidden = true;
    return;
  }
  chip.replaceChildren(
    el("span", { text: "🔗 Tautan yang disalin" }),
    el("button", { type: "button", text: "Buka di sini", onclick: () => {
      localStorage.removeItem("uep.sandbox.link");
      chip.hidden = true;
      openDeepLink(link.payload);
    } }),
    el("button", { type: "button", text: "✕", "aria-label": "Tutup", onclick: () => { chip.hidden = true; } }),
  );
  chip.hidden = false;
}

// ------------------------------------------------------------------ messages
function dayKey(sec) { return dayFmt.format(new Date(sec * 1000)); }

function renderBubble(m) {
  const meta = el("span", { class: "meta" },
    m.edited ? el("span", { class: "edited", text: "diedit " }) : null, hm(m.date));
  const hasMedia = m.photo || m.sticker;
  const bubble = el("div", { class: "bubble" + (hasMedia ? " media" : "") + (m.sticker ? " sticker-b" : "") });
  if (m.photo) {
    const img = el("img", { class: "photo", src: `/_sandbox/files/${encodeURIComponent(m.photo.file_id)}`, alt: "foto",
      loading: "lazy", width: m.photo.width, height: m.photo.height });
    img.addEventListener("click", () => window.open(`/_sandbox/files/${encodeURIComponent(m.photo.full)}`, "_blank"));
    img.addEventListener("load", () => { if (nearBottom(img.getBoundingClientRect().height + 150)) scrollDown(); });
    bubble.append(img);
  } else if (m.sticker) {
    bubble.append(el("div", { class: "sticker", text: m.sticker.emoji || "🖼️" }));
  } else if (m.voice || m.audio) {
    const v = m.voice || m.audio;
    bubble.append(el("div", { class: "card-line" }, el("span", { class: "ic", text: "🎤" }),
      el("audio", { controls: true, preload: "none", src: `/_sandbox/files/${encodeURIComponent(v.file_id)}` }),
      el("span", { class: "muted", text: `${Math.floor(v.duration / 60)}:${String(v.duration % 60).padStart(2, "0")}` })));
  } else if (m.document) {
    const d = m.document;
    const size = d.size ? ` · ${(d.size / 1024).toFixed(d.size < 10240 ? 1 : 0)} KB` : "";
    bubble.append(el("a", { class: "doc", href: `/_sandbox/files/${encodeURIComponent(d.file_id)}`, target: "_blank" },
      el("span", { class: "ic", text: "📄" }),
      el("span", {}, el("div", { class: "dn", text: d.file_name }), el("div", { class: "muted", text: (d.mime_type || "file") + size }))));
  } else if (m.contact) {
    bubble.append(el("div", { class: "card-line" }, el("span", { class: "ic", text: "👤" }),
      el("span", {}, el("div", { class: "dn", text: m.contact.name || "Kontak" }), el("div", { class: "muted", text: m.contact.phone }))));
  } else if (m.location) {
    bubble.append(el("div", { class: "card-line" }, el("span", { class: "ic", text: "📍" }),
      el("span", {}, el("div", { class: "dn", text: "Lokasi" }),
        el("div", { class: "muted", text: `${m.location.latitude.toFixed(5)}, ${m.location.longitude.toFixed(5)}` }))));
  }
  if (m.text) {
    const body = el("div", { class: hasMedia ? "caption" : "text" });
    sanitizeInto(body, m.html || "");
    body.append(meta);
    bubble.append(body);
  } else if (hasMedia) {
    meta.classList.add("over");
    bubble.append(meta);
  } else {
    bubble.append(meta);
  }
  return bubble;
}

function renderInlineKeyboard(m) {
  if (!m.inline_keyboard || !m.inline_keyboard.length) return null;
  const kb = el("div", { class: "inline-kb" });
  for (const row of m.inline_keyboard) {
    const r = el("div", { class: "row" });
    for (const b of row) {
      const btn = el("button", { type: "button", title: b.text, dataset: { msg: String(m.id) } }, b.text);
      if (b.url) btn.append(el("span", { class: "url-mark", text: "↗" }));
      btn.addEventListener("click", () => pressInline(m.id, b, btn));
      r.append(btn);
    }
    kb.append(r);
  }
  return kb;
}

function messageNode(m) {
  const wrap = el("div", { class: "msg " + (m.from_bot ? "in" : "out"), id: `m${m.id}`, dataset: { id: String(m.id), date: String(m.date) } });
  wrap.append(renderBubble(m));
  const kb = m.from_bot ? renderInlineKeyboard(m) : null;
  if (kb) wrap.append(kb);
  return wrap;
}

function nearBottom(px) {
  const box = $("#messages");
  return box.scrollHeight - box.scrollTop - box.clientHeight < px;
}
function atBottom() { return nearBottom(80); }

function scrollDown() {
  const box = $("#messages");
  box.scrollTop = box.scrollHeight;
}

function insertMessage(m, { scroll = true } = {}) {
  const box = $("#messages");
  const stick = atBottom();
  if (m.deleted) { removeMessage(m.id); return; }
  state.messages.set(m.id, m);
  const existing = document.getElementById(`m${m.id}`);
  const node = messageNode(m);
  if (existing) { existing.replaceWith(node); return; }
  const lastMsg = $$(".msg", box).pop();
  if (!lastMsg || dayKey(Number(lastMsg.dataset.date)) !== dayKey(m.date)) {
    box.append(el("div", { class: "day-sep", text: dayKey(m.date) }));
  }
  box.append(node);
  if (scroll && (stick || !m.from_bot)) scrollDown();
}

function removeMessage(id) {
  state.messages.delete(id);
  const node = document.getElementById(`m${id}`);
  if (node) node.remove();
}

// ------------------------------------------------------------------ keyboards and input
function renderReplyKeyboard() {
  const stick = atBottom();
  requestAnimationFrame(() => { if (stick) scrollDown(); });
  const box = $("#reply-kb");
  const markup = state.replyMarkup;
  const rows = (markup && markup.keyboard) || [];
  $("#input").placeholder = (markup && markup.input_field_placeholder) || "Pesan";
  $("#kb-toggle").hidden = rows.length === 0;
  box.replaceChildren();
  for (const row of rows) {
    const r = el("div", { class: "row" });
    for (const raw of row) {
      const b = typeof raw === "string" ? { text: raw } : raw;
      r.append(el("button", { type: "button", onclick: () => pressReply(b) }, b.text));
    }
    box.append(r);
  }
  box.hidden = rows.length === 0 || state.kbHidden;
}

async function pressReply(b) {
  if (state.replyMarkup && state.replyMarkup.one_time_keyboard) { state.kbHidden = true; renderReplyKeyboard(); }
  if (b.request_contact) return shareContact();
  if (b.request_location) return shareLocation();
  if (b.request_users || b.request_chat || b.request_poll || b.web_app) {
    toast("Tombol jenis ini tidak ada di sandbox.", true);
    return undefined;
  }
  return guarded(() => act("send", { text: b.text }));
}

async function pressInline(messageId, b, btn) {
  if (b.callback_data !== undefined) {
    btn.classList.add("pending");
    setTimeout(() => btn.classList.remove("pending"), 4000);
    await guarded(() => act("press", { message_id: messageId, data: b.callback_data }));
    return;
  }
  if (b.url) {
    const payload = deepLinkPayload(b.url);
    if (payload !== null) return openDeepLink(payload);
    window.open(b.url, "_blank", "noopener");
    return undefined;
  }
  if (b.copy_text) {
    try { await navigator.clipboard.writeText(b.copy_text.text); } catch (e) { /* ignore */ }
    toast("Disalin.");
    return undefined;
  }
  toast("Tombol jenis ini tidak ada di sandbox.", true);
  return undefined;
}

async function shareContact() {
  const phone = state.chat && state.chat.phone;
  if (!phone) { toast("Orang ini tidak punya nomor telepon.", true); return; }
  const ok = await showAlert(`Bagikan nomor telepon Anda (${phone}) dengan ${state.bot.name}?`,
    { title: "Bagikan kontak", confirm: true });
  if (ok) await guarded(() => act("contact", { own: true }));
}

async function shareLocation() {
  await guarded(() => act("location", DEFAULT_LOCATION));
}

async function sendText() {
  const input = $("#input");
  const text = input.value.trim();
  if (!text || !state.userId) return;
  input.value = "";
  autosize();
  const payload = deepLinkPayload(text);
  if (payload !== null && text.replace(DEEP_LINK, "").trim() === "") {
    // Opening a t.me link (pasted from another chat) starts the bot with its payload.
    await openDeepLink(payload);
    return;
  }
  const sent = await guarded(() => act("send", { text }));
  if (sent === undefined) input.value = text;
}

function autosize() {
  const input = $("#input");
  input.style.height = "auto";
  input.style.height = Math.min(input.scrollHeight, 140) + "px";
  const hasText = input.value.trim().length > 0;
  $("#send").hidden = !hasText;
  $("#mic").hidden = hasText;
}

async function showCommands() {
  const pop = $("#commands-pop");
  if (!pop.hidden) { pop.hidden = true; return; }
  const chat = await guarded(() => api(`/_sandbox/chats/${state.userId}`));
  if (!chat) return;
  pop.replaceChildren();
  if (!chat.commands.length) pop.append(el("div", { class: "empty", text: "Bot belum memasang perintah." }));
  for (const c of chat.commands) {
    pop.append(el("button", { type: "button", onclick: () => { pop.hidden = true; guarded(() => act("send", { text: `/${c.command}` })); } },
      el("span", { class: "cmd", text: `/${c.command}` }), el("span", { class: "desc", text: c.description })));
  }
  pop.hidden = false;
}

// ------------------------------------------------------------------ uploads and recording
let pendingUpload = null;

function pickFile(kind) {
  $("#attach-pop").hidden = true;
  const input = $(`#file-${kind}`);
  input.value = "";
  input.click();
}

function openUploadDialog(kind, file) {
  pendingUpload = { kind, file };
  $("#upload-title").textContent = kind === "photo" ? "Kirim foto" : "Kirim dokumen";
  const preview = $("#upload-preview");
  if (kind === "photo") {
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  } else {
    preview.hidden = true;
  }
  $("#upload-name").textContent = `${file.name} · ${(file.size / 1024).toFixed(0)} KB`;
  $("#upload-caption").value = "";
  $("#upload-dialog").showModal();
  $("#upload-caption").focus();
}

async function upload(kind, blob, filename, caption) {
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", blob, filename);
  if (caption) form.append("caption", caption);
  return guarded(() => api(`/_sandbox/chats/${state.userId}/upload`, { method: "POST", body: form }));
}

async function startRecording() {
  if (!navigator.mediaDevices || !window.MediaRecorder) {
    toast("Browser ini tidak bisa merekam; kirim file suara lewat 📎.", true);
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (e) {
    toast("Mikrofon tidak bisa dipakai: " + e.message, true);
    return;
  }
  const type = ["audio/ogg;codecs=opus", "audio/webm;codecs=opus"].find((t) => MediaRecorder.isTypeSupported(t));
  const rec = new MediaRecorder(stream, type ? { mimeType: type } : {});
  const chunks = [];
  rec.ondataavailable = (ev) => { if (ev.data.size) chunks.push(ev.data); };
  const started = Date.now();
  const timer = setInterval(() => {
    const s = Math.floor((Date.now() - started) / 1000);
    $("#rec-time").textContent = `${Math.floor(s / 60)}:${String(s % 60).padStart(2, "0")}`;
  }, 250);
  state.recorder = { rec, stream, chunks, timer, send: false };
  rec.onstop = async () => {
    clearInterval(timer);
    stream.getTracks().forEach((t) => t.stop());
    $("#recorder").hidden = true;
    const r = state.recorder;
    state.recorder = null;
    if (!r.send || !chunks.length) return;
    const blob = new Blob(chunks, { type: rec.mimeType || "audio/webm" });
    await upload("voice", blob, rec.mimeType.includes("ogg") ? "voice.ogg" : "voice.webm");
  };
  $("#rec-time").textContent = "0:00";
  $("#recorder").hidden = false;
  rec.start(250);
}

function stopRecording(send) {
  if (!state.recorder) return;
  state.recorder.send = send;
  state.recorder.rec.stop();
}

// ------------------------------------------------------------------ personas and chats
function badgeFor(p) {
  if (p.kind === "recipient") {
    const label = STATE_LABEL[p.state] || p.state || "";
    return el("span", { class: "badge" + (p.state === "active" ? " ok" : ""), text: label });
  }
  return el("span", { class: "badge", text: KIND_LABEL[p.kind] || p.kind });
}

function openTarget(p) {
  if (p.kind === "recipient") return `recipient:${p.ref_id}`;
  if (p.kind === "tksk" || p.kind === "psm") return `worker:${p.ref_id}`;
  return p.kind;
}

async function loadPeople() {
  const list = $("#people-list");
  const kind = state.peopleKind;
  $("#people-search").hidden = kind === "staff" || kind === "stranger";
  if (kind === "stranger") {
    state.peopleSeq += 1;
    list.dataset.query = "stranger:";
    list.replaceChildren(el("li", { onclick: () => openPersona("stranger") },
      el("div", { class: "avatar k-stranger", text: "?" }),
      el("div", { class: "who" }, el("div", { class: "nm", text: "Orang asing baru" }),
        el("div", { class: "sub", text: "Tidak ada di roster: lihat bagaimana bot menolaknya dengan sopan" }))));
    return;
  }
  const raw = $("#people-search").value.trim();
  const seq = ++state.peopleSeq;
  const found = await guarded(() => api(`/_sandbox/personas?kind=${kind}&q=${encodeURIComponent(raw)}&limit=60`));
  if (!found || seq !== state.peopleSeq) return;  // a newer search is on its way
  list.replaceChildren();
  list.dataset.query = `${kind}:${raw}`;
  if (!found.length) list.append(el("li", { class: "empty", text: "Tidak ada yang cocok." }));
  for (const p of found) {
    const target = openTarget(p);
    list.append(el("li", { dataset: { open: target }, onclick: (ev) => { if (!ev.target.closest("a")) openPersona(target); } },
      el("div", { class: `avatar k-${p.kind}`, text: initials(p.name) }),
      el("div", { class: "who" }, el("div", { class: "nm", text: p.name }),
        el("div", { class: "sub" }, badgeFor(p), " ", p.subtitle)),
      el("a", { class: "new-tab", href: `/?open=${encodeURIComponent(target)}`, target: "_blank", title: "Buka di tab baru",
        text: "↗" })));
  }
}

async function openPersona(target) {
  const [kind, id] = target.split(":");
  const body = kind === "worker" ? { kind: "worker", id: Number(id) } : id ? { kind, id: Number(id) } : { kind };
  const persona = await guarded(() => api("/_sandbox/personas", { json: body }));
  if (persona) await openChat(persona.user_id, { fresh: true });
}

async function loadChats() {
  const chats = await guarded(() => api("/_sandbox/chats"));
  if (!chats) return;
  const list = $("#chat-list");
  list.replaceChildren();
  $("#chats-empty").hidden = chats.length > 0;
  for (const c of chats) {
    list.append(el("li", { class: c.user_id === state.userId ? "current" : "", dataset: { user: String(c.user_id) },
      onclick: (ev) => { if (!ev.target.closest("a")) openChat(c.user_id); } },
      el("div", { class: `avatar k-${c.kind}`, text: initials(c.name) }),
      el("div", { class: "who" }, el("div", { class: "nm", text: c.name }),
        el("div", { class: "sub", text: c.last || c.subtitle || KIND_LABEL[c.kind] || "" })),
      c.last_date ? el("span", { class: "when", text: hm(c.last_date) }) : null,
      el("a", { class: "new-tab", href: `/?as=${c.user_id}`, target: "_blank", title: "Buka di tab baru", text: "↗" })));
  }
}
let chatsTimer = null;
function loadChatsSoon() { clearTimeout(chatsTimer); chatsTimer = setTimeout(loadChats, 300); }

let personaTimer = null;
function refreshPersonaSoon() {
  // A recipient's onboarding state changes as they talk to the bot: keep their card current.
  clearTimeout(personaTimer);
  const userId = state.userId;
  personaTimer = setTimeout(async () => {
    const chat = await guarded(() => api(`/_sandbox/chats/${userId}`));
    if (!chat || userId !== state.userId || !chat.persona) return;
    const before = JSON.stringify(state.chat && state.chat.persona);
    state.chat.persona = chat.persona;
    state.chat.phone = chat.phone;
    if (JSON.stringify(chat.persona) !== before) renderPersonaCard();
  }, 700);
}

function renderPersonaCard(open) {
  const card = $("#persona-card");
  const p = state.chat && state.chat.persona;
  card.replaceChildren();
  if (!p) { card.hidden = true; return; }
  card.append(el("div", { class: "row" }, el("b", { text: p.name }), " · ", KIND_LABEL[p.kind] || p.kind,
    p.subtitle ? ` · ${p.subtitle}` : ""));
  if (p.kind === "recipient") {
    card.append(el("div", { class: "row" }, "NIK ", el("span", { class: "mono", text: p.nik }), " · lahir ",
      el("span", { class: "mono", text: p.birth_date }), " · HP ", el("span", { class: "mono", text: state.chat.phone || "–" })));
    card.append(el("div", { class: "row muted", text: `Status: ${STATE_LABEL[p.state] || p.state}. ` +
      "Data contoh: orang ini tahu NIK dan tanggal lahirnya sendiri." }));
    const actions = el("div", { class: "actions" },
      el("button", { type: "button", class: "chip-btn", text: "Ketik /start NIK TANGGAL-LAHIR", onclick: () => {
        const input = $("#input");
        input.value = `/start ${p.nik} ${p.birth_date}`;
        autosize();
        input.focus();
      } }));
    card.append(actions);
    guarded(() => api(`/_sandbox/chats/${state.userId}/workers`)).then((workers) => {
      for (const w of workers || []) {
        actions.append(el("a", { class: "chip-btn", href: `/?open=worker:${w.ref_id}`, target: "_blank",
          text: `Buka ${w.kind.toUpperCase()}-nya: ${w.name} ↗` }));
      }
    });
  } else if (p.kind === "tksk" || p.kind === "psm") {
    card.append(el("div", { class: "row muted", text: "Sudah terhubung ke akun Telegram ini; bisa langsung dipakai." }));
  } else if (p.kind === "stranger") {
    card.append(el("div", { class: "row muted", text: "Tidak ada di roster." }));
  }
  if (open !== undefined) card.hidden = !open;
}

async function openChat(userId, { fresh = false } = {}) {
  const chat = await guarded(() => api(`/_sandbox/chats/${userId}`));
  if (!chat) return;
  state.userId = userId;
  state.chat = chat;
  state.messages.clear();
  state.kbHidden = false;
  $("#messages").replaceChildren();
  for (const m of chat.messages) insertMessage(m, { scroll: false });
  state.replyMarkup = chat.reply_markup;
  renderReplyKeyboard();
  const name = chat.persona ? chat.persona.name : chat.first_name;
  $("#as-name").textContent = name;
  document.title = `${name} · UEP Sandbox`;
  const p = chat.persona;
  const wide = window.matchMedia("(min-width: 801px)").matches;
  const notJoined = p && p.kind === "recipient" && p.state === "not_joined";
  renderPersonaCard(notJoined || (fresh && wide) ? true : fresh ? false : undefined);
  $("#no-chat").hidden = true;
  $("#app").classList.replace("show-list", "show-chat");
  history.replaceState(null, "", `/?as=${userId}`);
  refreshLinkChip();
  scrollDown();
  loadChatsSoon();
  $("#input").focus();
}

async function resync() {
  if (state.userId) {
    const chat = await guarded(() => api(`/_sandbox/chats/${state.userId}`));
    if (chat) {
      state.chat = chat;
      $("#messages").replaceChildren();
      state.messages.clear();
      for (const m of chat.messages) insertMessage(m, { scroll: false });
      state.replyMarkup = chat.reply_markup;
      renderReplyKeyboard();
      scrollDown();
    }
  }
  loadChats();
}

// ------------------------------------------------------------------ clock
function renderClock() {
  if (!state.clock) return;
  const now = state.clock.now_ms + (Date.now() - state.clockFetchedAt);
  for (const n of $$(".clock-now")) n.textContent = clockText(now);
  const next = state.clock.next_reminder ? new Date(state.clock.next_reminder).getTime() : null;
  for (const b of $$('.clock-step[data-step="next_reminder"]')) {
    b.disabled = !next;
    b.title = next ? `Pengingat berikutnya: ${clockText(next)}` : "Tidak ada pengingat yang menunggu";
  }
  const caseDue = state.clock.next_case_deadline ? new Date(state.clock.next_case_deadline).getTime() : null;
  for (const b of $$('.clock-step[data-step="next_case_deadline"]')) {
    b.disabled = !caseDue;
    b.title = caseDue ? `Tenggat kasus berikutnya: ${clockText(caseDue)}` : "Tidak ada kasus terbuka dengan tenggat";
  }
}

function setClock(clock, note) {
  state.clock = clock;
  state.clockFetchedAt = Date.now();
  renderClock();
  if (note !== undefined) for (const n of $$(".clock-note")) n.textContent = note;
}

function handledNote(clock) {
  const h = clock.handled || {};
  const done = Object.entries(h).filter(([, n]) => n > 0).map(([k, n]) => `${k}: ${n}`);
  const failed = Object.entries(h).filter(([, n]) => n < 0).map(([k]) => k);
  let text = done.length ? `Pemindaian dijalankan — ${done.join(", ")}` : "Pemindaian dijalankan — tidak ada yang jatuh tempo";
  if (failed.length) text += ` · gagal: ${failed.join(", ")}`;
  if (clock.next_reminder) text += ` · pengingat berikutnya ${clockText(new Date(clock.next_reminder).getTime())}`;
  if (clock.next_case_deadline) text += ` · tenggat kasus ${clockText(new Date(clock.next_case_deadline).getTime())}`;
  return text;
}

let clockTimer = null;
function loadClockSoon() {
  // Reminders and case deadlines appear as people use the bot: keep the "next …" buttons current.
  clearTimeout(clockTimer);
  clockTimer = setTimeout(async () => {
    const clock = await guarded(() => api("/_sandbox/clock"));
    if (clock) setClock(clock);
  }, 800);
}

async function moveClock(step) {
  $$(".clock-step").forEach((b) => { b.disabled = true; });
  try {
    const clock = await guarded(() => api("/_sandbox/clock", { json: { step } }));
    if (clock) setClock(clock, handledNote(clock));
  } finally {
    $$(".clock-step").forEach((b) => { b.disabled = false; });
    renderClock();
  }
}

// ------------------------------------------------------------------ live feed
function connect() {
  const proto = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${proto}://${location.host}/_sandbox/ws`);
  state.ws = ws;
  ws.onopen = () => {
    if (state.wsRetry > 0) resync();
    state.wsRetry = 0;
    document.body.dataset.live = "1";
  };
  ws.onmessage = (ev) => onEvent(JSON.parse(ev.data));
  ws.onclose = () => {
    document.body.dataset.live = "0";
    state.wsRetry += 1;
    setTimeout(connect, Math.min(5000, 300 * state.wsRetry));
  };
}

function setStatus(text, typing = false) {
  const s = $("#status");
  s.textContent = text;
  s.classList.toggle("typing", typing);
}

function onEvent(ev) {
  if (ev.type === "clock") {
    setClock(ev.clock, handledNote(ev.clock));
    return;
  }
  if (ev.type === "hello") return;
  if (ev.type === "message") loadClockSoon();
  if (ev.chat_id !== state.userId) {
    if (ev.type === "message") loadChatsSoon();
    return;
  }
  switch (ev.type) {
    case "message":
    case "edit":
      if (ev.message.from_bot) { clearTimeout(state.typingTimer); setStatus("bot"); }
      insertMessage(ev.message);
      if (ev.reply_markup !== undefined && ev.message.from_bot) {
        const changed = JSON.stringify(ev.reply_markup) !== JSON.stringify(state.replyMarkup);
        state.replyMarkup = ev.reply_markup;
        if (changed) state.kbHidden = false;
        renderReplyKeyboard();
      }
      if (ev.type === "message") { loadChatsSoon(); refreshPersonaSoon(); }
      break;
    case "delete":
      removeMessage(ev.message.id);
      break;
    case "callback_answer":
      $$(".inline-kb button.pending").forEach((b) => b.classList.remove("pending"));
      if (ev.text) {
        if (ev.show_alert) showAlert(ev.text);
        else toast(ev.text);
      }
      break;
    case "chat_action":
      setStatus(ev.action === "typing" ? "mengetik…" : ev.action.startsWith("upload") ? "mengirim file…" : "bot", true);
      clearTimeout(state.typingTimer);
      state.typingTimer = setTimeout(() => setStatus("bot"), 5000);
      break;
    default:
      break;
  }
}

// ------------------------------------------------------------------ wiring
function wire() {
  $$(".tab").forEach((t) => t.addEventListener("click", () => {
    $$(".tab").forEach((x) => x.classList.toggle("active", x === t));
    $("#tab-chats").hidden = t.dataset.tab !== "chats";
    $("#tab-people").hidden = t.dataset.tab !== "people";
    if (t.dataset.tab === "people") loadPeople(); else loadChats();
  }));
  $$(".seg").forEach((s) => s.addEventListener("click", () => {
    $$(".seg").forEach((x) => x.classList.toggle("active", x === s));
    state.peopleKind = s.dataset.kind;
    loadPeople();
  }));
  let searchTimer = null;
  $("#people-search").addEventListener("input", () => { clearTimeout(searchTimer); searchTimer = setTimeout(loadPeople, 250); });
  document.addEventListener("click", (ev) => {
    const step = ev.target.closest(".clock-step");
    if (step) moveClock(step.dataset.step);
    if (!ev.target.closest("#commands-pop, #menu-btn")) $("#commands-pop").hidden = true;
    if (!ev.target.closest("#attach-pop, #attach")) $("#attach-pop").hidden = true;
  });
  $("#back").addEventListener("click", () => {
    $("#app").classList.replace("show-chat", "show-list");
    $('.tab[data-tab="chats"]').click();
  });
  $("#persona-toggle").addEventListener("click", () => renderPersonaCard($("#persona-card").hidden));
  $("#clock-toggle").addEventListener("click", () => { $("#clock-pop").hidden = !$("#clock-pop").hidden; });
  $("#kb-toggle").addEventListener("click", () => { state.kbHidden = !state.kbHidden; renderReplyKeyboard(); });
  $("#menu-btn").addEventListener("click", showCommands);
  $("#attach").addEventListener("click", () => { $("#attach-pop").hidden = !$("#attach-pop").hidden; });
  $$("#attach-pop button").forEach((b) => b.addEventListener("click", () => {
    $("#attach-pop").hidden = true;
    const what = b.dataset.attach;
    if (what === "contact") shareContact();
    else if (what === "location") shareLocation();
    else pickFile(what);
  }));
  $("#file-photo").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) openUploadDialog("photo", f); });
  $("#file-document").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) openUploadDialog("document", f); });
  $("#file-voice").addEventListener("change", (ev) => { const f = ev.target.files[0]; if (f) upload("voice", f, f.name); });
  $("#upload-cancel").addEventListener("click", () => { pendingUpload = null; $("#upload-dialog").close(); });
  $("#upload-form").addEventListener("submit", () => {
    const p = pendingUpload;
    pendingUpload = null;
    if (p) upload(p.kind, p.file, p.file.name, $("#upload-caption").value.trim());
  });
  const input = $("#input");
  input.addEventListener("input", autosize);
  input.addEventListener("keydown", (ev) => {
    if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) { ev.preventDefault(); sendText(); }
  });
  $("#send").addEventListener("click", sendText);
  $("#mic").addEventListener("click", startRecording);
  $("#rec-cancel").addEventListener("click", () => stopRecording(false));
  $("#rec-send").addEventListener("click", () => stopRecording(true));
  window.addEventListener("storage", (ev) => { if (ev.key === "uep.sandbox.link") refreshLinkChip(); });
  setInterval(renderClock, 10000);
}

async function main() {
  wire();
  const info = await guarded(() => api("/_sandbox/info"));
  if (info) {
    state.bot = info.bot;
    $("#bot-name").textContent = info.bot.name;
    setClock(info.clock);
    if (info.desk_url) {
      const desk = $("#desk-link");
      desk.href = info.desk_url;
      desk.hidden = false;
    }
  }
  connect();
  const params = new URLSearchParams(location.search);
  if (params.get("open")) {
    await openPersona(params.get("open"));
  } else if (params.get("as")) {
    await openChat(Number(params.get("as")));
  }
  await loadChats();
  if (!state.userId && !$("#chat-list").children.length) $('.tab[data-tab="people"]').click();
}

main();
