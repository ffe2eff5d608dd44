// mock-amojo operator console: live fragments over server-sent events, manager actions over the control plane.
// Every piece of user text arrives as server-escaped HTML or is set with textContent — never parsed from strings here.
"use strict";

// Emoji are drawn only where a colour emoji font draws them (a stock Debian chromium has none: empty
// boxes); elsewhere their names stay (console.css). A drawn thumbs-up has coloured pixels, a box has none.
(() => {
  try {
    const canvas = document.createElement("canvas");
    canvas.width = canvas.height = 24;
    const context = canvas.getContext("2d", { willReadFrequently: true });
    context.font = "20px sans-serif";
    context.textBaseline = "top";
    context.fillText("\u{1F44D}", 0, 0);
    const pixels = context.getImageData(0, 0, 24, 24).data;
    for (let i = 0; i < pixels.length; i += 4) {
      if (pixels[i + 3] && (Math.abs(pixels[i] - pixels[i + 1]) > 16 || Math.abs(pixels[i + 1] - pixels[i + 2]) > 16)) {
        document.documentElement.classList.add("emoji");
        return;
      }
    }
  } catch (error) {
    // no canvas: keep the names
  }
})();

(() => {
  const body = document.body;
  const prefix = body.dataset.prefix;
  const control = body.dataset.control;
  const chatId = body.dataset.chat;
  const scopeId = body.dataset.scope;
  const known = {
    state: Number(body.dataset.revision || 0),
    journal: Number(body.dataset.journalSeq || 0),
    webhooks: Number(body.dataset.webhookSeq || 0),
  };

  // -- fragments ------------------------------------------------------------------------

  const openKeys = (root) =>
    new Set([...root.querySelectorAll("details[open]")].map((d) => d.closest("[data-seq],[data-delivery-id]")).filter(Boolean)
      .map((el) => el.dataset.seq || el.dataset.deliveryId));

  const inFlight = new Map();
  async function refresh(element, url) {
    if (!element) return;
    const key = element.id;
    if (inFlight.get(key)) { inFlight.set(key, "again"); return; }
    inFlight.set(key, "busy");
    try {
      let response;
      try {
        response = await fetch(url || element.dataset.fragment, { cache: "no-store" });
      } catch (error) {
        return;  // the server is away; the event stream reconnects and says what to re-fetch
      }
      if (!response.ok) return;
      const html = await response.text();
      const opened = openKeys(element);
      element.innerHTML = html;
      for (const item of element.querySelectorAll("[data-seq],[data-delivery-id]")) {
        const details = item.querySelector("details");
        if (details && opened.has(item.dataset.seq || item.dataset.deliveryId)) details.open = true;
      }
      if (element.querySelector(".timeline")) followTimeline();
      armTyping();
      if (element.id === "sidebar-chats") syncScopes();
      if (element.id === "panel-webhooks") settleFollowed();
    } finally {
      const again = inFlight.get(key) === "again";
      inFlight.delete(key);
      if (again) refresh(element, url);
    }
  }

  const byId = (id) => document.getElementById(id);

  // The timeline sticks to its newest message unless the manager scrolled up to read;
  // pictures that load later (and change the height) keep it stuck too.
  let stick = true;
  const followTimeline = () => {
    const timeline = document.querySelector(".timeline");
    if (timeline && stick) timeline.scrollTop = timeline.scrollHeight;
  };
  document.addEventListener("scroll", (event) => {
    const timeline = event.target;
    if (timeline.classList && timeline.classList.contains("timeline")) {
      stick = timeline.scrollHeight - timeline.scrollTop - timeline.clientHeight < 40;
    }
  }, true);
  document.addEventListener("load", (event) => {
    if (event.target.tagName === "IMG" && event.target.closest(".timeline")) followTimeline();
  }, true);
  const refreshSidebar = () => refresh(byId("sidebar-chats"), `${prefix}/fragments/sidebar?chat=${encodeURIComponent(chatId || "")}`);
  const refreshTimeline = () => refresh(byId("timeline"));
  const refreshJournal = () => refresh(byId("panel-journal"));
  const refreshWebhooks = () => refresh(byId("panel-webhooks"));
  const refreshLeads = () => refresh(byId("panel-leads"));

  const onState = () => { refreshSidebar(); refreshTimeline(); refreshLeads(); refreshWebhooks(); };
  const onJournal = () => refreshJournal();
  const onWebhooks = () => { refreshWebhooks(); refreshTimeline(); };

  // -- live updates -----------------------------------------------------------------------

  const live = byId("live");
  function connect() {
    const events = new EventSource(`${prefix}/events`);
    events.addEventListener("hello", (event) => {
      live.textContent = "live";
      live.className = "live on";
      const now = JSON.parse(event.data);
      // A stream ends every few seconds and reconnects; re-fetch only what changed in between.
      if (now.state !== known.state) onState();
      if (now.journal !== known.journal) onJournal();
      if (now.webhooks !== known.webhooks) onWebhooks();
      Object.assign(known, now);
    });
    events.addEventListener("state", (event) => { known.state = Number(event.data); onState(); });
    events.addEventListener("journal", (event) => { known.journal = Number(event.data); onJournal(); });
    events.addEventListener("webhooks", (event) => { known.webhooks = Number(event.data); onWebhooks(); });
    events.onerror = () => { live.textContent = "reconnecting…"; live.className = "live off"; };
  }
  connect();

  // -- typing indicator: hide when it expires (server time, measured from when it was rendered) --

  let typingTimer = null;
  function armTyping() {
    const typing = document.querySelector(".typing");
    if (!typing) return;
    clearTimeout(typingTimer);
    const left = Number(typing.dataset.until) - Number(typing.dataset.now);
    if (left > 0) typingTimer = setTimeout(() => { typing.hidden = true; }, left * 1000);
  }
  armTyping();

  // -- manager actions: the same control-plane calls a test makes ------------------------

  const post = (path, payload) => send("POST", path, payload);
  async function send(method, path, payload) {
    const response = await fetch(`${control}${path}`, {
      method,
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(payload),
    });
    let data = null;
    try { data = await response.json(); } catch (error) { data = null; }
    if (!response.ok) {
      const text = data ? `${data.error_description || data.error_type || response.status}${data.hint ? " — " + data.hint : ""}` : `HTTP ${response.status}`;
      throw new Error(text);
    }
    return data;
  }

  function say(output, text, failed) {
    if (!output) return;
    output.textContent = text;
    output.classList.toggle("failed", Boolean(failed));
  }

  function deliveryText(delivery) {
    if (!delivery) return "";
    const code = delivery.status_code ? ` ${delivery.status_code}` : "";
    return ` · webhook ${delivery.outcome}${code}${delivery.error ? ": " + delivery.error : ""}`;
  }

  // A hook still pending when an action's answer came (hooks go out in the background) is followed:
  // when the Webhooks panel shows its outcome, the status line says it too.
  let followed = null;
  function follow(output, done, result) {
    const delivery = result && result.delivery;
    say(output, `${done}${deliveryText(delivery)}`, delivery && delivery.outcome === "failed");
    followed = delivery && delivery.outcome === "pending" ? { id: delivery.id, output, done } : null;
    if (followed) settleFollowed();
  }
  function settleFollowed() {
    if (!followed) return;
    const row = document.querySelector(`#panel-webhooks [data-delivery-id="${CSS.escape(followed.id)}"]`);
    if (!row || !row.dataset.outcome || row.dataset.outcome === "pending") return;
    const { output, done } = followed;
    followed = null;
    const code = row.dataset.statusCode ? ` ${row.dataset.statusCode}` : "";
    const error = row.dataset.error ? `: ${row.dataset.error}` : "";
    say(output, `${done} · webhook ${row.dataset.outcome}${code}${error}`, row.dataset.outcome === "failed");
  }

  const composer = byId("composer");
  if (composer) {
    const type = byId("composer-type");
    const text = byId("composer-text");
    const status = byId("composer-status");
    const showExtras = () => {
      for (const row of composer.querySelectorAll("[data-for]")) row.hidden = !row.dataset.for.split(" ").includes(type.value);
    };
    type.addEventListener("change", showExtras);
    showExtras();

    const field = (name) => composer.elements[name].value.trim();
    // The acting CRM user, when the account has several (the account's first one otherwise).
    const actor = () => (composer.elements.user_id ? { user_id: composer.elements.user_id.value } : {});
    const message = () => {
      const kind = type.value;
      const out = { type: kind };
      if (text.value.trim()) out.text = text.value;
      if (["picture", "file", "video", "audio", "voice", "sticker"].includes(kind)) {
        out.media = field("media");
        if (field("file_name")) out.file_name = field("file_name");
        if (field("file_size")) out.file_size = Number(field("file_size"));
      }
      if (kind === "location") out.location = { lat: Number(field("lat")), lon: Number(field("lon")) };
      if (kind === "contact") out.contact = { name: field("contact_name"), phone: field("contact_phone") };
      return out;
    };

    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      say(status, "sending…");
      try {
        const result = await post("/operator/reply", { scope_id: scopeId, chat_id: chatId, message: message(), ...actor() });
        text.value = "";
        follow(status, "sent", result);
      } catch (error) {
        say(status, error.message, true);
      }
    });
    text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); composer.requestSubmit(); }
    });
    let lastTyping = 0;
    text.addEventListener("input", () => {
      // amojo sends a typing hook at most once per 5 s; the server throttles too.
      if (Date.now() - lastTyping < 4000) return;
      lastTyping = Date.now();
      post("/operator/typing", { scope_id: scopeId, chat_id: chatId, ...actor() }).catch((error) => say(status, error.message, true));
    });
  }

  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.react");
    if (!button) return;
    const item = button.closest("[data-message-id]");
    const status = byId("composer-status");
    const user = byId("composer-user");
    const payload = { scope_id: scopeId, message_id: item.dataset.messageId, ...(user ? { user_id: user.value } : {}) };
    if (button.dataset.unreact) payload.type = "unreact"; else payload.emoji = button.dataset.emoji;
    try {
      const result = await post("/operator/react", payload);
      follow(status, payload.type || "react", result);
    } catch (error) {
      say(status, error.message, true);
    }
  });

  // Install: amoCRM's redirect to the integration's redirect_uri, called when its server answers.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest("button.install");
    if (!button) return;
    const output = byId("install-status");
    const clientId = button.closest("[data-client-id]").dataset.clientId;
    say(output, "installing…");
    try {
      const result = await post(`/integrations/${encodeURIComponent(clientId)}/install`, {});
      const called = result.delivered ? `your server answered ${result.status}` : `not called${result.error ? ": " + result.error : ""}`;
      say(output, `redirect: ${result.url} — ${called}`);
    } catch (error) {
      say(output, error.message, true);
    }
  });

  const initiate = byId("initiate-form");
  if (initiate) {
    initiate.addEventListener("submit", async (event) => {
      event.preventDefault();
      const output = initiate.querySelector("output");
      const form = initiate.elements;
      const payload = { scope_id: form.scope_id.value, phone: form.phone.value.trim(), message: { type: "text", text: form.text.value } };
      if (form.name.value.trim()) payload.name = form.name.value.trim();
      say(output, "starting…");
      try {
        const result = await post("/operator/initiate", payload);
        window.location.assign(`${prefix}?chat=${encodeURIComponent(result.chat_id)}`);
      } catch (error) {
        say(output, error.message, true);
      }
    });
  }

  // Keep the "write first" scope choices in step with the connected scopes the sidebar lists.
  function syncScopes() {
    const select = initiate && initiate.elements.scope_id;
    if (!select) return;
    const chosen = select.value;
    const scopes = [...document.querySelectorAll("#sidebar-chats section.scope[data-connected='1']")];
    select.replaceChildren(...scopes.map((section) => {
      const option = document.createElement("option");
      option.value = section.dataset.scopeId;
      option.textContent = section.querySelector("h2 .title").textContent;
      option.selected = option.value === chosen;
      return option;
    }));
    initiate.closest("details").hidden = scopes.length === 0;
  }
  syncScopes();

  // -- the channel's settings: PATCH /__mock__/channels/{id}, as `mock-amojo channel set` does -------------

  const channelForm = byId("channel-form");
  if (channelForm) {
    const form = channelForm.elements;
    const output = channelForm.querySelector("output");
    let channels = [];
    const fill = () => {
      const channel = channels.find((c) => c.id === form.channel_id.value);
      if (!channel) return;
      form.webhook_url.value = channel.webhook_url || "";
      form.hook_api_version.value = channel.hook_api_version;
      form.write_first.checked = channel.write_first;
      form.strict.checked = channel.strict;
      form.allowed_accounts.value = channel.allowed_accounts.join(", ");
    };
    const load = async () => {
      const response = await fetch(`${control}/channels`, { cache: "no-store" });
      if (!response.ok) return;
      channels = (await response.json()).channels;
      const chosen = form.channel_id.value;
      form.channel_id.replaceChildren(...channels.map((channel) => {
        const option = document.createElement("option");
        option.value = channel.id;
        option.textContent = `${channel.name} (${channel.id.slice(0, 8)})`;
        option.selected = channel.id === chosen;
        return option;
      }));
      fill();
    };
    channelForm.closest("details").addEventListener("toggle", (event) => { if (event.target.open) load(); });
    form.channel_id.addEventListener("change", fill);
    channelForm.addEventListener("submit", async (event) => {
      event.preventDefault();
      const changes = {
        webhook_url: form.webhook_url.value.trim() || null,
        hook_api_version: form.hook_api_version.value,
        write_first: form.write_first.checked,
        strict: form.strict.checked,
        allowed_accounts: form.allowed_accounts.value.split(",").map((id) => id.trim()).filter(Boolean),
      };
      say(output, "saving…");
      try {
        const saved = await send("PATCH", `/channels/${encodeURIComponent(form.channel_id.value)}`, changes);
        say(output, `saved: ${saved.webhook_url ? "webhooks go to " + saved.webhook_url : "webhooks are recorded, not sent"}`);
        await load();
      } catch (error) {
        say(output, error.message, true);
      }
    });
  }

  // -- tabs -------------------------------------------------------------------------------

  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) {
        const active = other === tab;
        other.classList.toggle("active", active);
        other.setAttribute("aria-selected", String(active));
        byId(`panel-${other.dataset.tab}`).classList.toggle("active", active);
      }
      const url = new URL(window.location.href);
      url.searchParams.set("tab", tab.dataset.tab);
      history.replaceState(null, "", url);
    });
  }

  followTimeline();
})();
