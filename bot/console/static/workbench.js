// The agent workbench: one websocket carries the agent's state (their buyers, the queue, the
// buyers the bot serves), each buyer message with its suggested replies, and the agent's
// commands (send, take over, give back, transfer, notes, tags, states, history, status, mode).
// Every refusal is shown inline, in Chinese; nothing here uses alert().
(function () {
  "use strict";
  const $ = (id) => document.getElementById(id);
  // Wangwang's emoticons as the buyer sees them.
  const EMOTICONS = {
    "[微笑]": "🙂", "[玫瑰]": "🌹", "[抱拳]": "🙏", "[赞]": "👍", "[OK]": "👌", "[ok]": "👌", "[害羞]": "😊",
    "[爱心]": "❤️", "[心]": "❤️", "[流泪]": "😢", "[大哭]": "😭", "[哈哈]": "😄", "[大笑]": "😄", "[呲牙]": "😁",
    "[偷笑]": "🤭", "[可爱]": "😋", "[调皮]": "😜", "[耶]": "✌️", "[胜利]": "✌️", "[握手]": "🤝", "[鼓掌]": "👏",
    "[好的]": "👌", "[谢谢]": "🙏", "[疑问]": "❓", "[发怒]": "😠", "[生气]": "😠", "[委屈]": "🥺", "[难过]": "😞",
    "[惊讶]": "😮", "[晕]": "😵", "[再见]": "👋", "[拜拜]": "👋", "[飞吻]": "😘", "[亲亲]": "😘", "[色]": "😍",
    "[花]": "🌸", "[礼物]": "🎁", "[蛋糕]": "🎂", "[太阳]": "☀️", "[月亮]": "🌙", "[咖啡]": "☕", "[强]": "👍",
    "[弱]": "👎", "[汗]": "😅", "[尴尬]": "😅", "[酷]": "😎", "[困]": "😪", "[睡觉]": "😴", "[加油]": "💪",
  };
  const PICKER = ["[微笑]", "[玫瑰]", "[抱拳]", "[赞]", "[OK]", "[害羞]", "[爱心]", "[哈哈]", "[握手]", "[鼓掌]", "[加油]", "[再见]"];
  const WHO = { buyer: "买家", bot: "店小二", agent: "客服", system: "系统" };

  const S = {
    ws: null, state: null, open: null, shown: new Set(), lastShown: 0, waits: new Map(),
    knownMine: null, suggestions: [], phrases: [], phraseIndex: 0, slash: null, sound: true, audio: null,
    fails: 0, reopenAsked: 0, historyQ: null, announced: new Set(),
  };

  // --- the connection ------------------------------------------------------------------------

  function connect() {
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    S.ws = ws;
    ws.onopen = () => { S.fails = 0; $("conn").hidden = true; };
    ws.onmessage = (e) => receive(JSON.parse(e.data));
    ws.onclose = async () => {
      $("conn").hidden = false;
      S.fails += 1;
      if (S.fails >= 3) {
        const resp = await fetch("/api/workbench/state").catch(() => null);
        if (resp && resp.status === 401) { location.href = "/login"; return; }
      }
      setTimeout(connect, Math.min(5000, 800 * S.fails)); // the server resends the state
    };
  }

  function command(payload) {
    if (!S.ws || S.ws.readyState !== WebSocket.OPEN) { showNotice("网络连接中断，正在重连，请稍后再试"); return false; }
    S.ws.send(JSON.stringify(payload));
    return true;
  }

  function receive(data) {
    switch (data.type) {
      case "state": return showState(data);
      case "conversation": return showConversation(data);
      case "buyer_message": return onBuyerMessage(data);
      case "more": return onMore(data);
      case "sent": return onSent(data);
      case "phrases": return showPhrases(data);
      case "history": return showHistory(data);
      case "colleagues": return showColleagues(data);
      case "notes": if (S.open && data.conversation_id === S.open.id) showNotes(data.notes); $("note-text").value = ""; return;
      case "tags": if (S.open && data.conversation_id === S.open.id) { S.open.tags = data.tags; showTags(); } return;
      case "incoming": return onIncoming(data);
      case "read": return;
      case "error": return onError(data);
    }
  }

  // --- text, emoticons and cards -----------------------------------------------------------------

  // Text with Wangwang emoticon codes as emoji (an unknown code reads as its word).
  function rich(text) {
    const frag = document.createDocumentFragment();
    const re = /\[([^\[\]\s]{1,4})\]/g;
    let at = 0, m;
    while ((m = re.exec(text))) {
      if (m.index > at) frag.append(text.slice(at, m.index));
      const emoji = EMOTICONS[m[0]];
      const span = document.createElement("span");
      span.className = emoji ? "emo" : "emo-word";
      span.textContent = emoji || m[1];
      if (!emoji) span.title = "表情";
      frag.append(span);
      at = m.index + m[0].length;
    }
    if (at < text.length) frag.append(text.slice(at));
    return frag;
  }

  function plain(text) { return text.replace(/\[([^\[\]\s]{1,4})\]/g, (code, word) => EMOTICONS[code] || word); }

  const SVG = "http://www.w3.org/2000/svg";
  function svgEl(name, attrs) {
    const el = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
    return el;
  }
  const SHAPES = {
    top: "M22 13 L29 11 Q32 16 35 11 L42 13 L53 22 L47 30 L43 27 L43 53 L21 53 L21 27 L17 30 L11 22 Z",
    shorts: "M18 16 L46 16 L50 48 L36 48 L32 30 L28 48 L14 48 Z",
    vest: "M24 11 L28 11 Q32 20 36 11 L40 11 Q41 22 46 25 L46 53 L18 53 L18 25 Q23 22 24 11 Z",
  };
  // A neat product picture when the shop has none: the garment's shape in its colour.
  function picture(category, swatch, size) {
    const colour = /^#[0-9a-f]{6}$/i.test(swatch || "") ? swatch : "#d8d8d8";
    const svg = svgEl("svg", { viewBox: "0 0 64 64", width: size, height: size, class: "pic", role: "img", "aria-label": category || "商品" });
    svg.append(svgEl("rect", { width: 64, height: 64, rx: 8, fill: "#f5f5f3" }));
    const shape = /短裤/.test(category || "") ? SHAPES.shorts : /背心/.test(category || "") ? SHAPES.vest : SHAPES.top;
    svg.append(svgEl("path", { d: shape, fill: colour, stroke: "rgba(0,0,0,.18)", "stroke-width": 1.2, "stroke-linejoin": "round" }));
    const dark = parseInt(colour.slice(1, 3), 16) * 0.3 + parseInt(colour.slice(3, 5), 16) * 0.59 + parseInt(colour.slice(5, 7), 16) * 0.11 < 140;
    const label = svgEl("text", { x: 32, y: 44, "text-anchor": "middle", "font-size": 8, fill: dark ? "#fff" : "#666" });
    label.textContent = (category || "").slice(0, 3);
    svg.append(label);
    return svg;
  }

  // The shop's picture of the product in that colour (the store's drawings), else our own.
  function productPic(sku, colour, category, swatch, size) {
    const fallback = picture(category, swatch, size);
    if (!sku) return fallback;
    const img = document.createElement("img");
    img.className = "pic";
    img.width = size;
    img.height = size;
    img.alt = "";
    img.src = "/products/" + encodeURIComponent(sku) + ".svg" + (colour ? "?color=" + encodeURIComponent(colour) : "");
    img.onerror = () => img.replaceWith(fallback);
    return img;
  }

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined && text !== null) e.textContent = text;
    return e;
  }

  function productCard(c) {
    const box = el("div", "pcard");
    if (c.missing) { box.append(el("div", "muted", "商品已下架或不存在")); return box; }
    box.append(productPic(c.sku, (c.colours || [])[0], c.category, c.swatch, 56));
    const info = el("div", "pinfo");
    info.append(el("div", "ptitle", c.title), el("div", "pprice", "¥" + c.price));
    info.append(el("div", "pmeta", [c.category, (c.colours || []).join(" / ")].filter(Boolean).join(" · ")));
    box.append(info);
    return box;
  }

  function orderCard(c) {
    const box = el("div", "ocard");
    if (c.missing || c.foreign) {
      box.append(el("div", "ohead", "订单 尾号" + c.tail));
      box.append(el("div", "muted", c.foreign ? "这不是该买家的订单，请核实" : "没有查到这个订单"));
      return box;
    }
    const head = el("div", "ohead");
    head.append(el("span", "", "订单 尾号" + c.tail), el("span", "ostate s-" + c.status, c.state));
    box.append(head);
    for (const it of c.items || []) {
      const row = el("div", "oitem");
      row.append(productPic(it.sku, it.colour, it.category, it.swatch, 36));
      const t = el("div", "oinfo");
      t.append(el("div", "otitle", it.title), el("div", "ospec", it.spec + " × " + it.quantity));
      row.append(t, el("div", "oprice", "¥" + it.price));
      box.append(row);
    }
    const foot = el("div", "ofoot");
    foot.append(el("span", "", "下单 " + c.created), el("span", "", "实付 "), el("b", "", "¥" + c.total));
    box.append(foot);
    box.append(el("div", "onum", "订单号 " + c.id));
    if (c.note) box.append(el("div", "onote", "备注：" + c.note));
    return box;
  }

  function imageCard(c) {
    const a = el("a", "icard");
    a.href = c.url; a.target = "_blank"; a.rel = "noopener noreferrer";
    const img = document.createElement("img");
    img.src = c.url; img.alt = "买家发来的图片"; img.loading = "lazy"; img.referrerPolicy = "no-referrer";
    img.onerror = () => { a.textContent = "🖼 图片（点击查看）"; };
    a.append(img);
    return a;
  }

  // --- the lists --------------------------------------------------------------------------------

  function hue(text) { let h = 0; for (const ch of text || "") h = (h * 31 + ch.codePointAt(0)) % 360; return h; }
  function avatar(node, name) {
    node.textContent = (name || "?").replace(/^访客/, "访").slice(0, 1);
    node.style.background = "hsl(" + hue(name) + ",55%,58%)";
  }

  function fmtWait(sec) {
    sec = Math.max(0, Math.floor(sec));
    if (sec < 60) return sec + "秒";
    if (sec < 3600) return Math.floor(sec / 60) + "分" + String(sec % 60).padStart(2, "0") + "秒";
    return Math.floor(sec / 3600) + "小时" + Math.floor((sec % 3600) / 60) + "分";
  }

  // When each buyer started waiting, on this page's clock (kept across pushes for the same message).
  function trackWait(key, seconds) {
    const start = Date.now() - seconds * 1000;
    const prev = S.waits.get(key);
    S.waits.set(key, prev && prev.start < start ? prev : { start });
  }

  function showState(s) {
    const first = S.state === null;
    S.state = s;
    const a = s.agent;
    $("me").textContent = a.name;
    $("me-role").textContent = a.role_label;
    avatar($("me-avatar"), a.name);
    $("status").value = a.status;
    $("status-pill").dataset.status = a.status;
    $("mode").value = s.mode;
    // Pages show what the role may do: the mode is the supervisor's, retraining the trainer's.
    $("mode").parentElement.hidden = a.role !== "supervisor";
    $("trainer-link").hidden = a.role === "agent";
    $("peak-link").hidden = a.role !== "supervisor";
    const peak = s.peak || { on: false, why: "" };
    $("peak-badge").hidden = !peak.on;
    $("peak-badge").title = peak.why || "";
    $("load").textContent = a.load + " / " + a.max;
    $("queue-size").textContent = s.queue;
    showOffline(a);

    const keep = new Set();
    for (const c of s.mine) if (c.wait_since_id) { trackWait("m" + c.id + ":" + c.wait_since_id, c.wait_seconds); keep.add("m" + c.id + ":" + c.wait_since_id); }
    for (const c of s.waiting) if (c.queued_seconds !== undefined) { trackWait("q" + c.id, c.queued_seconds); keep.add("q" + c.id); }
    for (const k of [...S.waits.keys()]) if (!keep.has(k)) S.waits.delete(k);

    fillList($("mine"), s.mine, "mine");
    fillList($("waiting"), s.waiting, "waiting");
    fillList($("with-bot"), s.with_bot, "bot");
    $("mine-count").textContent = s.mine.length;
    $("waiting-count").textContent = s.queue;
    $("mine-empty").hidden = s.mine.length > 0;
    $("waiting-empty").hidden = s.waiting.length > 0;
    $("with-bot-empty").hidden = s.with_bot.length > 0;
    tick();

    // A new buyer of mine: ring, and tell the desktop if the page is not in front.
    const ids = new Set(s.mine.map((c) => c.id));
    if (!first && S.knownMine) {
      const fresh = s.mine.filter((c) => !S.knownMine.has(c.id) && !S.announced.has(c.id));
      if (fresh.length) alertAgent("新买家：" + fresh.map((c) => c.buyer).join("、"), fresh[0].last || "有新的买家需要接待");
    }
    S.knownMine = ids;

    // The conversation on screen: fetch what was said meanwhile; reread it if it changed hands.
    if (S.open && !S.open.history) {
      const row = [...s.mine, ...s.waiting, ...s.with_bot].find((c) => c.id === S.open.id);
      if (row && row.last_id > S.lastShown) command({ type: "more", conversation_id: S.open.id, after: S.lastShown });
      const nowMine = s.mine.some((c) => c.id === S.open.id);
      if (nowMine !== S.open.mine && S.reopenAsked !== S.open.id + ":" + nowMine) {
        S.reopenAsked = S.open.id + ":" + nowMine;
        command({ type: "open", conversation_id: S.open.id });
      }
    }
    document.body.dataset.ready = "1";
  }

  function showOffline(a) {
    const banner = $("offline-banner");
    if (a.status === "online") { banner.hidden = true; return; }
    banner.hidden = false;
    banner.dataset.status = a.status;
    $("offline-title").textContent = "你现在是「" + a.status_label + "」状态";
    $("offline-text").textContent = a.status === "away"
      ? "不会分配新买家，机器人会先替你接待，转人工的买家会排队等候。"
      : "保留正在接待的买家，暂不分配新买家。";
  }

  // One buyer row of a list (avatar, name, time, preview); the caller adds its own chips.
  function convItem(id, buyer, time, preview, open) {
    const li = el("li", "conv");
    li.dataset.id = id;
    li.tabIndex = 0;
    const av = el("span", "avatar");
    avatar(av, buyer);
    const body = el("div", "conv-body");
    const l1 = el("div", "l1");
    l1.append(el("span", "who", buyer), el("span", "time", time));
    const l2 = el("div", "l2");
    const last = el("span", "last");
    last.textContent = plain(preview || "");
    l2.append(last);
    body.append(l1, l2);
    li.append(av, body);
    li.addEventListener("click", open);
    li.addEventListener("keydown", (e) => { if (e.key === "Enter") open(); });
    return { li, body, l2, l3: el("div", "l3") };
  }

  function fillList(ul, rows, section) {
    const focused = document.activeElement && ul.contains(document.activeElement) ? Number(document.activeElement.dataset.id) : null;
    ul.textContent = "";
    for (const c of rows) {
      const { li, body, l2, l3 } = convItem(c.id, c.buyer, c.last_time, c.last, () => openConversation(c.id));
      if (S.open && c.id === S.open.id) li.classList.add("active");
      if (c.unread > 0 && !(S.open && S.open.id === c.id && S.open.mine)) {
        l2.append(el("span", "badge unread-count", c.unread > 99 ? "99+" : String(c.unread)));
        li.classList.add("unread");
      }
      if (section === "mine" && c.wait_since_id) {
        const w = el("span", "wait");
        w.dataset.key = "m" + c.id + ":" + c.wait_since_id;
        l3.append(w);
      }
      if (section === "waiting" && c.queued_seconds !== undefined) {
        const w = el("span", "wait queued");
        w.dataset.key = "q" + c.id;
        l3.append(w);
        if (c.skill && c.skill !== c.reason) l3.append(el("span", "chip", "需" + c.skill));
      }
      if (c.reason && section !== "bot") l3.append(el("span", "chip reason", c.reason));
      if (c.state && c.state !== "open") l3.append(el("span", "chip state-" + c.state, c.state_label));
      for (const t of (c.tags || []).slice(0, 3)) l3.append(el("span", "chip tag", t));
      if (section === "bot" && c.agent) l3.append(el("span", "chip", c.agent));
      if (l3.childNodes.length) body.append(l3);
      if (c.transfer) {
        const t = el("div", "transfer-note");
        t.append(el("b", "", (c.transfer.from || "同事") + "转交："), document.createTextNode(c.transfer.note || "（没有写说明）"));
        body.append(t);
      }
      ul.appendChild(li);
    }
    if (focused) { const again = ul.querySelector('li[data-id="' + focused + '"]'); if (again) again.focus(); }
  }

  // Every second: the waiting timers, orange at half the response target, red near it.
  function tick() {
    const target = (S.state && S.state.target_seconds) || 30;
    document.querySelectorAll(".wait[data-key]").forEach((w) => {
      const t = S.waits.get(w.dataset.key);
      if (!t) { w.textContent = ""; return; }
      const sec = (Date.now() - t.start) / 1000;
      const queued = w.classList.contains("queued");
      w.textContent = (queued ? "排队 " : "等待 ") + fmtWait(sec);
      w.classList.toggle("warn", !queued && sec >= target * 0.5 && sec < target * 0.8);
      w.classList.toggle("late", !queued && sec >= target * 0.8);
    });
    const unread = S.state ? S.state.mine.reduce((n, c) => n + (S.open && S.open.id === c.id && S.open.mine ? 0 : c.unread), 0) : 0;
    document.title = (unread ? "(" + unread + ") " : "") + "客服工作台 · 店小二";
    $("nav-unread").hidden = !unread;
    $("nav-unread").textContent = unread > 99 ? "99+" : String(unread);
  }

  function openConversation(id) {
    command({ type: "open", conversation_id: id });
    setView("chat");
  }

  // --- one conversation ----------------------------------------------------------------------------

  function showConversation(c) {
    // A transfer went through when the conversation comes back no longer mine.
    if (S.awaitTransfer && !c.mine) { S.awaitTransfer = false; $("transfer-dialog").close(); }
    const same = S.open && S.open.id === c.id;
    const draft = same ? $("reply").value : "";
    S.open = c;
    $("composer").hidden = false;
    S.reopenAsked = c.id + ":" + c.mine;
    S.shown = new Set();
    S.lastShown = 0;
    $("empty-chat").hidden = true;
    document.querySelectorAll(".convs li").forEach((li) => li.classList.toggle("active", Number(li.dataset.id) === c.id && !c.history));
    const row = document.querySelector('#mine li[data-id="' + c.id + '"]');
    if (row && c.mine) { row.classList.remove("unread"); const b = row.querySelector(".unread-count"); if (b) b.remove(); }
    avatar($("chat-avatar"), c.buyer);
    $("chat-buyer").textContent = c.buyer;
    const sub = [c.history ? "历史会话" : c.mine ? "我在接待" : c.holder ? c.holder + "接待中" : c.handler_label];
    if (c.reason) sub.push("转人工原因：" + c.reason);
    sub.push("状态：" + c.state_label);
    $("chat-sub").textContent = sub.join(" · ");
    $("messages").textContent = "";
    c.messages.forEach((m) => addMessage(m, false));
    showSuggestions(c.mine ? c.suggestions : []);
    // What the agent can do here.
    $("take").hidden = !(c.can_take && !c.history);
    $("give-back").hidden = !c.mine;
    $("transfer").hidden = !c.mine;
    $("resolve").hidden = !c.mine;
    $("conv-state").hidden = !c.mine;
    $("conv-state").value = c.state === "waiting_buyer" ? "waiting_buyer" : "open";
    lockComposer(c);
    $("reply").value = c.mine ? draft : "";
    $("readonly-bar").hidden = !c.history;
    $("readonly-bar").textContent = c.history ? "历史会话（只读）· " + c.handler_label + (c.holder ? "（" + c.holder + "）" : "") : "";
    showSide(c);
    hideNotice();
    closePhrases();
    scrollToEnd();
    if (c.mine) tick();
  }

  function lockComposer(c) {
    const locked = !c.mine;
    $("reply").disabled = locked;
    $("send").disabled = locked;
    $("emoji-btn").disabled = locked;
    $("phrase-btn").disabled = locked;
    $("locked").hidden = !locked;
    $("composer").classList.toggle("is-locked", locked);
    if (!locked) return;
    let text;
    if (c.history) text = "这是历史会话，只能查看。";
    else if (c.handled_by === "agent") text = "这位买家正由" + (c.holder || "其他客服") + "接待" + (c.can_take ? "，主管可以接过来。" : "，你可以查看聊天记录。");
    else if (c.handled_by === "queue") text = "这位买家在排队等人工，机器人正在先回复。接管后才能回复。";
    else text = "这位买家正由机器人接待，接管后才能回复。";
    $("locked-text").textContent = text;
    $("locked-take").hidden = !(c.can_take && !c.history);
  }

  function nearBottom() { const m = $("messages"); return m.scrollHeight - m.scrollTop - m.clientHeight < 80; }
  function scrollToEnd() {
    const m = $("messages");
    S.pinned = true;
    m.scrollTop = m.scrollHeight;
    requestAnimationFrame(() => { m.scrollTop = m.scrollHeight; });
  }
  // The chat stays on its newest message while the agent has not scrolled up: when the window,
  // the suggestions or a picture change its size.
  S.pinned = true;
  $("messages").addEventListener("scroll", () => { S.pinned = nearBottom(); }, { passive: true });
  if (window.ResizeObserver) new ResizeObserver(() => { if (S.pinned) $("messages").scrollTop = $("messages").scrollHeight; }).observe($("messages"));
  $("messages").addEventListener("load", () => { if (S.pinned) $("messages").scrollTop = $("messages").scrollHeight; }, true);

  function addMessage(m, scroll = true) {
    if (S.shown.has(m.id)) return;
    S.shown.add(m.id);
    S.lastShown = Math.max(S.lastShown, m.id);
    const stick = nearBottom();
    let row;
    if (m.kind === "enter_shop") {
      row = el("div", "msg event", "买家进入了店铺 · " + m.time);
    } else if (m.kind === "notice") {
      row = el("div", "msg notice");
      const pill = el("div", "pill");
      pill.append(el("b", "", "系统消息 "), rich(m.text));
      row.append(pill);
    } else {
      row = el("div", "msg " + m.sender);
      const av = el("span", "avatar small");
      if (m.sender === "buyer") avatar(av, S.open ? S.open.buyer : "买");
      else { av.textContent = m.sender === "bot" ? "二" : "客"; av.classList.add(m.sender === "bot" ? "bot-av" : "agent-av"); }
      const stack = el("div", "stack");
      const meta = el("div", "meta", (m.sender === "buyer" ? (S.open ? S.open.buyer : "买家") : WHO[m.sender] || "") + " " + m.time);
      if (m.sender === "buyer" && m.read === false && S.open && !S.open.mine) meta.append(el("span", "unread-dot", " 未读"));
      const bubble = el("div", "bubble");
      if (m.card && m.card.type === "product") { bubble.classList.add("has-card"); bubble.append(productCard(m.card)); }
      else if (m.card && m.card.type === "order") { bubble.classList.add("has-card"); bubble.append(orderCard(m.card)); }
      else if (m.card && m.card.type === "image") { bubble.classList.add("has-card"); bubble.append(imageCard(m.card)); }
      else if (m.kind === "emoticon") { bubble.classList.add("big-emo"); bubble.append(rich(m.text)); }
      else bubble.append(rich(m.text));
      stack.append(meta, bubble);
      row.append(av, stack);
    }
    row.dataset.id = m.id;
    $("messages").appendChild(row);
    if (scroll && (stick || m.sender !== "buyer")) scrollToEnd();
    else if (!scroll) scrollToEnd();
  }

  function onBuyerMessage(d) {
    const isOpen = S.open && d.conversation_id === S.open.id && !S.open.history;
    if (isOpen) {
      addMessage(d.message);
      (d.bot_replies || []).forEach((m) => addMessage(m)); // in the peak the bot may have answered for the agent
      if (S.open.mine) showSuggestions(d.suggestions);
      if (S.open.mine && document.visibilityState === "visible") command({ type: "read", conversation_id: d.conversation_id });
    }
    if (!isOpen || document.hidden) alertAgent((d.buyer || "买家") + "发来新消息", describe(d.message));
  }

  function describe(m) {
    if (!m) return "";
    if (m.card) return { product: "[商品]", order: "[订单]", image: "[图片]" }[m.card.type] || "";
    return plain(m.text || "").slice(0, 60);
  }

  function onMore(d) {
    if (!S.open || d.conversation_id !== S.open.id) return;
    d.messages.forEach((m) => addMessage(m));
  }

  function onSent(d) {
    if (S.open && d.conversation_id === S.open.id) addMessage(d.message);
    $("reply").value = "";
    delete $("reply").dataset.phrase;
    showSuggestions([]); // they answered the buyer's last message
  }

  function onIncoming(d) {
    S.announced.add(d.conversation_id);
    alertAgent((d.from || "同事") + "转交给你：" + d.buyer, d.note || "没有写说明");
  }

  function onError(d) {
    if (d.login) { location.href = "/login"; return; }
    if ($("transfer-dialog").open && d.command === "transfer") { $("transfer-error").textContent = d.error; return; }
    showNotice(d.error || "操作没有成功，请再试一次");
    // The buyer is no longer this agent's (given back, transferred, went away): show what they can do now.
    if (S.open && ["send", "give_back", "transfer", "set_state"].includes(d.command)) command({ type: "open", conversation_id: S.open.id });
  }

  let noticeTimer = 0;
  function showNotice(text) {
    const n = $("notice");
    n.textContent = text;
    n.hidden = false;
    clearTimeout(noticeTimer);
    noticeTimer = setTimeout(hideNotice, 6000);
  }
  function hideNotice() { $("notice").hidden = true; }

  // --- suggestions and sending -------------------------------------------------------------------

  function showSuggestions(list) {
    S.suggestions = list || [];
    const box = $("suggestion-list");
    box.textContent = "";
    S.suggestions.forEach((s, i) => {
      const row = el("div", "suggestion");
      const use = el("button", "use");
      use.type = "button";
      use.title = plain(s.text) + "\n（点击直接发送，Alt+" + (i + 1) + "）";
      use.append(el("span", "n", String(i + 1)), rich(s.text));
      const why = el("small", "why", s.intent_label + (s.sure ? " · 把握" + s.sure : ""));
      use.appendChild(why);
      use.addEventListener("click", () => send(s.text, s, false));
      const edit = el("button", "edit", "✎");
      edit.type = "button";
      edit.title = "修改后发送";
      edit.addEventListener("click", () => { $("reply").value = s.text; $("reply").dataset.phrase = JSON.stringify(s); $("reply").focus(); });
      row.append(use, edit);
      box.appendChild(row);
    });
    $("suggestions").hidden = S.suggestions.length === 0;
    if (S.open) scrollToEnd(); // the box takes room from the chat: keep the newest messages in view
  }

  function send(text, suggestion, edited) {
    if (!S.open || !text.trim()) return;
    if (!S.open.mine) { lockComposer(S.open); showNotice("这位买家不在你的接待中，请先接管"); return; }
    command({ type: "send", conversation_id: S.open.id, text, phrase_id: suggestion && suggestion.phrase_id,
              intent: suggestion && suggestion.intent, edited });
  }

  function submitReply() {
    const text = $("reply").value;
    if (!text.trim()) return;
    const chosen = $("reply").dataset.phrase ? JSON.parse($("reply").dataset.phrase) : null;
    const edited = !(chosen && chosen.text === text); // typed or edited by the agent: a label for the trainers
    send(text, chosen, edited);
  }

  // --- quick phrases: "/" and a keyword -------------------------------------------------------------

  function slashQuery() {
    const t = $("reply");
    const before = t.value.slice(0, t.selectionStart);
    const m = before.match(/(^|\s)[\/／]([^\s\/／]{0,12})$/);
    return m ? { q: m[2], start: before.length - m[2].length - 1 } : null;
  }

  function onReplyInput() {
    const found = slashQuery();
    if (!found) { closePhrases(); return; }
    S.slash = found;
    if (!found.q) { showPhraseHint("输入关键词搜索快捷短语，如 /包邮 /发货 /退款 /尺码"); return; }
    command({ type: "search", q: found.q, conversation_id: S.open && S.open.id });
  }

  function showPhraseHint(text) {
    const pop = $("phrase-pop");
    pop.textContent = "";
    pop.append(el("div", "phrase-hint", text));
    pop.hidden = false;
    S.phrases = [];
  }

  function showPhrases(d) {
    if (!S.slash || d.q !== S.slash.q) return; // an answer to an older keyword
    if (!d.results.length) { showPhraseHint("没有找到「" + d.q + "」的快捷短语"); return; }
    S.phrases = d.results;
    S.phraseIndex = 0;
    renderPhrases();
  }

  function renderPhrases() {
    const pop = $("phrase-pop");
    pop.textContent = "";
    S.phrases.forEach((p, i) => {
      const item = el("div", "phrase" + (i === S.phraseIndex ? " on" : ""));
      item.setAttribute("role", "option");
      item.setAttribute("aria-selected", String(i === S.phraseIndex));
      const head = el("div", "ph-head");
      head.append(el("b", "", p.title), el("span", "ph-cat", p.category));
      const body = el("div", "ph-text");
      body.append(rich(p.text));
      item.append(head, body);
      item.addEventListener("mousedown", (e) => { e.preventDefault(); S.phraseIndex = i; insertPhrase(); });
      pop.append(item);
    });
    pop.append(el("div", "phrase-foot", "↑↓ 选择 · 回车或 Tab 填入 · Esc 关闭"));
    pop.hidden = false;
    const on = pop.querySelector(".phrase.on");
    if (on) on.scrollIntoView({ block: "nearest" });
  }

  function insertPhrase() {
    const p = S.phrases[S.phraseIndex];
    if (!p || !S.slash) return;
    const t = $("reply");
    const end = S.slash.start + 1 + S.slash.q.length;
    t.value = t.value.slice(0, S.slash.start) + p.text + t.value.slice(end);
    const caret = S.slash.start + p.text.length;
    t.setSelectionRange(caret, caret);
    t.dataset.phrase = JSON.stringify({ phrase_id: p.id, text: t.value });
    closePhrases();
    t.focus();
  }

  function closePhrases() { $("phrase-pop").hidden = true; S.phrases = []; S.slash = null; }

  $("reply").addEventListener("input", onReplyInput);
  $("reply").addEventListener("keydown", (e) => {
    if (!$("phrase-pop").hidden) {
      if (e.key === "Escape") { e.preventDefault(); closePhrases(); return; }
      if (S.phrases.length) {
        if (e.key === "ArrowDown" || e.key === "ArrowUp") {
          e.preventDefault();
          S.phraseIndex = (S.phraseIndex + (e.key === "ArrowDown" ? 1 : S.phrases.length - 1)) % S.phrases.length;
          renderPhrases();
          return;
        }
        if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") { e.preventDefault(); insertPhrase(); return; }
      }
    }
    if (e.key === "Enter" && !e.shiftKey && !e.altKey && !e.isComposing && e.keyCode !== 229) {
      e.preventDefault();
      closePhrases();
      submitReply();
    }
  });
  $("reply").addEventListener("blur", () => setTimeout(() => { if (document.activeElement !== $("reply")) closePhrases(); }, 150));
  $("composer").addEventListener("submit", (e) => { e.preventDefault(); submitReply(); });
  $("phrase-btn").addEventListener("click", () => {
    const t = $("reply");
    const pos = t.selectionStart || t.value.length;
    const pre = t.value.slice(0, pos);
    const insert = (pre && !/\s$/.test(pre) ? " " : "") + "/";
    t.value = pre + insert + t.value.slice(pos);
    t.focus();
    t.setSelectionRange(pos + insert.length, pos + insert.length);
    onReplyInput();
  });

  // Emoticons the buyer's Wangwang shows as pictures.
  (function emojiPicker() {
    const pop = $("emoji-pop");
    for (const code of PICKER) {
      const b = el("button", "emo-pick", EMOTICONS[code]);
      b.type = "button";
      b.title = code.slice(1, -1);
      b.addEventListener("click", () => {
        const t = $("reply");
        const pos = t.selectionStart || t.value.length;
        t.value = t.value.slice(0, pos) + code + t.value.slice(pos);
        pop.hidden = true;
        t.focus();
        t.setSelectionRange(pos + code.length, pos + code.length);
      });
      pop.append(b);
    }
    $("emoji-btn").addEventListener("click", () => { pop.hidden = !pop.hidden; });
  })();

  // --- the side panel: buyer, summary, tags, notes, orders --------------------------------------------

  function showSide(c) {
    $("side-empty").hidden = true;
    $("side-body").hidden = false;
    avatar($("side-avatar"), c.buyer);
    $("side-name").textContent = c.buyer;
    $("side-meta").textContent = [c.buyer_since ? c.buyer_since + "起的买家" : "", c.order_count ? c.order_count + "个订单" : "还没有订单"].filter(Boolean).join(" · ");
    const s = c.summary || {};
    const facts = [
      ["接待", c.history ? c.handler_label : c.mine ? "我" : c.holder || c.handler_label],
      ["状态", c.state_label],
      ["转人工原因", s.reason],
      ["需要", s.skill],
      ["买家问过", (s.intents || []).join(" → ")],
      ["买家最后说", plain(s.last_buyer_message || "")],
      ["机器人说过", (s.bot_said || []).map(plain).join(" / ")],
    ];
    const dl = $("summary");
    dl.textContent = "";
    for (const [k, v] of facts) {
      if (!v) continue;
      dl.append(el("dt", "", k), el("dd", k === "机器人说过" ? "clamp" : "", v));
    }
    showTags();
    showNotes(c.notes);
    const orders = $("orders");
    orders.textContent = "";
    $("order-count").textContent = c.order_count ? "最近" + c.orders.length + "个" : "";
    if (!c.orders.length) orders.append(el("p", "muted", "这位买家还没有订单"));
    for (const o of c.orders) orders.append(orderCard(o));
    const tickets = $("tickets");
    tickets.textContent = "";
    if (!c.tickets.length) tickets.append(el("li", "muted", "没有售后单"));
    for (const t of c.tickets) {
      const li = el("li");
      li.append(el("b", "", t.kind + " " + t.number), el("span", "chip", t.status));
      li.append(el("div", "muted", t.reason + " · 截止 " + t.due));
      tickets.append(li);
    }
  }

  function showTags() {
    const c = S.open;
    const box = $("tags");
    box.textContent = "";
    if (!c.tags.length) box.append(el("span", "muted", "还没有标签"));
    for (const t of c.tags) {
      const chip = el("span", "chip tag");
      chip.append(document.createTextNode(t));
      const x = el("button", "tag-x", "×");
      x.type = "button";
      x.title = "去掉标签「" + t + "」";
      x.addEventListener("click", () => command({ type: "tag_remove", conversation_id: c.id, tag: t }));
      chip.append(x);
      box.append(chip);
    }
    const presets = $("tag-presets");
    presets.textContent = "";
    for (const t of (c.suggested_tags || []).filter((t) => !c.tags.includes(t)).slice(0, 8)) {
      const b = el("button", "chip preset", "+ " + t);
      b.type = "button";
      b.addEventListener("click", () => command({ type: "tag_add", conversation_id: c.id, tag: t }));
      presets.append(b);
    }
  }

  function showNotes(notes) {
    const ul = $("notes");
    ul.textContent = "";
    if (!notes.length) ul.append(el("li", "muted", "还没有备注"));
    for (const n of notes) {
      const li = el("li", "note " + n.kind);
      const head = el("div", "note-head");
      head.append(el("b", "", n.kind === "transfer" ? n.author + " 转交给 " + n.to : n.author), el("span", "", n.time));
      li.append(head, el("div", "note-text", n.text || "（没有写说明）"));
      ul.append(li);
    }
  }

  $("tag-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const tag = $("tag-input").value.trim();
    if (!tag || !S.open) return;
    command({ type: "tag_add", conversation_id: S.open.id, tag });
    $("tag-input").value = "";
  });
  $("note-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const text = $("note-text").value.trim();
    if (!S.open) return;
    if (!text) { showNotice("备注不能为空"); return; }
    command({ type: "note", conversation_id: S.open.id, text });
  });

  // --- taking over, giving back, transferring, resolving -------------------------------------------

  function takeOver() { if (S.open && S.open.can_take && !S.open.history) command({ type: "take_over", conversation_id: S.open.id }); }
  $("take").addEventListener("click", takeOver);
  $("locked-take").addEventListener("click", takeOver);
  $("give-back").addEventListener("click", () => {
    if (!S.open) return;
    showSuggestions([]); // they were for a buyer who is the bot's again
    command({ type: "give_back", conversation_id: S.open.id });
  });
  $("resolve").addEventListener("click", () => {
    if (!S.open) return;
    showSuggestions([]);
    command({ type: "set_state", conversation_id: S.open.id, state: "resolved" });
  });
  $("conv-state").addEventListener("change", (e) => { if (S.open) command({ type: "set_state", conversation_id: S.open.id, state: e.target.value }); });

  $("transfer").addEventListener("click", () => {
    if (!S.open || !S.open.mine) return;
    $("transfer-error").textContent = "";
    $("transfer-note").value = "";
    $("colleagues").textContent = "正在读取同事…";
    $("transfer-dialog").showModal();
    command({ type: "colleagues" });
  });

  function showColleagues(d) {
    const box = $("colleagues");
    box.textContent = "";
    if (!d.agents.length) box.append(el("p", "muted", "店里没有其他同事"));
    let firstFree = null;
    for (const a of d.agents) {
      const full = a.load >= a.max;
      const free = a.status === "online" && !full;
      const label = el("label", "colleague" + (free ? "" : " off"));
      const radio = document.createElement("input");
      radio.type = "radio"; radio.name = "colleague"; radio.value = a.id; radio.disabled = !free;
      if (free && firstFree === null) { firstFree = radio; radio.checked = true; }
      const av = el("span", "avatar small");
      avatar(av, a.name);
      const info = el("span", "c-info");
      info.append(el("b", "", a.name), el("small", "", (a.skills || []).join("、")));
      const st = el("span", "c-status s-" + a.status, full && a.status === "online" ? "接待已满" : a.status_label);
      label.append(radio, av, info, el("span", "c-load", a.load + "/" + a.max), st);
      box.append(label);
    }
    $("transfer-confirm").disabled = firstFree === null;
    if (firstFree === null && d.agents.length) $("transfer-error").textContent = "现在没有在线且有空位的同事";
  }

  $("transfer-cancel").addEventListener("click", () => $("transfer-dialog").close());
  $("transfer-confirm").addEventListener("click", () => {
    const chosen = document.querySelector('input[name="colleague"]:checked');
    if (!chosen) { $("transfer-error").textContent = "请选择一位同事"; return; }
    $("transfer-error").textContent = "";
    S.awaitTransfer = true;
    showSuggestions([]);
    command({ type: "transfer", conversation_id: S.open.id, to_agent_id: Number(chosen.value), note: $("transfer-note").value.trim() });
  });

  // --- history -----------------------------------------------------------------------------------

  function setTab(history) {
    $("tab-live").classList.toggle("on", !history);
    $("tab-history").classList.toggle("on", history);
    $("tab-live").setAttribute("aria-selected", String(!history));
    $("tab-history").setAttribute("aria-selected", String(history));
    $("live").hidden = history;
    $("history").hidden = !history;
    if (history) { $("history-q").focus(); if (S.historyQ === null) searchHistory(); }
  }
  $("tab-live").addEventListener("click", () => setTab(false));
  $("tab-history").addEventListener("click", () => setTab(true));

  function searchHistory() {
    S.historyQ = $("history-q").value.trim();
    command({ type: "history", q: S.historyQ });
  }
  $("history-form").addEventListener("submit", (e) => { e.preventDefault(); searchHistory(); });

  function showHistory(d) {
    const ul = $("history-results");
    ul.textContent = "";
    $("history-hint").textContent = d.q ? "「" + d.q + "」找到 " + d.results.length + " 个会话" : "最近的会话";
    if (!d.results.length) ul.append(el("li", "muted empty-row", "没有找到，换个关键词试试"));
    for (const r of d.results) {
      const go = () => { command({ type: "open_history", conversation_id: r.id }); setView("chat"); };
      const { li, body, l3 } = convItem(r.id, r.buyer, r.when, r.snippet, go);
      l3.append(el("span", "chip match", r.matched), el("span", "chip", r.state_label));
      if (r.agent) l3.append(el("span", "chip", r.agent));
      for (const t of r.tags.slice(0, 3)) l3.append(el("span", "chip tag", t));
      body.append(l3);
      ul.append(li);
    }
  }

  // --- status, mode, notifications ------------------------------------------------------------------

  let statusBefore = null;
  $("status").addEventListener("focus", () => { statusBefore = $("status").value; });
  $("status").addEventListener("change", (e) => {
    const status = e.target.value;
    const load = S.state ? S.state.agent.load : 0;
    if (status === "away" && load > 0) {
      $("away-text").textContent = "你正在接待的 " + load + " 位买家会回到排队，由机器人先接待，等有空的同事接手。";
      $("away-dialog").showModal();
      return;
    }
    command({ type: "status", status });
  });
  $("away-confirm").addEventListener("click", () => { $("away-dialog").close(); command({ type: "status", status: "away" }); });
  $("away-cancel").addEventListener("click", () => { $("away-dialog").close(); $("status").value = (S.state && S.state.agent.status) || statusBefore || "online"; });
  $("go-online").addEventListener("click", () => command({ type: "status", status: "online" }));
  $("mode").addEventListener("change", (e) => command({ type: "mode", mode: e.target.value }));
  $("logout").addEventListener("click", async () => { await fetch("/api/logout", { method: "POST" }); location.href = "/login"; });

  // A short two-tone ring (WebAudio: no sound file) and a desktop notification when allowed.
  function unlockAudio() {
    if (S.audio || !window.AudioContext) return;
    try { S.audio = new AudioContext(); } catch (err) { S.audio = null; }
  }
  function beep() {
    if (!S.sound || !S.audio) return;
    try {
      if (S.audio.state === "suspended") S.audio.resume();
      const t = S.audio.currentTime;
      [[880, 0], [1175, 0.13]].forEach(([f, at]) => {
        const o = S.audio.createOscillator();
        const g = S.audio.createGain();
        o.frequency.value = f;
        g.gain.setValueAtTime(0.0001, t + at);
        g.gain.exponentialRampToValueAtTime(0.18, t + at + 0.02);
        g.gain.exponentialRampToValueAtTime(0.0001, t + at + 0.12);
        o.connect(g).connect(S.audio.destination);
        o.start(t + at);
        o.stop(t + at + 0.13);
      });
    } catch (err) { /* no sound device */ }
  }
  function alertAgent(title, body) {
    beep();
    if (!S.sound || !("Notification" in window) || Notification.permission !== "granted") return;
    if (!document.hidden && document.hasFocus()) return;
    try { new Notification(title, { body, tag: "xiaoer-" + title, silent: true }); } catch (err) { /* not allowed here */ }
  }
  function showBell() {
    const allowed = "Notification" in window && Notification.permission === "granted";
    $("notify-btn").querySelector(".label").textContent = S.sound ? (allowed ? "提醒开" : "响铃开") : "提醒关";
    $("notify-btn").classList.toggle("off", !S.sound);
    $("notify-btn").firstChild.textContent = S.sound ? "🔔" : "🔕";
  }
  $("notify-btn").addEventListener("click", async () => {
    unlockAudio();
    if ("Notification" in window && Notification.permission === "default") {
      await Notification.requestPermission().catch(() => null);
    } else {
      S.sound = !S.sound;
      localStorage.setItem("xiaoer.sound", S.sound ? "on" : "off");
    }
    showBell();
    if (S.sound) beep();
  });
  S.sound = localStorage.getItem("xiaoer.sound") !== "off";
  showBell();
  document.addEventListener("pointerdown", unlockAudio, { once: true });
  document.addEventListener("keydown", unlockAudio, { once: true });

  // --- keyboard shortcuts, help, views on a phone -------------------------------------------------------

  function nextBuyer(step) {
    if (!S.state || !S.state.mine.length) return;
    const rows = S.state.mine;
    const at = S.open ? rows.findIndex((c) => c.id === S.open.id) : -1;
    const waiting = (c) => c.unread > 0 || c.wait_since_id;
    for (let i = 1; i <= rows.length; i++) {
      const c = rows[(at + step * i + rows.length * i) % rows.length];
      if (waiting(c) && (!S.open || c.id !== S.open.id)) return openConversation(c.id);
    }
    const c = rows[(at + step + rows.length) % rows.length];
    if (!S.open || c.id !== S.open.id) openConversation(c.id);
  }

  function closeDialogs() {
    for (const d of document.querySelectorAll("dialog[open]")) d.close();
    $("emoji-pop").hidden = true;
  }

  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape") { closeDialogs(); return; }
    if (!e.altKey || e.ctrlKey || e.metaKey) return;
    if (e.code === "ArrowDown" || e.code === "ArrowUp") { e.preventDefault(); nextBuyer(e.code === "ArrowDown" ? 1 : -1); return; }
    if (e.code === "KeyT") { e.preventDefault(); takeOver(); return; }
    if (e.code === "Slash") { e.preventDefault(); $("help-dialog").showModal(); return; }
    const n = ["Digit1", "Digit2", "Digit3"].indexOf(e.code);
    if (n >= 0) {
      e.preventDefault();
      const s = S.suggestions[n];
      if (s && S.open && S.open.mine) send(s.text, s, false);
    }
  });
  $("help-btn").addEventListener("click", () => $("help-dialog").showModal());
  $("help-close").addEventListener("click", () => $("help-dialog").close());

  function setView(view) {
    document.body.dataset.view = view;
    document.querySelectorAll("#mobile-nav button").forEach((b) => b.classList.toggle("on", b.dataset.view === view));
  }
  document.querySelectorAll("#mobile-nav button").forEach((b) => b.addEventListener("click", () => setView(b.dataset.view)));
  $("back").addEventListener("click", () => setView("list"));
  setView("list");

  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible" && S.open && S.open.mine) command({ type: "read", conversation_id: S.open.id });
  });

  $("composer").hidden = true; // until a buyer is chosen
  setInterval(tick, 1000);
  // Lists also refresh on a timer, should a push be missed.
  setInterval(() => { if (S.ws && S.ws.readyState === WebSocket.OPEN) S.ws.send(JSON.stringify({ type: "refresh" })); }, 5000);
  connect();
})();
