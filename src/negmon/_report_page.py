"""The report page's styles, markup and script (see :mod:`negmon.report`). Plain strings: the page is written
with them inline, so that it works from disk with no network."""

from __future__ import annotations

CSS = """
:root { --ink:#1d2330; --muted:#667085; --line:#e4e7ec; --bg:#f7f8fa; --accent:#c2410c; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink);
       background: var(--bg); }
header { background: #fff; border-bottom: 1px solid var(--line); padding: 12px 20px; position: sticky; top: 0;
         z-index: 2; display: flex; flex-wrap: wrap; gap: 10px 22px; align-items: center; }
header h1 { font-size: 18px; margin: 0; flex: 1 1 320px; }
header label { color: var(--muted); font-size: 12px; display: flex; flex-direction: column; }
header select { font: inherit; padding: 3px 6px; min-width: 120px; max-width: 240px; }
main { padding: 14px 20px 40px; max-width: 1500px; margin: 0 auto; }
.cards { display: grid; grid-template-columns: repeat(5, minmax(120px, 1fr)); gap: 12px; margin-bottom: 14px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; }
.card b { display: block; font-size: 24px; }
.card span { color: var(--muted); font-size: 12px; }
.grid { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 14px; }
.panel { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 0; }
.panel h2 { font-size: 15px; margin: 2px 0 8px; }
.panel p.note { color: var(--muted); font-size: 12px; margin: 4px 0 0; }
.chart { width: 100%; }
#c-heat .mark-text, #c-map .mark-text { pointer-events: none; }
table { border-collapse: collapse; width: 100%; font-size: 13px; }
th, td { text-align: left; padding: 4px 6px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
a.more { color: var(--accent); cursor: pointer; text-decoration: underline; }
#posts { margin-top: 14px; }
.post { border-top: 1px solid var(--line); padding: 8px 0; }
.post .meta { color: var(--muted); font-size: 12px; }
.badge { display: inline-block; font-size: 11px; padding: 0 6px; border-radius: 9px; margin-left: 6px;
         background: #eef2f6; color: #344054; }
.badge.urgent { background: #fde2e1; color: #b42318; }
.badge.reply { background: #fff1d6; color: #93370d; }
.badge.neg { background: #f2e8ff; color: #5b21b6; }
mark { background: #ffe08a; padding: 0 1px; border-radius: 2px; }
footer { color: var(--muted); font-size: 12px; padding: 0 20px 30px; max-width: 1500px; margin: 0 auto; }
@media (max-width: 1000px) { .grid { grid-template-columns: 1fr; } .cards { grid-template-columns: repeat(2, 1fr); } }
"""

BODY = """
<header>
  <h1>{title}</h1>
  <label>Регион<select id="f-region"></select></label>
  <label>Тема<select id="f-topic"></select></label>
  <label>С недели<select id="f-from"></select></label>
  <label>По неделю<select id="f-to"></select></label>
</header>
<main>
  <section class="cards" id="cards">
    <div class="card"><b id="n-posts">–</b><span>постов</span></div>
    <div class="card"><b id="n-neg">–</b><span>доля негатива</span></div>
    <div class="card"><b id="n-reply">–</b><span>требуют ответа</span></div>
    <div class="card"><b id="n-urgent">–</b><span>срочных</span></div>
    <div class="card"><b id="n-places">–</b><span>населённых пунктов</span></div>
  </section>
  <section class="grid">
    <div class="panel"><h2>Карта: размер — число постов, цвет — негатив</h2><div class="chart" id="c-map"></div>
      <p class="note">Точки — населённые пункты с координатами. Цвет — нижняя граница 95% интервала Уилсона для
      доли негатива: три поста из трёх не выглядят как катастрофа. Нажмите на точку, чтобы прочитать посты.</p></div>
    <div class="panel"><h2>Где и о чём недовольны: место × тема</h2><div class="chart" id="c-heat"></div>
      <p class="note">Места с тремя и более постами (если таких меньше десяти — все), по убыванию нижней границы доли негатива; в клетке — число
      постов. Нажмите на клетку, чтобы прочитать посты.</p></div>
    <div class="panel"><h2>Постов в неделю по темам</h2><div class="chart" id="c-volume"></div></div>
    <div class="panel"><h2>Доля негатива по неделям и темам</h2><div class="chart" id="c-negative"></div></div>
    <div class="panel"><h2>Растущие проблемы</h2><div id="emerging"></div>
      <p class="note">Всплеск постов, требующих ответа, за последнюю неделю против собственной истории места и
      темы за 8 недель: точный условный тест двух пуассоновских интенсивностей для мест и тем с тремя и более
      постами, с поправкой Бенджамини — Хохберга (ожидаемая доля ложных тревог в списке — не больше 5%).</p></div>
    <div class="panel"><h2>Места с самой высокой долей негатива</h2><div id="places"></div></div>
    <div class="panel"><h2>Инциденты: открытые и с ответом</h2><div id="incidents"></div>
      <p class="note">Посты об одной проблеме в одном месте, сгруппированные <code>negmon incidents</code>;
      сначала просроченные и срочные. Срок — по высшему приоритету (срочные — 2 часа, обычные — 24).</p></div>
  </section>
  <section class="panel" id="posts"><h2 id="posts-title">Посты</h2>
    <p class="note">Выберите клетку, точку или строку, чтобы увидеть посты за ней; выделены фразы, которые
    повлияли на решение модели.</p><div id="posts-list"></div></section>
</main>
<footer id="foot"></footer>
"""

APP = r"""
(function () {
  "use strict";
  const D = JSON.parse(document.getElementById("negmon-data").textContent);
  const SPECS = JSON.parse(document.getElementById("negmon-specs").textContent);
  const views = {};
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (isFinite(x) ? Math.round(x * 100) + "%" : "–");
  const fmt = (n) => n.toLocaleString("ru-RU");
  const ALL = "__all__";

  function wilson(k, n) {
    if (!n) return [0, 0];
    const z = 1.96, p = k / n, d = 1 + z * z / n;
    const c = (p + z * z / (2 * n)) / d;
    const h = z * Math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d;
    return [Math.max(0, c - h), Math.min(1, c + h)];
  }

  function option(sel, value, label) {
    const o = document.createElement("option");
    o.value = value; o.textContent = label; sel.appendChild(o);
  }

  function setup() {
    const regions = Array.from(new Set(D.places.map((p) => p[1]))).sort((a, b) => a.localeCompare(b, "ru"));
    option($("f-region"), ALL, "все регионы");
    regions.forEach((r) => option($("f-region"), r, r));
    option($("f-topic"), ALL, "все темы");
    D.topics.forEach((t, i) => option($("f-topic"), String(i), t[1]));
    D.weeks.forEach((w, i) => {
      const label = w.split("-").reverse().join(".");
      option($("f-from"), String(i), label);
      option($("f-to"), String(i), label);
    });
    $("f-from").value = "0";
    $("f-to").value = String(D.weeks.length - 1);
    ["f-region", "f-topic", "f-from", "f-to"].forEach((id) => $(id).addEventListener("change", update));
    const s = D.source;
    $("foot").textContent = "Отчёт negmon от " + D.generated + ". Посчитаны все " + fmt(s.posts) +
      " постов с датой" + (s.undated ? " (без даты и не вошли: " + fmt(s.undated) + ")" : "") +
      (s.unreadable ? "; нечитаемых строк: " + fmt(s.unreadable) : "") +
      ". Читать можно " + fmt(D.posts.length) + " постов: по каждому месту и теме до " + s.per_cell +
      " самых важных (требуют ответа, срочные, негативные, новые) и все посты растущих проблем, не больше " +
      fmt(s.max_posts) + ", каждый до " + s.max_chars + " знаков. Пост о двух местах считается в каждом из них; " +
      "в итогах и трендах — один раз.";
  }

  function state() {
    return { region: $("f-region").value, topic: $("f-topic").value,
             from: +$("f-from").value, to: +$("f-to").value };
  }

  function rows(st) {
    return D.cube.filter((r) => r[0] >= st.from && r[0] <= st.to &&
      (st.region === ALL || D.places[r[1]][1] === st.region) && (st.topic === ALL || String(r[2]) === st.topic));
  }

  function byPlace(cube) {
    const m = new Map();
    cube.forEach((r) => {
      const a = m.get(r[1]) || { n: 0, neg: 0, rep: 0, urg: 0 };
      a.n += r[3]; a.neg += r[4]; a.rep += r[5]; a.urg += r[6];
      m.set(r[1], a);
    });
    return m;
  }

  function chartRows(cube, st) {
    const S = D.settings;
    const places = byPlace(cube);
    const busiest = new Set(Array.from(places.entries()).sort((x, y) => y[1].n - x[1].n).slice(0, S.map_labels).map((x) => x[0]));
    const map = [];
    places.forEach((a, p) => {
      const [label, , lat, lon] = D.places[p];
      if (D.places[p][4]) return;
      if (lat !== null && lon !== null)
        map.push({ place: label, name: busiest.has(p) ? label.split(" (")[0] : "", lat: lat, lon: lon,
                   posts: a.n, share: a.neg / a.n, low: wilson(a.neg, a.n)[0], p: p });
    });
    const least = minPosts(places);
    const ranked = Array.from(places.entries()).filter(([p, a]) => a.n >= least && !D.places[p][4])
      .map(([p, a]) => [p, wilson(a.neg, a.n)[0], a.n]).sort((x, y) => y[1] - x[1] || y[2] - x[2]).slice(0, S.heat_rows);
    const rank = new Map(ranked.map((x, i) => [x[0], i]));
    const cells = new Map();
    cube.forEach((r) => {
      if (!rank.has(r[1])) return;
      const k = r[1] + ":" + r[2];
      const a = cells.get(k) || { p: r[1], t: r[2], n: 0, neg: 0 };
      a.n += r[3]; a.neg += r[4]; cells.set(k, a);
    });
    const heat = Array.from(cells.values()).map((a) => ({ place: D.places[a.p][0], topic: D.topics[a.t][1],
      posts: a.n, share: a.neg / a.n, low: wilson(a.neg, a.n)[0], rank: rank.get(a.p), order: a.t, p: a.p, t: a.t }));
    const totals = new Map();
    cube.forEach((r) => totals.set(r[2], (totals.get(r[2]) || 0) + r[7]));
    const topTopics = Array.from(totals.entries()).filter((x) => x[1] > 0).sort((x, y) => y[1] - x[1] || x[0] - y[0])
      .slice(0, S.top_topics).map((x) => x[0]);
    const rest = Array.from(totals.values()).filter((n) => n > 0).length > topTopics.length;
    const lines = topTopics.map((t) => [D.topics[t][1], t]).concat(rest ? [[S.other, -1]] : []);
    const trend = new Map();
    cube.forEach((r) => {
      const t = topTopics.includes(r[2]) ? r[2] : -1;
      const k = r[0] + ":" + t;
      const a = trend.get(k) || { n: 0, neg: 0 };
      a.n += r[7]; a.neg += r[8]; trend.set(k, a);
    });
    const volume = [];
    for (let w = st.from; w <= st.to; w++) {
      lines.forEach(([label, t]) => {
        const a = trend.get(w + ":" + t) || { n: 0, neg: 0 };
        volume.push({ week: D.weeks[w], topic: label, posts: a.n, share: a.n ? a.neg / a.n : null, w: w, t: t });
      });
    }
    return { map: map, heat: heat, volume: volume, negative: volume, places: places, least: least };
  }

  function minPosts(places) {
    let k = 0;
    places.forEach((a, p) => { if (a.n >= D.settings.min_posts && !D.places[p][4]) k += 1; });
    return k >= 10 ? D.settings.min_posts : 1;
  }

  function headline(cube, places) {
    let n = 0, neg = 0, rep = 0, urg = 0;
    cube.forEach((r) => { n += r[7]; neg += r[8]; rep += r[9]; urg += r[10]; });
    $("n-posts").textContent = fmt(n);
    $("n-neg").textContent = n ? pct(neg / n) : "–";
    $("n-reply").textContent = fmt(rep);
    $("n-urgent").textContent = fmt(urg);
    let k = 0;
    places.forEach((a, p) => { if (!D.places[p][4]) k += 1; });
    $("n-places").textContent = fmt(k);
  }

  function cell(tr, text, cls) {
    const td = document.createElement("td");
    if (cls) td.className = cls;
    td.textContent = text;
    tr.appendChild(td);
    return td;
  }

  function table(el, head, items, build) {
    el.textContent = "";
    if (!items.length) { el.textContent = "Нет данных для выбранных фильтров."; return; }
    const t = document.createElement("table");
    const tr = document.createElement("tr");
    head.forEach((h) => { const th = document.createElement("th"); th.textContent = h[0]; if (h[1]) th.className = "num"; tr.appendChild(th); });
    t.appendChild(tr);
    items.forEach((it) => { const row = document.createElement("tr"); build(row, it); t.appendChild(row); });
    el.appendChild(t);
  }

  function link(td, text, onClick) {
    td.textContent = "";
    const a = document.createElement("a");
    a.className = "more"; a.textContent = text; a.addEventListener("click", onClick);
    td.appendChild(a);
  }

  function placesTable(places) {
    const least = minPosts(places);
    const items = Array.from(places.entries()).filter(([p, a]) => a.n >= least && !D.places[p][4]).map(([p, a]) => {
      const [lo, hi] = wilson(a.neg, a.n);
      return { p: p, a: a, lo: lo, hi: hi };
    }).sort((x, y) => y.lo - x.lo || y.a.n - x.a.n).slice(0, 15);
    table($("places"), [["место"], ["постов", 1], ["негатив", 1], ["95% интервал", 1], ["ответа", 1], ["срочных", 1]],
      items, (tr, it) => {
        link(cell(tr, ""), D.places[it.p][0], () => showPosts({ place: it.p }, D.places[it.p][0]));
        cell(tr, fmt(it.a.n), "num"); cell(tr, pct(it.a.neg / it.a.n), "num");
        cell(tr, pct(it.lo) + "–" + pct(it.hi), "num"); cell(tr, fmt(it.a.rep), "num"); cell(tr, fmt(it.a.urg), "num");
      });
  }

  function emergingTable(st) {
    const items = D.emerging.filter((e) => (st.region === ALL || e.region === st.region) &&
      (st.topic === ALL || String(e.t) === st.topic)).slice(0, 20);
    table($("emerging"), [["место"], ["тема"], ["неделя"], ["постов", 1], ["обычно", 1], ["q", 1]], items, (tr, e) => {
      link(cell(tr, ""), e.place, () => showPosts({ items: e.items }, e.place + " — " + e.topic + ", неделя с " + e.week));
      cell(tr, e.topic); cell(tr, e.week); cell(tr, fmt(e.posts), "num");
      cell(tr, e.baseline.toFixed(1), "num"); cell(tr, e.q < 0.001 ? "<0,001" : e.q.toFixed(3), "num");
    });
  }

  function incidentsTable(st) {
    const items = (D.incidents || []).filter((e) => (st.region === ALL || e.region === st.region) &&
      (st.topic === ALL || String(e.t) === st.topic));
    table($("incidents"), [["место"], ["тема"], ["постов", 1], ["срок"], ["кто отвечает"]], items, (tr, e) => {
      const td = cell(tr, e.place);
      td.title = e.id + ": " + e.text;
      cell(tr, e.topic + (e.urgent ? ", срочно" : "")); cell(tr, fmt(e.posts), "num");
      cell(tr, (e.overdue ? "просрочен: " : e.status === "answered" ? "есть ответ, " : "") + e.deadline);
      cell(tr, e.bodies);
    });
  }

  function showPosts(q, title) {
    const st = state();
    let ids;
    if (q.items) ids = q.items;
    else {
      const seen = new Set();
      ids = [];
      D.links.forEach((l) => {
        if (q.place !== undefined && l[0] !== q.place) return;
        if (q.topic !== undefined && l[2] !== q.topic) return;
        if (q.week !== undefined && l[3] !== q.week) return;
        if (l[3] < st.from || l[3] > st.to) return;
        if (q.topic === undefined && st.topic !== ALL && String(l[2]) !== st.topic) return;
        if (st.region !== ALL && D.places[l[0]][1] !== st.region) return;
        if (!seen.has(l[1])) { seen.add(l[1]); ids.push(l[1]); }
      });
    }
    $("posts-title").textContent = "Посты: " + title + " (" + ids.length + ")";
    const list = $("posts-list");
    list.textContent = "";
    if (!ids.length) { list.textContent = "В отчёт не вошли посты этой клетки."; return; }
    ids.slice(0, 60).forEach((i) => {
      const p = D.posts[i];
      const div = document.createElement("div");
      div.className = "post";
      const meta = document.createElement("div");
      meta.className = "meta";
      meta.textContent = p.date + (p.id ? " · " + p.id : "");
      [[p.reply, "нужен ответ", "reply"], [p.urgent, "срочно", "urgent"], [p.sentiment === "negative", "негатив", "neg"]]
        .forEach(([on, label, cls]) => { if (on) { const b = document.createElement("span"); b.className = "badge " + cls; b.textContent = label; meta.appendChild(b); } });
      const body = document.createElement("div");
      let at = 0;
      p.marks.forEach(([s, e]) => {
        if (s < at) return;
        body.appendChild(document.createTextNode(p.text.slice(at, s)));
        const m = document.createElement("mark"); m.textContent = p.text.slice(s, e); body.appendChild(m);
        at = e;
      });
      body.appendChild(document.createTextNode(p.text.slice(at)));
      div.appendChild(meta); div.appendChild(body); list.appendChild(div);
    });
    $("posts").scrollIntoView({ block: "start" });
  }

  function onClick(name) {
    return (event, item) => {
      const d = item && item.datum;
      if (!d) return;
      if (name === "map") showPosts({ place: d.p }, d.place);
      else if (name === "heat") showPosts({ place: d.p, topic: d.t }, d.place + " — " + d.topic);
      else if (d.w !== undefined) showPosts(d.t >= 0 ? { topic: d.t, week: d.w } : { week: d.w },
        d.topic + ", неделя с " + d.week.split("-").reverse().join("."));
    };
  }

  async function update() {
    const st = state();
    if (st.from > st.to) { $("f-to").value = String(st.from); st.to = st.from; }
    const cube = rows(st);
    const r = chartRows(cube, st);
    headline(cube, r.places);
    placesTable(r.places);
    emergingTable(st);
    incidentsTable(st);
    await Promise.all(Object.keys(views).map((name) => views[name].data(name, r[name]).runAsync()));
    document.body.dataset.ready = String((+document.body.dataset.ready || 0) + 1);
  }

  setup();
  const first = chartRows(rows(state()), state());
  Promise.all(Object.keys(SPECS).map((name) =>
    vegaEmbed("#c-" + name, Object.assign({}, SPECS[name], { data: { name: name, values: first[name] } }),
              { renderer: "svg", actions: false, logLevel: 1 }).then((res) => {
      views[name] = res.view;
      res.view.addEventListener("click", onClick(name));
    }))).then(update).catch((e) => { console.error(e); });
})();
"""
