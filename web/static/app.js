// kyojin console: WebAuthn ceremonies. Served as an external script so that
// the Content-Security-Policy can forbid inline script entirely.
"use strict";
(function () {
  const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
  const b64u = {
    dec: (s) => Uint8Array.from(atob(s.replace(/-/g, "+").replace(/_/g, "/")), (c) => c.charCodeAt(0)),
    enc: (buf) => btoa(String.fromCharCode(...new Uint8Array(buf))).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, ""),
  };
  const status = (msg) => { const el = document.getElementById("webauthn-status"); if (el) el.textContent = msg; };
  async function post(url, body) {
    const res = await fetch(url, {
      method: "POST", credentials: "same-origin",
      headers: { "X-CSRF-Token": csrf, "Content-Type": "application/json", "Accept": "application/json" },
      body: body ? JSON.stringify(body) : "{}",
    });
    const data = await res.json().catch(() => ({}));
    if (!res.ok) throw new Error(data.error || ("HTTP " + res.status));
    return data;
  }
  async function register() {
    try {
      status("セキュリティキーの操作を待っています…");
      const opts = await post("/account/mfa/webauthn/begin");
      const pk = opts.publicKey;
      pk.challenge = b64u.dec(pk.challenge);
      pk.user.id = b64u.dec(pk.user.id);
      (pk.excludeCredentials || []).forEach((c) => { c.id = b64u.dec(c.id); });
      const cred = await navigator.credentials.create({ publicKey: pk });
      const name = encodeURIComponent(document.getElementById("key-name")?.value || "");
      const out = await post("/account/mfa/webauthn/finish?name=" + name, {
        id: cred.id, rawId: b64u.enc(cred.rawId), type: cred.type,
        response: { clientDataJSON: b64u.enc(cred.response.clientDataJSON), attestationObject: b64u.enc(cred.response.attestationObject),
          transports: cred.response.getTransports ? cred.response.getTransports() : [] },
      });
      location.assign(out.redirect);
    } catch (e) { status("登録できませんでした: " + e.message); }
  }
  async function login() {
    try {
      status("セキュリティキーの操作を待っています…");
      const opts = await post("/login/webauthn/begin");
      const pk = opts.publicKey;
      pk.challenge = b64u.dec(pk.challenge);
      (pk.allowCredentials || []).forEach((c) => { c.id = b64u.dec(c.id); });
      const a = await navigator.credentials.get({ publicKey: pk });
      const out = await post("/login/webauthn/finish", {
        id: a.id, rawId: b64u.enc(a.rawId), type: a.type,
        response: { clientDataJSON: b64u.enc(a.response.clientDataJSON), authenticatorData: b64u.enc(a.response.authenticatorData),
          signature: b64u.enc(a.response.signature), userHandle: a.response.userHandle ? b64u.enc(a.response.userHandle) : null },
      });
      location.assign(out.redirect);
    } catch (e) { status("確認できませんでした: " + e.message); }
  }
  document.getElementById("webauthn-register")?.addEventListener("click", register);
  document.getElementById("webauthn-login")?.addEventListener("click", login);
})();

// File transfer: drop files anywhere on the form, and show upload progress.
// Without script the form works as a plain multipart POST. The form's
// fields come before the file input, so the CSRF token precedes the files
// in the stream, as the server requires.
(function () {
  const form = document.getElementById("transfer-form");
  const input = document.getElementById("t-files");
  const bar = document.getElementById("t-progress");
  if (!form || !input || !bar) return;
  form.addEventListener("dragover", (e) => { e.preventDefault(); form.classList.add("dropping"); });
  form.addEventListener("dragleave", () => form.classList.remove("dropping"));
  form.addEventListener("drop", (e) => {
    e.preventDefault();
    form.classList.remove("dropping");
    if (e.dataTransfer && e.dataTransfer.files.length) input.files = e.dataTransfer.files;
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    bar.hidden = false;
    xhr.upload.addEventListener("progress", (p) => { if (p.lengthComputable) bar.value = Math.round(100 * p.loaded / p.total); });
    xhr.addEventListener("load", () => {
      // The response is the result page (or the error page): show it.
      document.open();
      document.write(xhr.responseText);
      document.close();
    });
    xhr.addEventListener("error", () => { bar.hidden = true; alert("アップロードが途中で切れました。もう一度送ってください。"); });
    xhr.send(new FormData(form));
  });
})();
