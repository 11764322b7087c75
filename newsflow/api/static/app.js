// The newsflow search page: talks only to the API it is served by (relative URLs), no libraries.
"use strict";

(() => {
  // Facets shown in the sidebar, in order: [key in the response, heading].
  const FACETS = [
    ["person", "People"],
    ["organization", "Organizations"],
    ["location", "Places"],
    ["source", "Sources"],
    ["language", "Languages"],
    ["event", "Events"],
    ["group", "Groups"],
    ["product", "Products"],
    ["section", "Sections"],
    ["authors", "Authors"],
    ["free_access", "Access"],
  ];
  const FILTER_PARAM = { authors: "author" }; // facet key -> query parameter, when they differ
  const FILTER_PARAMS = [
    "person", "organization", "location", "group", "event", "product",
    "source", "language", "author", "section", "free_access",
  ];
  const ENTITY_TYPES = new Set(["person", "organization", "location", "group", "event", "product"]);
  const LABELS = {
    person: "Person", organization: "Organization", location: "Place", group: "Group",
    event: "Event", product: "Product", source: "Source", language: "Language",
    author: "Author", section: "Section", free_access: "Access",
  };
  const ACCESS_NAMES = { true: "Free to read", false: "Paywalled" }; // free_access facet values
  const PAGE_SIZE = 10;
  const FACET_VISIBLE = 6; // values shown before "Show more"
  const MAX_EMPTY_PAGES = 5; // pages of folded republications followed for one "More" click

  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, ...children) => {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "class") node.className = v;
      else if (k === "text") node.textContent = v;
      else node.setAttribute(k, v === true ? "" : v);
    }
    node.append(...children.filter((c) => c !== null && c !== undefined));
    return node;
  };

  const state = { q: "", sort: "relevance", filters: [], cursor: null, params: null, seq: 0 };
  let controller = null;
  const expanded = new Set(); // facets whose full list is open

  // ---- text helpers -------------------------------------------------------------------------

  const ENTITIES = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'", nbsp: "\u00a0" };
  function decodeEntities(text) {
    return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (match, name) => {
      if (name[0] === "#") {
        const code = name[1].toLowerCase() === "x"
          ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
        return code > 0 && code <= 0x10ffff ? String.fromCodePoint(code) : match;
      }
      return ENTITIES[name.toLowerCase()] ?? match;
    });
  }

  // Appends API highlight HTML (escaped text + <em> tags) to `parent` without ever parsing it
  // as HTML: split on the <em> tags, decode the entities of the rest, add it as text.
  function appendHighlighted(parent, html) {
    let em = null;
    for (const part of String(html ?? "").split(/(<\/?em>)/i)) {
      if (/^<em>$/i.test(part)) {
        em = el("em");
        parent.append(em);
      } else if (/^<\/em>$/i.test(part)) {
        em = null;
      } else if (part) {
        (em || parent).append(document.createTextNode(decodeEntities(part)));
      }
    }
    return parent;
  }

  function safeUrl(url) {
    try {
      const u = new URL(url, location.href);
      return u.protocol === "http:" || u.protocol === "https:" ? u.href : null;
    } catch {
      return null;
    }
  }

  const dateFmt = new Intl.DateTimeFormat("en-GB", {
    day: "numeric", month: "short", year: "numeric", timeZone: "UTC",
  });
  function formatDate(iso) {
    const t = Date.parse(iso);
    return Number.isNaN(t) ? "" : dateFmt.format(t);
  }

  let languageNames = null;
  try {
    languageNames = new Intl.DisplayNames(["en"], { type: "language" });
  } catch {
    /* older browsers: show the code */
  }
  function displayValue(field, value) {
    if (field === "free_access") return ACCESS_NAMES[value] || value;
    if (field === "language" && languageNames) {
      try {
        return languageNames.of(value) || value;
      } catch {
        return value;
      }
    }
    return value;
  }

  const plural = (n, one, many) => `${n.toLocaleString("en")} ${n === 1 ? one : many}`;

  // ---- state <-> URL ------------------------------------------------------------------------

  function readUrl() {
    const p = new URLSearchParams(location.search);
    state.q = p.get("q") || "";
    state.sort = p.get("sort") === "date" ? "date" : "relevance";
    state.filters = [];
    for (const name of FILTER_PARAMS) {
      for (const value of p.getAll(name)) state.filters.push([name, value]);
    }
    $("q").value = state.q;
    $("sort").value = state.sort;
  }

  function searchParams() {
    const p = new URLSearchParams();
    if (state.q) p.set("q", state.q);
    if (state.sort !== "relevance") p.set("sort", state.sort);
    for (const [name, value] of state.filters) p.append(name, value);
    return p;
  }

  function writeUrl() {
    const qs = searchParams().toString();
    history.pushState(null, "", qs ? `?${qs}` : location.pathname);
  }

  const hasFilter = (name, value) => state.filters.some(([n, v]) => n === name && v === value);

  // ---- API ----------------------------------------------------------------------------------

  async function api(path, params, signal) {
    const qs = params ? `?${params}` : "";
    const resp = await fetch(`${path}${qs}`, { headers: { Accept: "application/json" }, signal });
    let body = null;
    try {
      body = await resp.json();
    } catch {
      /* not JSON */
    }
    if (!resp.ok) {
      const err = new Error(body?.message || `The server answered ${resp.status}.`);
      err.status = resp.status;
      err.requestId = body?.request_id || resp.headers.get("X-Request-ID");
      throw err;
    }
    return body;
  }

  function showError(err) {
    if (err.name === "AbortError") return;
    const box = $("error");
    box.textContent = err.requestId
      ? `${err.message} (request ${err.requestId})`
      : err.message || "The search failed.";
    box.hidden = false;
    $("status").textContent = "";
  }

  // ---- searching ----------------------------------------------------------------------------

  async function runSearch({ push = false, focusKey = null } = {}) {
    if (push) writeUrl();
    controller?.abort();
    controller = new AbortController();
    const seq = ++state.seq;
    const params = searchParams();
    params.set("size", PAGE_SIZE);
    $("error").hidden = true;
    $("results").setAttribute("aria-busy", "true");
    $("status").textContent = "Searching…";
    document.title = state.q ? `${state.q} – newsflow search` : "newsflow search";
    try {
      const data = await api("search", params, controller.signal);
      if (seq !== state.seq) return;
      state.params = params;
      state.cursor = data.next_cursor ?? null;
      renderStatus(data);
      renderActiveFilters();
      renderFacets(data.facets || {});
      $("results").replaceChildren(...(data.hits || []).map(renderHit));
      $("more").hidden = !state.cursor;
      renderChart(data, seq);
      if (focusKey) refocus(focusKey);
    } catch (err) {
      if (seq === state.seq) showError(err);
    } finally {
      if (seq === state.seq) $("results").removeAttribute("aria-busy");
    }
  }

  async function loadMore() {
    const seq = state.seq;
    const button = $("more");
    button.disabled = true;
    button.textContent = "Loading…";
    const first = $("results").children.length;
    try {
      // A page can be empty while the cursor goes on (republications folded away): follow it.
      for (let i = 0; i < MAX_EMPTY_PAGES && state.cursor; i++) {
        const params = new URLSearchParams(state.params);
        params.set("cursor", state.cursor);
        const data = await api("search", params, controller?.signal);
        if (seq !== state.seq) return;
        state.cursor = data.next_cursor ?? null;
        $("results").append(...(data.hits || []).map(renderHit));
        if ((data.hits || []).length) break;
      }
      const added = $("results").children[first];
      added?.querySelector("a, .hit-title")?.focus();
    } catch (err) {
      if (seq === state.seq) showError(err);
    } finally {
      if (seq === state.seq) {
        button.disabled = false;
        button.textContent = "More results";
        button.hidden = !state.cursor;
      }
    }
  }

  function toggleFilter(name, value) {
    const had = hasFilter(name, value);
    state.filters = had
      ? state.filters.filter(([n, v]) => !(n === name && v === value))
      : [...state.filters, [name, value]];
    runSearch({ push: true, focusKey: had ? null : `${name}\u0000${value}` });
  }

  function refocus(key) {
    for (const b of document.querySelectorAll("[data-key]")) {
      if (b.dataset.key === key) {
        b.focus();
        return;
      }
    }
  }

  // ---- rendering ----------------------------------------------------------------------------

  function renderStatus(data) {
    const status = $("status");
    const total = data.total ?? 0;
    status.replaceChildren();
    if (!total) {
      status.append(
        "No articles match",
        state.q ? ` “${state.q}”` : "",
        state.filters.length ? " with these filters. Try removing one." : ".",
      );
      return;
    }
    const count = el("strong", { id: "total", "data-total": total }, total.toLocaleString("en"));
    status.append(count, total === 1 ? " article" : " articles");
    if (data.stories && data.stories !== total) {
      status.append(` in ${plural(data.stories, "story", "stories")}`);
    }
    if (state.q) status.append(" for ", el("q", { class: "query", text: state.q }));
    if (data.timed_out) status.append(" (partial: the search timed out)");
  }

  function renderActiveFilters() {
    const list = $("active-list");
    list.replaceChildren(
      ...state.filters.map(([name, value]) => {
        const shown = displayValue(name, value);
        const button = el(
          "button",
          {
            type: "button",
            class: "chip",
            "aria-label": `Remove filter ${LABELS[name] || name}: ${shown}`,
          },
          el("span", { class: "chip-field", text: `${LABELS[name] || name}:` }),
          ` ${shown} `,
          el("span", { class: "chip-x", "aria-hidden": "true", text: "×" }),
        );
        button.addEventListener("click", () => toggleFilter(name, value));
        return el("li", {}, button);
      }),
    );
    $("active-filters").hidden = state.filters.length === 0;
  }

  function renderFacets(facets) {
    const box = $("facets");
    const groups = [];
    for (const [key, heading] of FACETS) {
      const values = facets[key] || [];
      if (!values.length) continue;
      const param = FILTER_PARAM[key] || key;
      const headingId = `facet-${key}`;
      const items = values.map((b, i) => {
        const active = hasFilter(param, b.value);
        const button = el(
          "button",
          {
            type: "button",
            class: "facet-value",
            "aria-pressed": active ? "true" : "false",
            "data-field": param,
            "data-value": b.value,
            "data-key": `${param}\u0000${b.value}`,
          },
          el("span", { class: "facet-name", text: displayValue(param, b.value) }),
          el(
            "span",
            { class: "facet-count" },
            el("span", { class: "visually-hidden", text: ", " }),
            b.count.toLocaleString("en"),
            el("span", { class: "visually-hidden", text: b.count === 1 ? " article" : " articles" }),
          ),
        );
        button.addEventListener("click", () => toggleFilter(param, b.value));
        const li = el("li", {}, button);
        if (i >= FACET_VISIBLE && !expanded.has(key) && !active) li.hidden = true;
        return li;
      });
      const list = el("ul", { class: "facet-list", "aria-labelledby": headingId }, ...items);
      const group = el("section", { class: "facet" }, el("h3", { id: headingId, text: heading }), list);
      const hiddenCount = items.filter((li) => li.hidden).length;
      if (hiddenCount || expanded.has(key)) {
        const open = expanded.has(key);
        const toggle = el("button", {
          type: "button",
          class: "link-button facet-toggle",
          "aria-expanded": open ? "true" : "false",
          text: open ? "Show fewer" : `Show ${hiddenCount} more`,
        });
        toggle.addEventListener("click", () => {
          if (expanded.has(key)) expanded.delete(key);
          else expanded.add(key);
          items.forEach((li, i) => {
            const active = li.firstChild.getAttribute("aria-pressed") === "true";
            li.hidden = i >= FACET_VISIBLE && !expanded.has(key) && !active;
          });
          const nowOpen = expanded.has(key);
          toggle.setAttribute("aria-expanded", nowOpen ? "true" : "false");
          toggle.textContent = nowOpen ? "Show fewer" : `Show ${hiddenCount} more`;
        });
        group.append(toggle);
      }
      groups.push(group);
    }
    box.replaceChildren(...groups);
  }

  function titleNode(url, title, titleHtml) {
    const href = safeUrl(url);
    const node = href ? el("a", { href, rel: "noopener noreferrer" }) : el("span");
    if (titleHtml) appendHighlighted(node, titleHtml);
    else node.textContent = title || url || "(untitled)";
    return node;
  }

  function renderHit(hit) {
    const meta = el("p", { class: "meta" });
    const bits = [];
    if (hit.source) bits.push(el("span", { class: "source", text: hit.source }));
    if (hit.published) {
      bits.push(el("time", { datetime: hit.published, text: formatDate(hit.published) }));
    }
    if (hit.section) bits.push(el("span", { class: "section", text: hit.section }));
    if (hit.language && hit.language !== "en") {
      bits.push(el("span", { class: "lang", lang: hit.language, text: displayValue("language", hit.language) }));
    }
    bits.forEach((b, i) => {
      if (i) meta.append(el("span", { class: "sep", "aria-hidden": "true", text: " · " }));
      meta.append(b);
    });

    const article = el(
      "article",
      { class: "hit" },
      el("h2", { class: "hit-title" }, titleNode(hit.url, hit.title, hit.title_html)),
      meta,
      hit.snippet ? renderSnippet(hit.snippet) : null,
    );
    if (hit.other_count > 0) article.append(renderOthers(hit));
    return el("li", { "data-id": hit.id }, article);
  }

  // A fragment cut mid-sentence gets an ellipsis.
  function renderSnippet(html) {
    const p = appendHighlighted(el("p", { class: "snippet" }), html);
    if (!/[.!?…"'”’)]\s*$/.test(p.textContent)) p.append("…");
    return p;
  }

  function renderOthers(hit) {
    const others = hit.others || [];
    const items = others.map((o) =>
      el(
        "li",
        {},
        titleNode(o.url, o.title),
        el("span", { class: "other-meta", text: ` — ${[o.source, formatDate(o.published)].filter(Boolean).join(", ")}` }),
      ),
    );
    if (hit.other_count > others.length) {
      items.push(el("li", { class: "other-more", text: `and ${hit.other_count - others.length} more` }));
    }
    return el(
      "details",
      { class: "others" },
      el("summary", { text: `and ${plural(hit.other_count, "other source", "other sources")}` }),
      el("ul", {}, ...items),
    );
  }

  // ---- chart --------------------------------------------------------------------------------

  // Buckets from /search (`histogram`: list or {interval, buckets}) when the API gives them.
  function searchHistogram(data) {
    const h = data.histogram;
    if (Array.isArray(h)) return { buckets: h, interval: data.histogram_interval };
    if (h && Array.isArray(h.buckets)) return { buckets: h.buckets, interval: h.interval };
    return null;
  }

  async function renderChart(data, seq) {
    const figure = $("chart");
    const hist = searchHistogram(data);
    if (hist) {
      drawChart(hist.buckets, hist.interval, "Matching articles over time");
      return;
    }
    // Until /search has a histogram: the timeline of the first entity filter, if any.
    const entity = state.filters.find(([name]) => ENTITY_TYPES.has(name));
    if (!entity) {
      figure.hidden = true;
      return;
    }
    const [type, name] = entity;
    try {
      const info = await api(`entities/${encodeURIComponent(type)}/${encodeURIComponent(name)}`, null, controller?.signal);
      if (seq !== state.seq) return;
      const scope = state.q || state.filters.length > 1 ? " (all articles, not only these results)" : "";
      drawChart(info.mentions || [], info.interval, `Articles naming ${name} over time${scope}`);
    } catch {
      if (seq === state.seq) figure.hidden = true;
    }
  }

  const MIN_SLOTS = 14; // narrowest chart, in buckets
  const MAX_BAR = 36; // widest bar, in SVG units
  const UNIT_MS = { ms: 1, s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5, M: 2629746e3, q: 7889238e3, y: 31556952e3 };
  const UNIT_WORD = { minute: "m", hour: "h", day: "d", week: "w", month: "M", quarter: "q", year: "y" };
  function intervalMs(interval) {
    const m = /^(\d*)\s*(ms|[smhdwMqy]|minute|hour|day|week|month|quarter|year)$/.exec(String(interval || "").trim());
    if (!m) return null;
    return (Number(m[1]) || 1) * UNIT_MS[UNIT_WORD[m[2]] || m[2]];
  }

  const SVG = "http://www.w3.org/2000/svg";
  const svgEl = (tag, attrs = {}, text = null) => {
    const node = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
    if (text !== null) node.textContent = text;
    return node;
  };

  function drawChart(rawBuckets, interval, caption) {
    const figure = $("chart");
    const buckets = rawBuckets
      .map((b) => ({
        t: Date.parse(b.date ?? b.key_as_string ?? b.key),
        date: b.date ?? b.key_as_string ?? b.key,
        count: Number(b.count ?? b.doc_count ?? 0),
      }))
      .filter((b) => !Number.isNaN(b.t))
      .sort((a, b) => a.t - b.t);
    if (!buckets.some((b) => b.count > 0)) {
      figure.hidden = true;
      return;
    }
    let step = intervalMs(interval);
    if (!step) {
      const gaps = buckets.slice(1).map((b, i) => b.t - buckets[i].t).filter((g) => g > 0);
      step = gaps.length ? Math.min(...gaps) : UNIT_MS.d;
    }
    // Drawn at the figure's width so the labels keep their size (the viewBox scales later).
    figure.hidden = false;
    const W = Math.round(Math.min(900, Math.max(300, $("chart-body").clientWidth || 640)));
    const H = 150, left = 34, right = 8, top = 10, bottom = 24;
    const plotW = W - left - right, plotH = H - top - bottom;
    const first = buckets[0], last = buckets[buckets.length - 1];
    // Time runs left to right; a short series is padded to MIN_SLOTS so one bar is not a wall.
    let t0 = first.t;
    let slots = Math.max(1, Math.round((last.t - first.t) / step) + 1);
    if (slots < MIN_SLOTS) {
      t0 -= Math.floor((MIN_SLOTS - slots) / 2) * step;
      slots = MIN_SLOTS;
    }
    const slotW = plotW / slots;
    const barW = Math.min(MAX_BAR, Math.max(1.5, slotW - (slotW > 6 ? 2 : 0.5)));
    const xOf = (t) => left + ((t - t0) / step) * slotW + (slotW - barW) / 2;
    const max = Math.max(...buckets.map((b) => b.count));
    const yTicks = max <= 4 ? [...Array(max + 1).keys()] : [0, Math.round(max / 2), max];
    const period = (b) => (step >= UNIT_MS.w ? `from ${formatDate(b.date)}` : formatDate(b.date));

    const peak = buckets.reduce((a, b) => (b.count > a.count ? b : a));
    const range = first === last
      ? formatDate(first.date)
      : `${formatDate(first.date)} to ${formatDate(last.date)}`;
    const svg = svgEl("svg", {
      viewBox: `0 0 ${W} ${H}`,
      role: "img",
      "aria-label": `${caption}: ${range}, at most ${plural(peak.count, "article", "articles")} (${period(peak)}).`,
      class: "chart-svg",
    });
    for (const v of yTicks) {
      const y = top + plotH - (v / max) * plotH;
      svg.append(svgEl("line", { x1: left, x2: W - right, y1: y, y2: y, class: v ? "grid" : "axis" }));
      svg.append(svgEl("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "tick" }, String(v)));
    }
    for (const b of buckets) {
      if (!b.count) continue;
      const h = Math.max(1, (b.count / max) * plotH);
      const rect = svgEl("rect", {
        x: xOf(b.t).toFixed(1), y: (top + plotH - h).toFixed(1),
        width: barW.toFixed(1), height: h.toFixed(1), rx: Math.min(2, barW / 3).toFixed(1),
        class: "bar",
      });
      rect.append(svgEl("title", {}, `${period(b)}: ${plural(b.count, "article", "articles")}`));
      svg.append(rect);
    }
    // Dates under the first and last bars; one label when they would collide.
    const label = (x, anchor, text) =>
      svg.append(svgEl("text", { x: x.toFixed(1), y: H - 6, "text-anchor": anchor, class: "tick" }, text));
    const x1 = xOf(first.t), x2 = xOf(last.t) + barW;
    if (x2 - x1 < 160) {
      label((x1 + x2) / 2, "middle", range.replace(" to ", " – "));
    } else {
      label(x1, "start", formatDate(first.date));
      label(x2, "end", formatDate(last.date));
    }

    $("chart-caption").textContent = caption;
    $("chart-body").replaceChildren(svg);
  }

  // ---- wiring -------------------------------------------------------------------------------

  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    state.q = $("q").value.trim();
    state.sort = $("sort").value;
    runSearch({ push: true });
  });
  $("sort").addEventListener("change", () => {
    state.sort = $("sort").value;
    state.q = $("q").value.trim();
    runSearch({ push: true });
  });
  $("more").addEventListener("click", loadMore);
  $("clear-filters").addEventListener("click", () => {
    state.filters = [];
    runSearch({ push: true });
    $("q").focus();
  });
  window.addEventListener("popstate", () => {
    readUrl();
    runSearch();
  });

  // For tests and the console: the one piece of HTML handling on the page.
  window.newsflow = { appendHighlighted };

  readUrl();
  runSearch();
})();
