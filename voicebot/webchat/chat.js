// The web chat page: presents the signed link from the address's fragment (never sent to the
// server as part of a request), then one message per line the customer writes.
"use strict";
(function () {
  const log = document.getElementById("log");
  const status = document.getElementById("status");
  const problem = document.getElementById("problem");
  const form = document.getElementById("send");
  const box = document.getElementById("message");
  const button = document.getElementById("button");
  const start = document.getElementById("start");
  // A link opens the chat once; the session it is exchanged for is kept here for reloads.
  const KEPT = "voicebot-chat-session";
  let token = new URLSearchParams(location.hash.slice(1)).get("t");
  let socket = null;
  function kept() {
    try {
      const s = JSON.parse(localStorage.getItem(KEPT) || "null");
      return s && s.token && s.expires * 1000 > Date.now() ? s.token : null;
    } catch (e) { return null; }
  }
  function keep(session, expires) {
    try {
      if (session) localStorage.setItem(KEPT, JSON.stringify({token: session, expires: expires}));
      else localStorage.removeItem(KEPT);
    } catch (e) { /* storage off: a reload needs a new link */ }
  }
  let connected = "Connected.";

  // who: you, bot, agent (a support person who stepped in: their name), notice (someone joined or left)
  function say(who, text, agent) {
    const item = document.createElement("li");
    item.className = who === "you" ? "you" : who === "agent" ? "agent" : who === "notice" ? "notice" : "bot";
    if (who !== "notice") {
      const label = document.createElement("span");
      label.className = "who";
      label.textContent = who === "you" ? "You" : who === "agent" ? `${agent || "Agent"} (support agent)` : "Support";
      item.append(label);
    }
    item.append(document.createTextNode(text));
    log.append(item);
    item.scrollIntoView({block: "end"});
  }
  function joined(agent) { return `${agent} from our support team has joined the chat.`; }
  function left(agent) { return `${agent} has left the chat; the assistant answers again.`; }
  function ready(on) { box.disabled = button.disabled = !on; if (on) box.focus(); }
  function trouble(text) { problem.textContent = text; problem.hidden = !text; }

  function connect() {
    const session = kept();
    if (!token && !session) { status.textContent = "This page needs the chat link you were sent."; return; }
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    socket = new WebSocket(url);
    const hello = {type: "hello"};
    if (token) hello.token = token;
    if (session) hello.session = session;
    socket.onopen = () => socket.send(JSON.stringify(hello));
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "ready") {
        keep(msg.session, msg.session_expires_at);
        if (token) {  // used: the link leaves the address bar and the history entry
          token = null;
          history.replaceState(null, "", location.pathname + location.search);
        }
        connected = msg.name ? `Connected as ${msg.name}.` : "Connected.";
        status.textContent = connected;
        for (const line of msg.history || []) {
          if (line.from === "notice") say("notice", line.text.endsWith(" left") ? left(line.agent) : joined(line.agent));
          else say(line.from, line.text, line.agent);
        }
        if (msg.agent) status.textContent = `${msg.agent} (support agent) is with you.`;
        ready(true);
      } else if (msg.type === "agent_joined") {
        log.removeAttribute("aria-busy");
        say("notice", joined(msg.agent));
        status.textContent = `${msg.agent} (support agent) is with you.`;
      } else if (msg.type === "agent") {
        log.removeAttribute("aria-busy");
        say("agent", msg.text, msg.agent);
      } else if (msg.type === "agent_left") {
        say("notice", left(msg.agent));
        status.textContent = connected;
      } else if (msg.type === "ended") {
        say("notice", msg.message);
        status.textContent = "The conversation has ended.";
        ready(false);
      } else if (msg.type === "reply") {
        trouble("");
        log.removeAttribute("aria-busy");
        status.textContent = connected;
        say("bot", msg.text);
        if (msg.end) { status.textContent = "The conversation has ended."; ready(false); }
      } else if (msg.type === "error") {
        log.removeAttribute("aria-busy");
        status.textContent = connected;
        trouble(msg.message);
      }
    };
    socket.onclose = (event) => {
      ready(false);
      if (event.code === 4401) {
        keep(null);
        if (!problem.textContent) status.textContent = "This chat link does not work (any more).";
        else status.textContent = "";
      }
      else if (event.code !== 1000) status.textContent = "The connection was lost. Reload the page to continue.";
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({type: "message", text: text}));
    say("you", text);
    if (!status.textContent.includes("support agent")) {  // an agent answers when they answer
      log.setAttribute("aria-busy", "true");
      status.textContent = "Waiting for the answer…";
    }
    box.value = "";
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  // A fresh link waits for a click: a mail scanner that opens links does not use it up.
  if (token && !kept()) {
    status.textContent = "Ready when you are.";
    start.hidden = false;
    start.addEventListener("click", () => { start.hidden = true; status.textContent = "Connecting…"; connect(); });
    start.focus();
  } else {
    connect();
  }
})();
