// The buyer side of the console: sends each message with its own id (so a retry is
// recognised by the bot) and shows the bot's replies.
(function () {
  const EMOTICONS = { "[微笑]": "🙂", "[玫瑰]": "🌹", "[抱拳]": "🙏", "[害羞]": "😊", "[爱心]": "❤️" };
  const $ = (id) => document.getElementById(id);
  const messages = $("messages");
  const buyerSelect = $("buyer");

  function render(text) {
    return Object.entries(EMOTICONS).reduce((t, [code, emoji]) => t.split(code).join(emoji), text);
  }

  function add(role, text, meta) {
    const row = document.createElement("div");
    row.className = "msg " + role;
    const bubble = document.createElement("div");
    bubble.className = "bubble";
    bubble.textContent = render(text);
    row.appendChild(bubble);
    if (meta) {
      const m = document.createElement("span");
      m.className = "meta";
      m.textContent = meta;
      role === "buyer" ? row.prepend(m) : row.appendChild(m);
    }
    messages.appendChild(row);
    messages.scrollTop = messages.scrollHeight;
    return row;
  }

  function currentBuyer() {
    const opt = buyerSelect.selectedOptions[0];
    return { id: opt.value, nick: opt.dataset.nick };
  }

  async function send(text) {
    text = text.trim();
    if (!text) return;
    const buyer = currentBuyer();
    const mine = add("buyer", text, "发送中");
    const typing = add("bot typing", "店小二正在输入…");
    $("send").disabled = true;
    const body = { message_id: crypto.randomUUID(), buyer_id: buyer.id, buyer_nick: buyer.nick, text };
    try {
      const resp = await fetch("/api/chat", { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
      const data = await resp.json();
      typing.remove();
      mine.querySelector(".meta").textContent = resp.ok ? "已读" : "未送达";
      if (!resp.ok) { add("system", data.error || "发送失败，请稍后再试"); return; }
      for (const reply of data.replies) add("bot", reply.text);
    } catch (err) {
      typing.remove();
      mine.querySelector(".meta").textContent = "未送达";
      add("system", "网络开小差了，请稍后重试");
    } finally {
      $("send").disabled = false;
    }
  }

  $("composer").addEventListener("submit", (e) => { e.preventDefault(); const t = $("text").value; $("text").value = ""; send(t); });
  $("chips").addEventListener("click", (e) => { if (e.target.tagName === "BUTTON") send(e.target.textContent); });

  async function init() {
    const info = await (await fetch("/api/store")).json();
    $("shop-name").textContent = info.name;
    document.title = info.name + " · 客服";
    const guest = "guest_" + (localStorage.getItem("xiaoer_guest") || Math.random().toString(36).slice(2, 10));
    localStorage.setItem("xiaoer_guest", guest.slice(6));
    for (const b of [{ id: guest, nick: "新访客" }, ...info.buyers]) {
      const opt = document.createElement("option");
      opt.value = b.id; opt.dataset.nick = b.nick; opt.textContent = b.nick;
      buyerSelect.appendChild(opt);
    }
    buyerSelect.addEventListener("change", () => { messages.innerHTML = ""; add("system", "已切换为 " + currentBuyer().nick); });
    for (const p of info.products) {
      const li = document.createElement("li");
      li.innerHTML = '<span class="title"></span><span class="price"></span>';
      li.querySelector(".title").textContent = p.title;
      li.querySelector(".price").textContent = "¥" + p.price;
      li.addEventListener("click", () => send("这款" + p.title + "怎么样"));
      $("product-list").appendChild(li);
    }
    add("system", "您正在与 " + info.name + " 的客服聊天");
  }
  init();
})();
