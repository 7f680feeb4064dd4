/* Related Posts widget (see README "Widget"). Never throws into the page: any failure
 * hides the block or shows its <template data-rp-fallback>. Data is set as text only. */
(function () {
  "use strict";
  var W = window, D = document;
  if (W.RelatedPosts) return W.RelatedPosts.scan();  // the script was included twice
  var CSS = /*__RP_CSS__*/"";
  var SCRIPT = D.currentScript || D.querySelector('script[src*="widget.js"]');
  var pageVisitor = null;
  var each = function (list, fn) { return [].map.call(list, function (x) { return fn(x); }); };

  function attr(el, name) {  // the placeholder's data-NAME, else the script tag's
    var v = el && el.getAttribute("data-" + name);
    return v == null && SCRIPT ? SCRIPT.getAttribute("data-" + name) : v;
  }

  function serviceBase(el) {
    var s = attr(el, "service") || (SCRIPT && SCRIPT.src) || D.baseURI;
    return new URL("./", new URL(s, D.baseURI)).href;  // a prefix mount keeps working
  }

  // Only http(s) URLs become links or images: "javascript:" in article data goes nowhere.
  function safeUrl(value, base) {
    try {
      var u = new URL(value, base);
      return typeof value == "string" && value && /^https?:$/.test(u.protocol) ? u.href : null;
    } catch (e) { return null; }
  }

  function randomId() {
    var a = W.crypto.getRandomValues(new Uint8Array(16)), out = "";
    for (var i = 0; i < a.length; i++) out += (a[i] + 256).toString(16).slice(1);
    return out;
  }

  // The A/B unit: the site's own id, else a long-lived first-party cookie.
  function visitor(el) {
    var v = attr(el, "visitor-id");
    if (v || pageVisitor) return v || pageVisitor;
    try {
      var m = D.cookie.match(/(?:^|;\s*)rp_vid=([0-9a-f]{8,64})/);
      if (m) return (pageVisitor = m[1]);
      pageVisitor = randomId();
      if (attr(el, "no-cookie") == null) {
        D.cookie = "rp_vid=" + pageVisitor + "; max-age=63072000; path=/; SameSite=Lax" +
          (location.protocol === "https:" ? "; Secure" : "");
      }
    } catch (e) { pageVisitor = pageVisitor || String(Math.random()).slice(2); }
    return pageVisitor;
  }

  function h(tag, cls, text, attrs) {
    var el = D.createElement(tag);
    if (cls) el.className = cls;
    if (text != null) el.textContent = String(text);
    for (var k in attrs || {}) el.setAttribute(k, attrs[k]);
    return el;
  }

  function addStyles(el) {
    if (!CSS || attr(el, "styles") === "none" || D.getElementById("rp-styles")) return;
    (D.head || D.documentElement).appendChild(h("style", null, CSS, { id: "rp-styles" }));
  }

  // The page's <html lang> (English when missing or unknown to the browser), in UTC: the same
  // CLDR pattern related.html?lang= writes on the server (README "Widget", Dates).
  function formatDate(iso) {
    var d = new Date(iso), lang = D.documentElement.lang || "en";
    if (!iso || isNaN(d)) return null;
    try { if (!Intl.DateTimeFormat.supportedLocalesOf(lang).length) lang = "en"; }
    catch (e) { lang = "en"; }  // an invalid lang="..."
    return new Intl.DateTimeFormat(lang, { day: "numeric", month: "short", year: "numeric",
      timeZone: "UTC" }).format(d).replace(/[\u00a0\u202f]/g, " ");
  }

  function card(it, pos, o) {
    var li = h("li", "rp-card", null, { "data-article-id": it.id, "data-position": pos,
      "data-source": it.source || "" });
    var thumb = h("div", "rp-thumb");
    thumb.appendChild(h("span", "rp-thumb-label", (it.section || it.title || "").charAt(0),
      { "aria-hidden": "true" }));
    var src = safeUrl(it.image, o.base);
    if (src) {
      // Lazy, with a fixed box; on error the label behind it (the fallback) shows.
      var img = h("img", null, null, { alt: "", loading: "lazy", decoding: "async",
        width: 320, height: 180 });
      img.onerror = function () { img.remove(); thumb.classList.add("rp-thumb-none"); };
      img.src = src;
      thumb.appendChild(img);
    } else thumb.classList.add("rp-thumb-none");
    li.appendChild(thumb);
    var text = h("div", "rp-text"), title = h("h3", "rp-title"), tpl = o.linkTemplate;
    var href = safeUrl(tpl ? tpl.split("{id}").join(encodeURIComponent(it.id)) : it.url, D.baseURI);
    if (href) title.appendChild(h("a", null, it.title, { href: href }));
    else title.textContent = it.title || "";
    text.appendChild(title);
    if (it.teaser) text.appendChild(h("p", "rp-teaser", it.teaser));
    var meta = h("p", "rp-meta"), date = formatDate(it.published_at);
    if (it.section) meta.appendChild(h("span", "rp-section", it.section));
    if (date) meta.appendChild(h("time", null, date, { datetime: it.published_at }));
    if (meta.firstChild) text.appendChild(meta);
    li.appendChild(text);
    return li;
  }

  function beacon(base, events) {
    var url = new URL("v1/events", base).href, body = JSON.stringify({ events: events });
    try { if (navigator.sendBeacon && navigator.sendBeacon(url, body)) return; } catch (e) {}
    try {
      // text/plain keeps this a simple request: no CORS preflight, no response needed.
      fetch(url, { method: "POST", body: body, keepalive: true, mode: "no-cors",
        credentials: "omit", headers: { "Content-Type": "text/plain" } }).catch(function () {});
    } catch (e) {}
  }

  // One "viewed" per card when the block first becomes visible; one "clicked" per click.
  function track(block, meta, o) {
    if (block.getAttribute("data-rp-tracked")) return;
    block.setAttribute("data-rp-tracked", "1");
    function ev(type, c) {
      return { type: type, impression_id: meta.impression_id,
        source_article_id: meta.article_id, article_id: c.getAttribute("data-article-id"),
        position: +c.getAttribute("data-position"), experiment: meta.experiment || null,
        variant: meta.variant || null, visitor: o.visitor, ts: new Date().toISOString() };
    }
    var viewed = false;
    function sendViewed() {
      if (viewed) return;
      viewed = true;
      var evs = each(block.querySelectorAll("[data-position]"), ev.bind(null, "viewed"));
      if (evs.length) beacon(o.base, evs);
    }
    if (!W.IntersectionObserver) sendViewed();
    else {
      var io = new IntersectionObserver(function (entries) {
        entries.forEach(function (e) {
          // Half the block, or half the screen for a block taller than the screen.
          if (e.isIntersecting && (e.intersectionRatio >= 0.5 ||
              e.intersectionRect.height >= 0.5 * W.innerHeight)) { sendViewed(); io.disconnect(); }
        });
      }, { threshold: [0, 0.25, 0.5, 0.75, 1] });
      io.observe(block);
    }
    function onClick(e) {
      if (e.type === "auxclick" && e.button !== 1) return;
      var a = e.target && e.target.closest && e.target.closest("a[href]");
      var c = a && a.closest("[data-position]");
      if (c && block.contains(c)) beacon(o.base, [ev("clicked", c)]);
    }
    block.addEventListener("click", onClick);
    block.addEventListener("auxclick", onClick);
  }

  function options(el) {
    var limit = parseInt(attr(el, "limit"), 10), timeout = parseInt(attr(el, "timeout"), 10);
    var fb = el.querySelector("template[data-rp-fallback]");
    return { id: el.getAttribute("data-article-id"), base: serviceBase(el),
      limit: limit >= 1 ? Math.min(limit, 50) : 4, timeout: timeout >= 1 ? timeout : 3000,
      heading: attr(el, "heading"), theme: attr(el, "theme"),
      linkTemplate: attr(el, "link-template"), variant: attr(el, "variant"),
      visitor: visitor(el), fallback: fb && fb.content.cloneNode(true) };
  }

  function fail(el, o) {
    var fb = o && o.fallback;
    if (fb) el.replaceChildren(fb); else el.replaceChildren();
    el.setAttribute("data-rp-state", fb ? "fallback" : "failed");
    el.hidden = !fb;
    el.style.minHeight = "0";
  }

  function render(el, data, o) {
    var items = data && data.items;
    if (!items || !items.length) return fail(el, o);
    var block = h("section", "rp-block", null, { "data-impression-id": data.impression_id || "",
      "data-source-article-id": o.id, "data-experiment": data.experiment || "",
      "data-variant": data.variant || "" });
    if (o.theme) block.setAttribute("data-theme", o.theme);
    var hd = o.heading == null ? "Related articles" : o.heading, hid = "rp-" + randomId();
    if (hd) block.appendChild(h("h2", "rp-heading", hd, { id: hid }));
    block.setAttribute(hd ? "aria-labelledby" : "aria-label", hd ? hid : "Related articles");
    // role=list: Safari drops list semantics with list-style: none
    var list = h("ul", "rp-list", null, { role: "list" });
    items.forEach(function (it, i) { list.appendChild(card(it, i + 1, o)); });
    block.appendChild(list);
    el.replaceChildren(block);
    el.setAttribute("data-rp-state", "ready");
    el.hidden = false;
    track(block, { impression_id: data.impression_id, article_id: o.id,
      experiment: data.experiment, variant: data.variant }, o);
  }

  function load(el) {
    if (el.getAttribute("data-rp-state")) return;
    el.setAttribute("data-rp-state", "loading");
    var o = null;
    try {
      o = options(el);
      addStyles(el);
      if (!o.id || !W.fetch || !W.AbortController) return fail(el, o);
      var url = new URL("v1/articles/" + encodeURIComponent(o.id) + "/related", o.base);
      url.searchParams.set("limit", o.limit);
      url.searchParams.set("visitor", o.visitor);
      if (o.variant) url.searchParams.set("variant", o.variant);
      var ctrl = new AbortController(), done = false;
      var finish = function (data) {  // first of response, error or timeout wins
        if (done) return;
        done = true;
        clearTimeout(timer);
        try { if (data) render(el, data, o); else fail(el, o); } catch (e) { fail(el, o); }
      };
      var timer = setTimeout(function () { finish(); ctrl.abort(); }, o.timeout);
      fetch(url.href, { credentials: "omit", signal: ctrl.signal })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(finish, function () { finish(); });
    } catch (e) { fail(el, o); }
  }

  // Server-rendered blocks (related.html) send the same view/click events.
  function enhance(b) {
    var g = function (n) { return b.getAttribute("data-" + n); };
    try {
      track(b, { impression_id: g("impression-id"), article_id: g("source-article-id"),
        experiment: g("experiment"), variant: g("variant") },
        { base: serviceBase(b), visitor: g("visitor") || visitor(b) });
    } catch (e) {}
  }

  function scan() {
    each(D.querySelectorAll("[data-related-posts]"), load);
    each(D.querySelectorAll(".rp-block[data-rp-server]"), enhance);
  }

  W.RelatedPosts = { version: 1, scan: scan, load: load };
  if (D.readyState === "loading") D.addEventListener("DOMContentLoaded", scan);
  else scan();
})();
