// The buyer side of the console, a Wangwang-style chat window on a desktop or a phone.
// Each event gets its id here, so when the connection drops the page resends the same id and
// the bot answers it once; on (re)load the conversation is read back from the server, so
// nothing is lost or shown twice. A poll brings agent replies and queue updates, and the
// 未读/已读 of the messages that went to a person (已读 only once a person has read them).
(function () {
  "use strict";
  const EMOTICONS = {
    "[微笑]": "🙂", "[害羞]": "😊", "[大笑]": "😄", "[偷笑]": "🤭", "[赞]": "👍", "[强]": "👍", "[OK]": "👌",
    "[好的]": "👌", "[耶]": "✌️", "[鼓掌]": "👏", "[抱拳]": "🙏", "[握手]": "🤝", "[玫瑰]": "🌹", "[爱心]": "❤️",
    "[礼物]": "🎁", "[流泪]": "😢", "[委屈]": "🥺", "[尴尬]": "😅", "[疑问]": "❓", "[发怒]": "😠", "[再见]": "👋",
    "[弱]": "👎", "[心碎]": "💔", "[咖啡]": "☕",
  };
  // The picker offers these; the others are only shown when someone sends them.
  const PICKER = ["[微笑]", "[害羞]", "[大笑]", "[偷笑]", "[赞]", "[OK]", "[耶]", "[鼓掌]", "[抱拳]", "[握手]",
    "[玫瑰]", "[爱心]", "[礼物]", "[流泪]", "[委屈]", "[尴尬]", "[疑问]", "[发怒]", "[再见]", "[咖啡]"];
  const RETRY_DELAYS_MS = [500, 1000, 2000, 4000, 4000, 8000];
  const POLL_MS = 1500; // agent replies, queue updates and read receipts arrive between messages
  const SERVICE_EVERY = 3; // polls between two looks at who can help (agents on duty, queue)
  const EMOJI_ONLY = /^(?:\p{Extended_Pictographic}\uFE0F?){1,3}$/u;
  // Which shop this window is (?shop=<id>; the server's default shop without one): every call
  // to the server names it, so the conversation, orders and products are that shop's.
  const SHOP = new URLSearchParams(location.search).get("shop") || "";
  const api = (url) => (SHOP ? url + (url.includes("?") ? "&" : "?") + "shop=" + encodeURIComponent(SHOP) : url);
  const TIME_GAP_MS = 5 * 60 * 1000; // a time line when this long passed since the last message
  const AVATAR_COLOURS = ["#4e8cff", "#21b07a", "#f5a623", "#9b6cf0", "#ef5b8a", "#17a2b8", "#7b8a9a", "#e8743b"];
  const $ = (id) => document.getElementById(id);
  const messages = $("messages");
  const buyerSelect = $("buyer");
  const text = $("text");
  const shown = new Set(); // ids of messages already on the page
  let lastSeen = 0; // the highest stored message number shown
  let lastAt = null; // when the last message shown was written (shop time)
  let epoch = 0; // bumped when the buyer changes: answers for the one before are dropped
  let clockOffset = 0; // shop clock minus this browser's clock
  let shopInfo = { name: "", products: [], service_hours: "" };
  let me = { id: "", nick: "", guest: true };
  let typingRow = null;
  let polls = 0;

  // --- words and times --------------------------------------------------------------------

  function render(t) {
    return String(t).replace(/\[[^\[\]]{1,6}\]/g, (code) => EMOTICONS[code] || code);
  }

  function el(tag, cls, content) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (content !== undefined) e.textContent = content;
    return e;
  }

  const shopNow = () => new Date(Date.now() + clockOffset);
  const parseShopTime = (iso) => (iso ? new Date(iso) : shopNow()); // both naive shop times

  function pad(n) { return String(n).padStart(2, "0"); }

  function timeLabel(at) {
    const now = shopNow();
    const hm = pad(at.getHours()) + ":" + pad(at.getMinutes());
    const day = (d) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
    const days = Math.round((day(now) - day(at)) / 86400000);
    if (days === 0) return hm;
    if (days === 1) return "昨天 " + hm;
    if (at.getFullYear() === now.getFullYear()) return (at.getMonth() + 1) + "月" + at.getDate() + "日 " + hm;
    return at.getFullYear() + "年" + (at.getMonth() + 1) + "月" + at.getDate() + "日 " + hm;
  }

  // --- avatars ----------------------------------------------------------------------------

  function hash(s) {
    let h = 0;
    for (const ch of s) h = (h * 31 + ch.codePointAt(0)) >>> 0;
    return h;
  }

  // A person's avatar: a character of their name in a circle of their own colour.
  function personAvatar(name, cls) {
    const chars = Array.from(name || "客");
    const last = chars[chars.length - 1];
    const glyph = /[\u4e00-\u9fff]/.test(last) ? last : chars[0];
    const a = el("span", "avatar " + (cls || ""), glyph);
    a.style.background = AVATAR_COLOURS[hash(name || "") % AVATAR_COLOURS.length];
    a.setAttribute("aria-hidden", "true");
    return a;
  }

  function shopAvatar() {
    const a = el("span", "avatar shop", "店");
    a.setAttribute("aria-hidden", "true");
    return a;
  }

  // --- cards ------------------------------------------------------------------------------

  function picture(src, cls, size) {
    const img = el("img", cls);
    img.src = src;
    img.alt = "";
    img.width = size;
    img.height = size;
    img.loading = "lazy";
    return img;
  }

  function productCard(p) {
    const card = el("div", "card product-card");
    if (p.missing) { card.append(el("div", "card-missing", "这件宝贝已下架")); return card; }
    card.append(picture(p.image, "pic", 72));
    const info = el("div", "info");
    info.append(el("div", "title", p.title), el("div", "sub", p.category), el("div", "price", "¥" + p.price));
    card.append(info);
    return card;
  }

  function orderCard(o) {
    const card = el("div", "card order-card");
    if (o.missing) { card.append(el("div", "card-missing", "订单 尾号" + o.tail + "（查不到这个订单）")); return card; }
    const head = el("div", "order-head");
    head.append(el("span", "order-no", "订单号 " + o.id), el("span", "state s-" + o.status, o.state));
    card.append(head);
    for (const item of o.items) {
      const row = el("div", "item");
      row.append(picture(item.image, "pic", 48));
      const info = el("div", "info");
      info.append(el("div", "title", item.title), el("div", "spec", item.spec + " ×" + item.quantity));
      row.append(info, el("div", "item-price", "¥" + item.price));
      card.append(row);
    }
    const foot = el("div", "order-foot");
    foot.append(el("span", "date", o.date + "下单"));
    const sum = el("span", "sum", "共" + o.count + "件 合计 ");
    sum.append(el("b", "", "¥" + o.amount));
    if (o.freight && o.freight !== "0") sum.append(el("small", "", "（含运费¥" + o.freight + "）"));
    foot.append(sum);
    card.append(foot);
    return card;
  }

  function cardFor(card) {
    return card.type === "order" ? orderCard(card) : productCard(card);
  }

  // --- the conversation -------------------------------------------------------------------

  function keepTypingLast() {
    if (typingRow) messages.appendChild(typingRow);
  }

  function scrollDown() {
    messages.scrollTop = messages.scrollHeight;
  }

  function timeLine(at) {
    if (lastAt === null || at - lastAt > TIME_GAP_MS) messages.appendChild(el("div", "time-line", timeLabel(at)));
    lastAt = lastAt === null || at > lastAt ? at : lastAt;
  }

  function system(t) {
    const row = el("div", "msg system");
    row.append(el("div", "bubble", t));
    messages.appendChild(row);
    keepTypingLast();
    scrollDown();
    return row;
  }

  // One message: {id, sender: buyer|bot|agent, text, kind, at, card, agent}.
  function add(m) {
    if (m.id) {
      if (shown.has(m.id)) return null;
      shown.add(m.id);
    }
    if (m.kind === "enter_shop") return null;
    timeLine(parseShopTime(m.at));
    const mine = m.sender === "buyer";
    const row = el("div", "msg " + (mine ? "buyer" : "bot") + (m.sender === "agent" ? " agent" : ""));
    if (m.id) row.dataset.id = m.id;
    const col = el("div", "col");
    if (!mine) {
      const name = el("div", "name");
      if (m.sender === "agent") {
        name.append(el("span", "", m.agent || "客服"), el("span", "meta", "人工客服"));
      } else {
        name.append(el("span", "", "店小二"), el("span", "tag", "智能客服"));
      }
      col.append(name);
    }
    const line = el("div", "line");
    const shownText = m.card ? "" : render(m.text);
    const body = m.card ? cardFor(m.card) : el("div", "bubble", shownText);
    if (m.card) body.classList.add("bubble-card");
    else if (EMOJI_ONLY.test(shownText.trim())) body.classList.add("emoji-only"); // 👍 big, without a bubble
    line.append(body);
    if (mine) line.prepend(el("span", "receipt"));
    col.append(line);
    if (mine) row.append(col, personAvatar(me.nick, "me"));
    else row.append(m.sender === "agent" ? personAvatar(m.agent || "客服", "agent") : shopAvatar(), col);
    messages.appendChild(row);
    keepTypingLast();
    scrollDown();
    return row;
  }

  function setReceipt(row, state) {
    const r = row && row.querySelector(".receipt");
    if (!r) return;
    const label = { sending: "发送中", resending: "重发中…", failed: "未送达", unread: "未读", read: "已读", none: "" }[state];
    r.textContent = label;
    r.className = "receipt r-" + state;
  }

  function applyReceipts(receipts) {
    for (const [id, state] of Object.entries(receipts || {})) {
      const row = messages.querySelector('.msg.buyer[data-id="' + CSS.escape(id) + '"]');
      if (row) setReceipt(row, state);
    }
  }

  // A stored message (from a reply, the history or a poll): shown once, whatever the route.
  function showStored(m) {
    lastSeen = Math.max(lastSeen, m.n || 0);
    return add(m);
  }

  function typing(on) {
    if (on && !typingRow) {
      typingRow = el("div", "msg bot typing");
      const col = el("div", "col");
      const line = el("div", "line");
      const bubble = el("div", "bubble");
      bubble.setAttribute("aria-label", "店小二正在输入");
      bubble.append(el("i"), el("i"), el("i"));
      line.append(bubble);
      col.append(line);
      typingRow.append(shopAvatar(), col);
      messages.appendChild(typingRow);
      scrollDown();
    } else if (!on && typingRow) {
      typingRow.remove();
      typingRow = null;
    }
  }

  // --- sending ----------------------------------------------------------------------------

  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

  async function post(url, body) {
    return fetch(api(url), { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }

  const REFUSED = {
    400: "这条消息没能发出，请换个说法再试试",
    401: "登录状态过期了，请刷新页面",
    413: "消息太长了，请分几条发送",
    422: "这条消息没能发出，请换个说法再试试",
  };

  let sending = 0;

  // Send one event; on a dropped connection or a server error, resend the same id.
  async function send(event, shownAs) {
    const id = crypto.randomUUID();
    const myEpoch = epoch;
    const row = add({ id, sender: "buyer", text: shownAs.text || "", card: shownAs.card, at: null });
    setReceipt(row, "sending");
    sending++;
    typing(true);
    try {
      for (let attempt = 0; ; attempt++) {
        let resp = null;
        try {
          resp = await post("/api/chat", { ...event, message_id: id });
        } catch (err) { /* network down: retry below */ }
        if (myEpoch !== epoch) return;
        if (resp && resp.status < 500) {
          const data = await resp.json().catch(() => ({}));
          if (!resp.ok) {
            setReceipt(row, "failed");
            system(REFUSED[resp.status] || "发送失败，请稍后再试");
            return;
          }
          // Answered by the bot: no receipt (no person read it); passed to a person: 未读.
          const toPerson = data.handled_by === "agent" && !(data.replies || []).length;
          setReceipt(row, toPerson ? "unread" : "none");
          for (const r of data.replies || []) {
            showStored({ id: r.id, n: parseInt(r.id.slice(1), 10), sender: "bot", text: r.text, at: null });
          }
          refreshService();
          return;
        }
        if (attempt >= RETRY_DELAYS_MS.length) {
          setReceipt(row, "failed");
          system("网络开小差了，请稍后重试");
          return;
        }
        setReceipt(row, "resending");
        await sleep(RETRY_DELAYS_MS[attempt]);
      }
    } finally {
      sending--;
      if (sending === 0) typing(false);
    }
  }

  function sendText(t) {
    t = t.trim();
    if (t) send({ type: "text", text: t }, { text: t });
  }

  function submit() {
    const t = text.value;
    text.value = "";
    autoGrow();
    updateSendButton();
    sendText(t);
  }

  function sendOrder(o) {
    send({ type: "order_card", order_id: o.id }, { card: o });
    closePanels();
  }

  function sendProduct(p) {
    send({ type: "product_card", sku: p.sku }, { card: p });
    closePanels();
  }

  // --- who can help ---------------------------------------------------------------------------

  async function refreshService() {
    const myEpoch = epoch;
    let s;
    try {
      s = await (await fetch(api("/api/service"))).json();
    } catch (err) { return; }
    if (myEpoch !== epoch || !s || s.agents_online === undefined) return;
    const presence = $("presence");
    presence.innerHTML = "";
    // Nobody on duty is said once, by the banner below.
    const person = s.handled_by === "agent" ? "人工客服接待中" : s.agents_online ? "人工客服在线" : "";
    presence.append(el("i", "dot on"), person ? "店小二在线 · " : "店小二在线");
    if (person) presence.append(el("i", "dot on"), person);
    const banner = $("service-banner");
    banner.innerHTML = "";
    banner.className = "banner";
    let shownBanner = true;
    if (s.handled_by === "queue" && s.queue && !s.queue.agents_on_duty) {
      banner.classList.add("offline");
      banner.append(el("b", "", "客服暂时不在线"),
        el("span", "", "已为您留言排队，第" + s.queue.position + "位，客服上线后按顺序第一时间回复您"),
        el("small", "", "人工服务时间 " + s.service_hours + " · 等待期间店小二先为您解答"));
    } else if (s.handled_by === "queue" && s.queue) {
      banner.classList.add("queue");
      banner.append(el("b", "", "正在为您转接人工客服"),
        el("span", "", "您排在第" + s.queue.position + "位，预计约" + s.queue.wait_minutes + "分钟，请稍候"));
    } else if (s.handled_by === "agent") {
      banner.classList.add("agent");
      banner.append(el("b", "", "人工客服" + (s.agent ? " " + s.agent : "") + " 正在为您服务"));
    } else if (!s.agents_online) {
      banner.classList.add("quiet");
      banner.append(el("span", "", "人工客服暂不在线，店小二随时为您解答"), el("small", "", "人工服务时间 " + s.service_hours));
    } else {
      shownBanner = false;
    }
    banner.hidden = !shownBanner;
  }

  // --- polling ----------------------------------------------------------------------------

  async function poll() {
    const myEpoch = epoch;
    try {
      const data = await (await fetch(api("/api/history?after=" + lastSeen))).json();
      if (myEpoch !== epoch) return;
      (data.messages || []).forEach(showStored);
      applyReceipts(data.receipts);
    } catch (err) { /* offline: the next poll catches up */ }
    if (++polls % SERVICE_EVERY === 0) refreshService();
  }

  // --- the pickers ------------------------------------------------------------------------

  const picker = $("picker");
  const phone = () => window.matchMedia("(max-width: 720px)").matches;

  function showTab(name) {
    for (const t of picker.querySelectorAll(".tab")) t.setAttribute("aria-selected", String(t.dataset.tab === name));
    for (const p of picker.querySelectorAll(".pane")) p.hidden = p.dataset.pane !== name;
  }

  function openPicker(name) {
    showTab(name);
    $("more-panel").hidden = true;
    $("more").setAttribute("aria-expanded", "false");
    if (phone()) {
      picker.classList.add("open");
      $("backdrop").hidden = false;
    }
  }

  function closePanels() {
    picker.classList.remove("open");
    $("backdrop").hidden = true;
    $("more-panel").hidden = true;
    $("emoticons").hidden = true;
    $("more").setAttribute("aria-expanded", "false");
  }

  function renderProducts() {
    const list = $("product-list");
    list.innerHTML = "";
    for (const p of shopInfo.products) {
      const li = el("li");
      li.append(picture(p.image, "pic", 64));
      const info = el("div", "info");
      info.append(el("div", "title", p.title), el("div", "price", "¥" + p.price));
      li.append(info, el("button", "send-card", "发送"));
      li.addEventListener("click", () => sendProduct(p));
      list.appendChild(li);
    }
  }

  function renderOrders(orders) {
    const list = $("order-list");
    list.innerHTML = "";
    for (const o of orders) {
      const li = el("li");
      const head = el("div", "order-head");
      head.append(el("span", "order-no", "尾号" + o.id.slice(-4) + " · " + o.date), el("span", "state s-" + o.status, o.state));
      const first = o.items[0];
      const row = el("div", "item");
      row.append(picture(first.image, "pic", 48));
      const info = el("div", "info");
      const more = o.items.length > 1 ? " 等" + o.items.length + "种" : "";
      info.append(el("div", "title", first.title + more), el("div", "spec", "共" + o.count + "件 合计 ¥" + o.amount));
      row.append(info, el("button", "send-card", "发送"));
      li.append(head, row);
      li.addEventListener("click", () => sendOrder(o));
      list.appendChild(li);
    }
    $("no-orders").hidden = orders.length > 0;
    $("order-count").textContent = orders.length ? String(orders.length) : "";
  }

  function renderEmoticons() {
    const box = $("emoticons");
    for (const code of PICKER) {
      const b = el("button", "", EMOTICONS[code]);
      b.type = "button";
      b.dataset.code = code;
      b.title = code.slice(1, -1);
      box.appendChild(b);
    }
  }

  // --- entering the shop ------------------------------------------------------------------

  function currentChoice() {
    return buyerSelect.value;
  }

  async function enter(buyerId) {
    epoch++;
    const myEpoch = epoch;
    typing(false);
    sending = 0;
    // null: whoever this browser was (a reload keeps the buyer); "": a visitor
    const asked = buyerId === null ? {} : buyerId ? { buyer_id: buyerId } : { guest: true };
    const session = await (await post("/api/session", asked)).json();
    if (myEpoch !== epoch) return;
    me = { id: session.buyer_id, nick: session.nick || "访客", guest: !!session.guest };
    if (me.guest) buyerSelect.options[0].textContent = me.nick;
    buyerSelect.value = me.guest ? "" : me.id;
    if (buyerSelect.value !== (me.guest ? "" : me.id)) { // a buyer the platform vouched for
      const opt = el("option", "", me.nick);
      opt.value = me.id;
      buyerSelect.appendChild(opt);
      buyerSelect.value = me.id;
    }
    messages.innerHTML = "";
    shown.clear();
    lastSeen = 0;
    lastAt = null;
    const data = await (await fetch(api("/api/history"))).json();
    if (myEpoch !== epoch) return;
    clockOffset = new Date(data.now).getTime() - Date.now();
    const intro = el("div", "intro");
    intro.append(el("b", "", shopInfo.name), el("span", "", "店小二为您服务 · 尺码、发货、售后都可以问"),
      el("span", "", "您好，" + me.nick));
    intro.id = "me";
    intro.dataset.nick = me.nick;
    messages.appendChild(intro);
    data.messages.forEach(showStored);
    applyReceipts(data.receipts);
    const orders = await (await fetch(api("/api/orders"))).json();
    if (myEpoch !== epoch) return;
    renderOrders(orders.orders);
    showTab(orders.orders.length ? "orders" : "products"); // a returning buyer asks about an order first
    refreshService();
  }

  // --- the composer -----------------------------------------------------------------------

  function autoGrow() {
    if (!phone()) { text.style.height = ""; return; }
    text.style.height = "auto";
    text.style.height = Math.min(text.scrollHeight, 110) + "px";
  }

  function updateSendButton() {
    document.body.classList.toggle("has-text", text.value.trim() !== "");
  }

  $("composer").addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  // Enter sends, Shift+Enter is a new line; never while an input method is composing (拼音).
  text.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.shiftKey || e.isComposing || e.keyCode === 229) return;
    e.preventDefault();
    submit();
  });
  text.addEventListener("input", () => { autoGrow(); updateSendButton(); });
  text.addEventListener("focus", () => { $("more-panel").hidden = true; $("emoticons").hidden = true; });

  $("emoticons").addEventListener("click", (e) => {
    const code = e.target.dataset && e.target.dataset.code;
    if (!code) return;
    send({ type: "emoticon", code }, { text: code });
    closePanels();
  });
  for (const id of ["emoji-toggle", "emoji-toggle-phone"]) {
    $(id).addEventListener("click", () => {
      const box = $("emoticons");
      const open = box.hidden;
      closePanels();
      box.hidden = !open;
      scrollDown();
    });
  }
  $("more").addEventListener("click", () => {
    const panel = $("more-panel");
    const open = panel.hidden;
    closePanels();
    panel.hidden = !open;
    $("more").setAttribute("aria-expanded", String(open));
    if (open) text.blur();
    scrollDown();
  });
  document.addEventListener("click", (e) => {
    const opener = e.target.closest("[data-open]");
    if (opener) { openPicker(opener.dataset.open); return; }
    const say = e.target.closest("[data-say]");
    if (say) { closePanels(); sendText(say.dataset.say); }
  });
  for (const tab of picker.querySelectorAll(".tab")) tab.addEventListener("click", () => showTab(tab.dataset.tab));
  buyerSelect.addEventListener("change", () => { closePanels(); enter(currentChoice()); });
  $("picker-close").addEventListener("click", closePanels);
  $("backdrop").addEventListener("click", closePanels);
  $("chips").addEventListener("click", (e) => {
    if (e.target.tagName === "BUTTON") sendText(e.target.textContent);
  });

  async function init() {
    const resp = await fetch(api("/api/store"));
    if (!resp.ok) throw new Error("shop " + resp.status);
    shopInfo = await resp.json();
    $("shop-name").textContent = shopInfo.name;
    document.title = shopInfo.name + " · 客服";
    // A visitor is a guest the server names (访客 and four digits, remembered by its cookie);
    // the demo buyers are offered only by a loopback demo.
    for (const b of [{ id: "", nick: "新访客" }, ...shopInfo.buyers]) {
      const opt = el("option", "", b.nick);
      opt.value = b.id;
      buyerSelect.appendChild(opt);
    }
    buyerSelect.closest(".who").hidden = shopInfo.buyers.length === 0; // no choice outside the demo
    // More than one shop on this server: the visitor picks the shop (a page per shop).
    const shopPicker = $("shop-picker");
    if (shopPicker && (shopInfo.shops || []).length > 1 && !shopPicker.options.length) {
      for (const s of shopInfo.shops) {
        const opt = el("option", "", s.name);
        opt.value = s.id;
        opt.selected = s.id === shopInfo.shop_id;
        shopPicker.appendChild(opt);
      }
      shopPicker.hidden = false;
      shopPicker.addEventListener("change", () => {
        location.search = "?shop=" + encodeURIComponent(shopPicker.value);
      });
    }
    renderProducts();
    renderEmoticons();
    await enter(null);
    setInterval(poll, POLL_MS);
    document.body.dataset.ready = "1";
  }

  // A shop that can't be reached yet (a network hiccup, a restart): say so and try again.
  async function start(attempt) {
    try {
      await init();
    } catch (err) {
      if (attempt === 0) system("网络开小差了，正在重新连接…");
      buyerSelect.innerHTML = "";
      $("product-list").innerHTML = "";
      $("emoticons").innerHTML = "";
      setTimeout(() => start(attempt + 1), Math.min(1000 * 2 ** attempt, 15000));
    }
  }
  start(0);
})();
