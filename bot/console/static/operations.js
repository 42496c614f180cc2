// Shared by the supervisor's pages (peak, staffing, rehearsal, reports, shops): the menu, the
// API call that shows the server's reason, the toast, number formats and the SVG bar chart.
const Ops = (() => {
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";

  function toast(text, error) {
    const t = $("toast");
    t.textContent = text;
    t.className = error ? "error" : "";
    t.style.display = "block";
    clearTimeout(t.timer);
    t.timer = setTimeout(() => (t.style.display = "none"), error ? 5000 : 3000);
  }

  // The server's errors are {"error": "中文 (english)"}: the page shows the Chinese.
  const reason = (text) => String(text || "").replace(/ \([^()]*\)$/, "");

  class ApiError extends Error {
    constructor(message, status) { super(message); this.status = status; }
  }

  async function api(path, options = {}) {
    const { json, ...rest } = options;
    const init = { credentials: "same-origin", ...rest, headers: { Accept: "application/json", ...(rest.headers || {}) } };
    if (json !== undefined) {
      init.method = init.method || "POST";
      init.headers["Content-Type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    let resp;
    try {
      resp = await fetch(path, init);
    } catch (e) {
      throw new ApiError("连接不上服务器，请检查网络后重试", 0);
    }
    if (resp.status === 401) { location.href = "/login"; throw new ApiError("请先登录", 401); }
    const body = await resp.json().catch(() => null);
    if (!resp.ok) throw new ApiError(reason(body && body.error) || "请求失败（" + resp.status + "）", resp.status);
    return body;
  }

  const isNum = (x) => typeof x === "number" && isFinite(x);
  const num = (x, digits = 2) => (isNum(x) ? x.toLocaleString("zh-CN", { maximumFractionDigits: digits }) : "—");
  const pct = (x, digits = 1) => (isNum(x) ? (x * 100).toFixed(digits).replace(/\.0+$/, "") + "%" : "—");
  function duration(seconds) {
    if (!isNum(seconds)) return "—";
    const s = Math.round(seconds);
    if (s < 60) return s + "秒";
    if (s < 3600) return Math.floor(s / 60) + "分" + (s % 60 ? (s % 60) + "秒" : "");
    return Math.floor(s / 3600) + "小时" + (Math.floor((s % 3600) / 60) ? Math.floor((s % 3600) / 60) + "分" : "");
  }

  function cell(tr, text, cls) {
    const td = tr.insertCell();
    if (text instanceof Node) td.appendChild(text); else td.textContent = text;
    if (cls) td.className = cls;
    return td;
  }
  function tag(text, color) {
    const span = document.createElement("span");
    span.className = "tag " + color;
    span.textContent = text;
    return span;
  }
  function emptyRow(tbody, text, columns) {
    const td = cell(tbody.insertRow(), text, "empty");
    td.colSpan = columns;
  }

  function svg(name, attrs, parent) {
    const node = document.createElementNS(SVG, name);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, v);
    if (parent) parent.appendChild(node);
    return node;
  }

  // A step of 1, 2 or 5 × 10^n giving about `ticks` gridlines up to `max` (counts: at least 1).
  function niceStep(max, ticks) {
    const raw = Math.max(max / ticks, 1);
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const n = raw / mag;
    return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * mag;
  }

  // A (grouped) bar chart drawn into `box` at its own width, redrawn when the window resizes.
  // series: [{name, color, values}]; labels: one per group; xLabel(i) → the label under group i
  // (or "" for none); tip(i, s) → the bar's tooltip; endLabel: a label at the right end of the axis; empty: what to say when every value is 0.
  function barChart(box, opts) {
    box._chart = opts;
    const { labels, series, height = 240, valueLabels = false, xLabel = (i) => labels[i], tip, endLabel, empty } = opts;
    const width = Math.max(box.clientWidth || 600, 320);
    const pad = { l: 42, r: endLabel ? 26 : 10, t: valueLabels ? 20 : 12, b: 26 };
    const plotW = width - pad.l - pad.r, plotH = height - pad.t - pad.b;
    const max = Math.max(0, ...series.flatMap((s) => s.values.map((v) => (isNum(v) ? v : 0))));
    const step = niceStep(max || 1, 4);
    const top = Math.max(step, Math.ceil(max / step) * step);
    const y = (v) => pad.t + plotH - (v / top) * plotH;
    box.innerHTML = "";
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, height, role: "img" }, box);
    if (opts.title) svg("title", {}, root).textContent = opts.title;
    for (let v = 0; v <= top + 1e-9; v += step) {
      svg("line", { x1: pad.l, x2: width - pad.r, y1: y(v), y2: y(v), class: v === 0 ? "axis" : "grid" }, root);
      const t = svg("text", { x: pad.l - 6, y: y(v) + 4, "text-anchor": "end" }, root);
      t.textContent = num(v, 0);
    }
    if (empty && max === 0) {
      const t = svg("text", { x: pad.l + plotW / 2, y: pad.t + plotH / 2, "text-anchor": "middle", class: "empty" }, root);
      t.textContent = empty;
    }
    const groupW = plotW / labels.length;
    const inner = groupW * (series.length > 1 ? 0.72 : 0.7);
    const barW = inner / series.length;
    labels.forEach((_, i) => {
      const x0 = pad.l + i * groupW + (groupW - inner) / 2;
      series.forEach((s, k) => {
        const v = isNum(s.values[i]) ? s.values[i] : 0;
        const h = Math.max((v / top) * plotH, v > 0 ? 1.5 : 0);
        const color = typeof s.color === "function" ? s.color(i) : s.color;
        const bar = svg("rect", { class: "bar", x: x0 + k * barW, y: pad.t + plotH - h, width: Math.max(barW - (series.length > 1 ? 2 : 0), 1), height: h, rx: Math.min(2, barW / 4), fill: color, "data-value": v }, root);
        svg("title", {}, bar).textContent = tip ? tip(i, s) : labels[i] + " " + s.name + "：" + num(v);
        if (valueLabels && v > 0) {
          const t = svg("text", { x: x0 + k * barW + barW / 2 - (series.length > 1 ? 1 : 0), y: pad.t + plotH - h - 4, "text-anchor": "middle", class: "value" }, root);
          t.textContent = num(v);
        }
      });
      const label = xLabel(i);
      if (label) {
        const t = svg("text", { x: pad.l + i * groupW + (series.length > 1 ? groupW / 2 : 0), y: height - 8, "text-anchor": "middle" }, root);
        t.textContent = label;
      }
    });
    if (endLabel) {
      const t = svg("text", { x: width - pad.r, y: height - 8, "text-anchor": "middle" }, root);
      t.textContent = endLabel;
    }
    return root;
  }
  let resizeTimer = null;
  window.addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(() => document.querySelectorAll(".chart").forEach((box) => box._chart && barChart(box, box._chart)), 150);
  });

  function legend(box, series) {
    box.innerHTML = "";
    for (const s of series) {
      const item = document.createElement("span");
      const swatch = document.createElement("i");
      swatch.style.background = s.color;
      item.append(swatch, s.name);
      box.appendChild(item);
    }
  }

  // The supervisor's menu, one list for every page (<nav id="ops-nav">). 店铺管理 is the server
  // operator's, listed on its own page only: other supervisors may not open it.
  const MENU = [["/peak", "高峰看板"], ["/staffing", "排班计划"], ["/rehearsal", "演练报告"], ["/reports", "经营报表"]];
  function menu() {
    const nav = $("ops-nav");
    if (!nav) return;
    const here = location.pathname;
    const items = here === "/shops" ? [...MENU, ["/shops", "店铺管理"]] : MENU;
    for (const [href, label] of items) {
      const a = document.createElement("a");
      a.href = href;
      a.textContent = label;
      if (href === here) a.setAttribute("aria-current", "page");
      nav.appendChild(a);
    }
    const sep = document.createElement("span");
    sep.className = "sep";
    const back = document.createElement("a");
    back.href = "/workbench";
    back.textContent = "回工作台";
    nav.append(sep, back);
  }
  menu();

  return { $, api, toast, reason, isNum, num, pct, duration, cell, tag, emptyRow, barChart, legend };
})();
