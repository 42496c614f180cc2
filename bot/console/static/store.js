// The buyer side of the console. Each event gets its id here, so when the connection drops
// the page resends the same id and the bot answers it once; on (re)load the conversation is
// read back from the server, so nothing is lost or shown twice.
(function () {
  const EMOTICONS = { "[微笑]": "🙂", "[玫瑰]": "🌹", "[抱拳]": "🙏", "[害羞]": "😊", "[爱心]": "❤️", "[赞]": "👍", "[流泪]": "😢" };
  const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 4000, 8000];
  const POLL_MS = 1500; // agent replies and queue updates arrive between the buyer's messages
  const $ = (id) => document.getElementById(id);
  const messages = $("messages");
  const buyerSelect = $("buyer");
  const shown = new Set(); // ids of messages already on the page
  let lastSeen = 0; // the highest stored message number shown

  function render(text) {
    return Object.entries(EMOTICONS).reduce((t, [code, emoji]) => t.split(code).join(emoji), text);
  }

  function add(role, text, meta, id) {
    if (id) {
      if (shown.has(id)) return null;
      shown.add(id);
    }
    const row = document.createElement("div");
    row.className = "msg " + role;
    if (id) row.dataset.id = id;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = render(text);
    row.appendChild(bubble);
    if (meta !== undefined) {
      const m = document.createElement("span");
      m.className = "meta";
      m.textContent = meta;
      role === "buyer" ? row.prepend(m) : row.appendChild(m);
    }
    messages.appendChild(row);
    messages.scrollTop = messages.scrollHeight;
    return row;
  }

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function post(url, body) {
    return fetch(url, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  // Send one event; on a dropped connection or a server error, resend the same id.
  async function send(event, label) {
    const id = crypto.randomUUID();
    const mine = add("buyer", label, "发送中", id);
    const status = mine.querySelector(".meta");
    const typing = add("bot typing", "店小二正在输入…");
    $("send").disabled = true;
    try {
      for (let attempt = 0; ; attempt++) {
        let resp = null;
        try {
          resp = await post("/api/chat", { ...event, message_id: id, buyer_nick: currentBuyer().nick });
        } catch (err) { /* network down: retry below */ }
        if (resp && resp.status < 500) {
          const data = await resp.json();
          status.textContent = resp.ok ? "已读" : "未送达";
          if (!resp.ok) { add("system", data.error || "发送失败，请稍后再试"); return; }
          data.replies.forEach((r) => showStored({ id: r.id, n: parseInt(r.id.slice(1), 10), sender: "bot", text: r.text }));
          return;
        }
        if (attempt >= RETRY_DELAYS_MS.length) { status.textContent = "未送达"; add("system", "网络开小差了，请稍后重试"); return; }
        status.textContent = "重发中…";
        await sleep(RETRY_DELAYS_MS[attempt]);
      }
    } finally {
      typing.remove();
      $("send").disabled = false;
    }
  }

  function currentBuyer() {
    const opt = buyerSelect.selectedOptions[0];
    return { id: opt.value, nick: opt.dataset.nick };
  }

  // A stored message (from a reply, the history or a poll): shown once, whatever the route.
  function showStored(m) {
    lastSeen = Math.max(lastSeen, m.n || 0);
    if (m.sender === "buyer") return add("buyer", m.text, "已读", m.id);
    return add("bot", m.text, m.sender === "agent" ? "人工客服" : undefined, m.id);
  }

  async function poll() {
    try {
      const data = await (await fetch("/api/history?after=" + lastSeen)).json();
      (data.messages || []).forEach(showStored);
    } catch (err) { /* offline: the next poll catches up */ }
  }

  async function enter(buyerId) {
    await post("/api/session", buyerId ? { buyer_id: buyerId } : {});
    messages.innerHTML = "";
    shown.clear();
    lastSeen = 0;
    const data = await (await fetch("/api/history")).json();
    data.messages.forEach(showStored);
    add("system", "您正在以 " + currentBuyer().nick + " 的身份咨询");
    const orders = await (await fetch("/api/orders")).json();
    const list = $("order-list");
    list.innerHTML = "";
    for (const o of orders.orders) {
      const li = document.createElement("li");
      li.textContent = o.label;
      li.addEventListener("click", () => send({ type: "order_card", order_id: o.id }, "[订单] " + o.label));
      list.appendChild(li);
    }
    $("orders").hidden = orders.orders.length === 0;
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    const t = $("text").value.trim();
    $("text").value = "";
    if (t) send({ type: "text", text: t }, t);
  });
  $("emoticons").addEventListener("click", (e) => {
    const code = e.target.dataset && e.target.dataset.code;
    if (code) send({ type: "emoticon", code }, code);
  });
  $("chips").addEventListener("click", (e) => {
    if (e.target.tagName === "BUTTON") send({ type: "text", text: e.target.textContent }, e.target.textContent);
  });

  async function init() {
    const info = await (await fetch("/api/store")).json();
    $("shop-name").textContent = info.name;
    document.title = info.name + " · 客服";
    // A visitor is a guest the server names (and remembers by its cookie); the demo buyers are
    // offered only by a loopback demo.
    for (const b of [{ id: "", nick: "新访客" }, ...info.buyers]) {
      const opt = document.createElement("option");
      opt.value = b.id; opt.dataset.nick = b.nick; opt.textContent = b.nick;
      buyerSelect.appendChild(opt);
    }
    buyerSelect.addEventListener("change", () => enter(currentBuyer().id));
    for (const p of info.products) {
      const li = document.createElement("li");
      li.innerHTML = '<span class="title"></span><span class="price"></span>';
      li.querySelector(".title").textContent = p.title;
      li.querySelector(".price").textContent = "¥" + p.price;
      li.addEventListener("click", () => send({ type: "product_card", sku: p.sku }, "[商品] " + p.title));
      $("product-list").appendChild(li);
    }
    await enter(currentBuyer().id);
    setInterval(poll, POLL_MS);
    document.body.dataset.ready = "1";
  }
  init();
})();
