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
  const token = new URLSearchParams(location.hash.slice(1)).get("t");
  let socket = null;
  let connected = "Connected.";

  function say(who, text) {
    const item = document.createElement("li");
    item.className = who === "you" ? "you" : "bot";
    const label = document.createElement("span");
    label.className = "who";
    label.textContent = who === "you" ? "You" : "Support";
    item.append(label, document.createTextNode(text));
    log.append(item);
    item.scrollIntoView({block: "end"});
  }
  function ready(on) { box.disabled = button.disabled = !on; if (on) box.focus(); }
  function trouble(text) { problem.textContent = text; problem.hidden = !text; }

  function connect() {
    if (!token) { status.textContent = "This page needs the chat link you were sent."; return; }
    const url = new URL("ws", location.href);
    url.protocol = location.protocol === "https:" ? "wss:" : "ws:";
    url.hash = "";
    socket = new WebSocket(url);
    socket.onopen = () => socket.send(JSON.stringify({type: "hello", token: token}));
    socket.onmessage = (event) => {
      const msg = JSON.parse(event.data);
      if (msg.type === "ready") {
        connected = msg.name ? `Connected as ${msg.name}.` : "Connected.";
        status.textContent = connected;
        for (const line of msg.history || []) say(line.from, line.text);
        ready(true);
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
      if (event.code === 4401) status.textContent = "This chat link does not work (any more).";
      else if (event.code !== 1000) status.textContent = "The connection was lost. Reload the page to continue.";
    };
  }

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (!text || !socket || socket.readyState !== WebSocket.OPEN) return;
    socket.send(JSON.stringify({type: "message", text: text}));
    say("you", text);
    log.setAttribute("aria-busy", "true");
    status.textContent = "Waiting for the answer…";
    box.value = "";
  });
  box.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
  });
  connect();
})();
