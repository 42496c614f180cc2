// The agent workbench: one websocket carries the agent's state, each buyer message with its
// suggested replies, and the agent's commands (send, take over, give back, status, mode).
(function () {
  const $ = (id) => document.getElementById(id);
  const SENDER = { buyer: "买家", bot: "店小二", agent: "我" };
  let ws = null;
  let openId = null; // the conversation on screen
  const unread = new Set();

  function connect() {
    ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws.onmessage = (e) => receive(JSON.parse(e.data));
    ws.onclose = () => setTimeout(connect, 1000); // reconnect; the server resends the state
  }

  function command(payload) { ws.send(JSON.stringify(payload)); }

  function receive(data) {
    if (data.type === "state") return showState(data);
    if (data.type === "conversation") return showConversation(data);
    if (data.type === "buyer_message") {
      if (data.conversation_id === openId) {
        addMessage(data.message);
        // In the peak the bot answered a bot-safe question for the agent: show its answer.
        (data.bot_replies || []).forEach(addMessage);
        showSuggestions(data.suggestions);
      } else {
        unread.add(data.conversation_id);
        markUnread();
      }
      return;
    }
    if (data.type === "sent") { addMessage(data.message); $("reply").value = ""; return; }
    if (data.type === "phrases") return showPhrases(data.results);
    if (data.type === "error") alert(data.error);
  }

  function showState(s) {
    $("me").textContent = s.agent.name;
    $("status").value = s.agent.status;
    $("mode").value = s.mode;
    // Pages show what the role may do: the mode is the supervisor's, retraining the trainer's.
    $("mode").parentElement.hidden = s.agent.role !== "supervisor";
    $("trainer-link").hidden = s.agent.role === "agent";
    $("peak-link").hidden = s.agent.role !== "supervisor";
    const peak = s.peak || { on: false, why: "" };
    $("peak-badge").hidden = !peak.on;
    $("peak-badge").title = peak.why || "";
    $("load").textContent = s.agent.load + " / " + s.agent.max;
    $("queue-size").textContent = s.queue;
    fillList($("mine"), s.mine);
    fillList($("with-bot"), s.with_bot);
    markUnread();
    document.body.dataset.ready = "1";
  }

  function fillList(ul, rows) {
    ul.innerHTML = "";
    for (const c of rows) {
      const li = document.createElement("li");
      li.dataset.id = c.id;
      if (c.id === openId) li.classList.add("active");
      const who = document.createElement("span");
      who.className = "who";
      who.textContent = c.buyer;
      const last = document.createElement("span");
      last.className = "last";
      last.textContent = c.last;
      li.append(who, last);
      li.addEventListener("click", () => { unread.delete(c.id); command({ type: "open", conversation_id: c.id }); });
      ul.appendChild(li);
    }
  }

  function markUnread() {
    document.querySelectorAll("#mine li").forEach((li) => li.classList.toggle("unread", unread.has(Number(li.dataset.id))));
  }

  function addMessage(m) {
    const row = document.createElement("div");
    row.className = "msg " + m.sender;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = m.text;
    const meta = document.createElement("span");
    meta.className = "meta";
    meta.textContent = SENDER[m.sender] + " " + m.time;
    m.sender === "buyer" ? row.append(bubble, meta) : row.append(meta, bubble);
    $("messages").appendChild(row);
    $("messages").scrollTop = $("messages").scrollHeight;
  }

  function showConversation(c) {
    openId = c.id;
    document.querySelectorAll(".list li").forEach((li) => li.classList.toggle("active", Number(li.dataset.id) === c.id));
    $("chat-head").textContent = "会话 #" + c.id + (c.mine ? "" : "（机器人接待中）");
    $("messages").innerHTML = "";
    c.messages.forEach(addMessage);
    showSuggestions(c.mine ? c.suggestions : []);
    $("take").hidden = c.mine;
    $("give-back").hidden = !c.mine;
    const s = c.summary;
    $("summary").innerHTML = "";
    for (const [k, v] of [["转人工原因", s.reason], ["意图", (s.intents || []).join(" → ")], ["买家最后说", s.last_buyer_message],
                          ["机器人说过", (s.bot_said || []).join(" / ")], ["订单", s.order_id]]) {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = v || "—";
      $("summary").append(dt, dd);
    }
    fill($("orders"), c.orders.map((o) => o.label + " ¥" + o.total + (o.note ? "（备注：" + o.note + "）" : "")));
    fill($("tickets"), c.tickets.map((t) => t.number + " " + t.reason + " · " + t.status + " · 截止 " + t.due));
  }

  function fill(ul, lines) {
    ul.innerHTML = "";
    for (const line of lines.length ? lines : ["—"]) { const li = document.createElement("li"); li.textContent = line; ul.appendChild(li); }
  }

  function showSuggestions(list) {
    const box = $("suggestions");
    box.innerHTML = "";
    for (const s of list || []) {
      const row = document.createElement("div");
      row.className = "suggestion";
      const use = document.createElement("button");
      use.type = "button";
      use.className = "use";
      use.textContent = s.text;
      const why = document.createElement("small");
      why.textContent = s.intent + " " + Math.round(s.confidence * 100) + "%";
      use.appendChild(why);
      use.addEventListener("click", () => send(s.text, s, false));
      const edit = document.createElement("button");
      edit.type = "button";
      edit.className = "edit";
      edit.title = "修改后发送";
      edit.textContent = "✎";
      edit.addEventListener("click", () => { $("reply").value = s.text; $("reply").dataset.phrase = JSON.stringify(s); $("reply").focus(); });
      row.append(use, edit);
      box.appendChild(row);
    }
  }

  function send(text, suggestion, edited) {
    if (!openId || !text.trim()) return;
    command({ type: "send", conversation_id: openId, text, phrase_id: suggestion && suggestion.phrase_id,
              intent: suggestion && suggestion.intent, edited });
  }

  function showPhrases(results) {
    const ul = $("phrases");
    ul.innerHTML = "";
    for (const p of results) {
      const li = document.createElement("li");
      li.textContent = "【" + p.category + "】" + p.title + "：" + p.text;
      li.addEventListener("click", () => { $("reply").value = p.text; $("reply").dataset.phrase = JSON.stringify({ phrase_id: p.id }); });
      ul.appendChild(li);
    }
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("reply").value;
    const chosen = $("reply").dataset.phrase ? JSON.parse($("reply").dataset.phrase) : null;
    delete $("reply").dataset.phrase;
    send(text, chosen, true); // typed or edited by the agent: a label for the trainers
  });
  $("take").addEventListener("click", () => command({ type: "take_over", conversation_id: openId }));
  $("give-back").addEventListener("click", () => { command({ type: "give_back", conversation_id: openId }); $("give-back").hidden = true; });
  $("status").addEventListener("change", (e) => command({ type: "status", status: e.target.value }));
  $("mode").addEventListener("change", (e) => command({ type: "mode", mode: e.target.value }));
  $("search").addEventListener("input", (e) => command({ type: "search", q: e.target.value, conversation_id: openId }));
  $("logout").addEventListener("click", async () => { await fetch("/api/logout", { method: "POST" }); location.href = "/login"; });
  connect();
})();
