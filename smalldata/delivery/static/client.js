/*! smalldata client — fills the page from the server's decision. No dependencies, ES2017. */
(function () {
  "use strict";

  var script = document.currentScript;
  var base = script && script.src ? script.src.replace(/client\.js(?:\?.*)?$/, "") : "/_smalldata/";
  var touched = new WeakSet();
  var SAFE_URL = /^(?:https?:|\/(?!\/)|\.{0,2}\/|[^:]*$)/i;

  // Remember every field the visitor types into, before any prefill can happen.
  document.addEventListener("input", function (event) { touched.add(event.target); }, true);

  function readPayload() {
    var element = document.getElementById("smalldata");
    if (!element) return null;
    try { return JSON.parse(element.textContent); } catch (error) { return null; }
  }

  async function fetchPayload() {
    var path = location.pathname + location.search;
    try {
      var response = await fetch(base + "decide?path=" + encodeURIComponent(path), {
        credentials: "same-origin",
        headers: { accept: "application/json" },
      });
      return response.ok ? await response.json() : null;
    } catch (error) {
      return null;
    }
  }

  function report(type, fields) {
    var body = JSON.stringify(Object.assign({ type: type, path: location.pathname }, fields || {}));
    var url = base + "events";
    try {
      if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], { type: "application/json" }))) return;
    } catch (error) { /* fall through to fetch */ }
    fetch(url, {
      method: "POST", body: body, keepalive: true, credentials: "same-origin",
      headers: { "content-type": "application/json" },
    }).catch(function () {});
  }

  function emit(name, detail, cancelable) {
    var event = new CustomEvent("smalldata:" + name, { detail: detail, cancelable: !!cancelable });
    return document.dispatchEvent(event);
  }

  function slots(name) {
    return document.querySelectorAll('[data-smalldata-slot="' + CSS.escape(name) + '"]');
  }

  function reveal(element) {
    element.hidden = false;
    element.setAttribute("data-smalldata-filled", "");
  }

  // Texts in a decision are HTML-safe markup made by the server (every signal value escaped).
  function fillMarkup(name, html, link) {
    slots(name).forEach(function (element) {
      element.innerHTML = html;
      if (link && SAFE_URL.test(link)) {
        var anchor = document.createElement("a");
        anchor.setAttribute("href", link);
        while (element.firstChild) anchor.appendChild(element.firstChild);
        element.appendChild(anchor);
      }
      reveal(element);
    });
  }

  function prefill(forms) {
    Object.keys(forms || {}).forEach(function (formName) {
      var selector = 'form[data-smalldata-form="' + CSS.escape(formName) + '"]';
      document.querySelectorAll(selector).forEach(function (form) {
        var values = forms[formName];
        Object.keys(values).forEach(function (field) {
          var input = form.elements.namedItem(field);
          if (!input || !("value" in input) || touched.has(input) || input.value !== "") return;
          input.value = String(values[field]);
          input.setAttribute("data-smalldata-prefilled", "");
        });
      });
    });
  }

  // The price as the shop writes it: the catalogue's own text ("549,00 kr."), else the number in
  // the page's language.
  function formatPrice(item) {
    if (typeof item.price_text === "string" && item.price_text) return item.price_text;
    if (typeof item.price !== "number") return "";
    try {
      var lang = document.documentElement.lang || undefined;
      var style = item.currency ? { style: "currency", currency: item.currency } : {};
      return new Intl.NumberFormat(lang, style).format(item.price);
    } catch (error) {
      return String(item.price) + (item.currency ? " " + item.currency : "");
    }
  }

  // data-field="name" sets text; data-field-href="url", data-field-src="image" set attributes.
  function fillItem(root, item) {
    var value = function (key) {
      return key === "price" ? formatPrice(item) : (item[key] === undefined || item[key] === null ? "" : String(item[key]));
    };
    root.querySelectorAll("*").forEach(function (element) {
      Array.prototype.slice.call(element.attributes).forEach(function (attribute) {
        if (attribute.name === "data-field") {
          element.textContent = value(attribute.value);
        } else if (attribute.name.indexOf("data-field-") === 0) {
          var target = attribute.name.slice("data-field-".length);
          var text = value(attribute.value);
          if ((target === "href" || target === "src") && !SAFE_URL.test(text)) return;
          element.setAttribute(target, text);
        }
      });
    });
  }

  function recommend(recommendations) {
    Object.keys(recommendations || {}).forEach(function (slot) {
      var rec = recommendations[slot];
      if (!rec.items || !rec.items.length) return;
      var template = document.querySelector('template[data-smalldata-template="' + CSS.escape(slot) + '"]');
      slots("recommend:" + slot).forEach(function (container) {
        var list = container.querySelector("[data-smalldata-items]") || container;
        list.textContent = "";
        rec.items.forEach(function (item) {
          if (template) {
            var fragment = template.content.cloneNode(true);
            fillItem(fragment, item);
            list.appendChild(fragment);
          } else {
            var anchor = document.createElement("a");
            anchor.textContent = item.name || item.id;
            if (item.url && SAFE_URL.test(item.url)) anchor.setAttribute("href", item.url);
            var entry = document.createElement("li");
            entry.appendChild(anchor);
            list.appendChild(entry);
          }
        });
        if (rec.title) container.querySelectorAll("[data-smalldata-title]").forEach(function (t) { t.textContent = rec.title; });
        reveal(container);
      });
    });
  }

  function dismissedKey(chat) { return "smalldata:dismissed:" + chat.rule; }

  function isDismissed(chat) {
    try { return sessionStorage.getItem(dismissedKey(chat)) === "1"; } catch (error) { return false; }
  }

  // A capped invitation carries its cap and period ("day:20417"). Pages this browser loaded at
  // the same time (tabs, a prefetch) may each have been decided before any was shown: the browser
  // is where they all meet, so it counts what it showed and keeps the cap for all of them.
  function shownKey(chat) { return "smalldata:shown:" + chat.rule; }

  function shownThisPeriod(chat) {
    try {
      var shown = JSON.parse(localStorage.getItem(shownKey(chat)) || "null");
      return shown && shown.period === chat.cap.period ? shown.count : 0;
    } catch (error) { return 0; }
  }

  function capReached(chat) { return !!chat.cap && shownThisPeriod(chat) >= chat.cap.max; }

  function countShown(chat) {
    if (!chat.cap) return;
    var value = JSON.stringify({ period: chat.cap.period, count: shownThisPeriod(chat) + 1 });
    try { localStorage.setItem(shownKey(chat), value); } catch (error) { /* storage refused: the server's count holds */ }
  }

  function button(text, onClick) {
    var element = document.createElement("button");
    element.type = "button";
    element.textContent = text;
    element.addEventListener("click", onClick);
    return element;
  }

  // Every word in the bubble comes from the server, in the message's language: the message from
  // the rule, the button and the close label from the shop's per-language texts.
  function bubble(chat) {
    var texts = chat.texts || {};
    var box = document.createElement("div");
    box.id = "smalldata-chat";
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-live", "polite");
    box.setAttribute("aria-labelledby", "smalldata-chat-message");
    box.setAttribute("data-rule", chat.rule);
    if (chat.language) box.lang = chat.language;
    // On a phone the bubble keeps 16px from each edge of the screen and never grows wider.
    Object.assign(box.style, {
      position: "fixed", right: "16px", bottom: "16px", boxSizing: "border-box", zIndex: "2147483000",
      maxWidth: "min(320px, calc(100vw - 32px))", maxHeight: "calc(100vh - 32px)", overflow: "auto",
      overflowWrap: "anywhere", background: "#fff", color: "#222", border: "1px solid #ddd", borderRadius: "12px",
      boxShadow: "0 6px 24px rgba(0,0,0,.18)", padding: "14px 16px", font: "15px/1.4 system-ui, sans-serif",
    });
    var message = document.createElement("p");
    message.id = "smalldata-chat-message";
    message.className = "smalldata-chat-message";
    message.style.margin = "0 24px 10px 0";
    message.innerHTML = chat.message;  // HTML-safe markup from the server
    var close = button("\u00d7", function () {
      try { sessionStorage.setItem(dismissedKey(chat), "1"); } catch (error) { /* private mode */ }
      box.remove();
      report("chat_dismissed", { rule: chat.rule });
      emit("chat-dismissed", chat);
    });
    close.className = "smalldata-chat-dismiss";
    if (texts.dismiss) {
      close.setAttribute("aria-label", texts.dismiss);
      close.title = texts.dismiss;
    }
    Object.assign(close.style, {
      position: "absolute", top: "6px", right: "8px", border: "0", background: "none", color: "#666",
      fontSize: "20px", lineHeight: "1", padding: "2px 6px", cursor: "pointer",
    });
    var accept = button(texts.button || "\u2192", function () {
      box.remove();
      report("chat_accepted", { rule: chat.rule });
      emit("chat-accepted", chat);
    });
    accept.className = "smalldata-chat-accept";
    Object.assign(accept.style, {
      border: "0", borderRadius: "8px", padding: "6px 12px", background: "#0a6", color: "#fff", cursor: "pointer",
    });
    box.append(close, message, accept);
    document.body.appendChild(box);
  }

  function scheduleChat(chat) {
    if (!chat || isDismissed(chat) || capReached(chat)) return;
    var shown = false;
    var show = function () {
      if (shown || isDismissed(chat) || capReached(chat)) return;
      shown = true;
      countShown(chat);
      document.removeEventListener("mouseout", onLeave);
      // A shop's own widget (Intercom, Zendesk, …) may take over by calling preventDefault().
      if (emit("chat", chat, true)) bubble(chat);
      report("chat_shown", { rule: chat.rule });
    };
    var onLeave = function (event) {
      if (!event.relatedTarget && event.clientY <= 0) show();
    };
    if (chat.on_exit_intent) document.addEventListener("mouseout", onLeave);
    if (chat.after_seconds !== undefined && chat.after_seconds !== null) {
      setTimeout(show, Math.max(0, chat.after_seconds) * 1000);
    } else if (!chat.on_exit_intent) {
      show();
    }
  }

  function apply(payload) {
    var decision = payload && payload.decision;
    if (!decision) return;
    if (decision.greeting) fillMarkup("greeting", decision.greeting);
    Object.keys(decision.banners || {}).forEach(function (slot) {
      var banner = decision.banners[slot];
      fillMarkup("banner:" + slot, banner.html, banner.link);
    });
    prefill(decision.prefill);
    recommend(decision.recommendations);
    (payload.exposures || []).forEach(function (exposure) { emit("exposure", exposure); });
    scheduleChat(decision.chat);
    window.smalldata = { decision: decision, report: report };
    emit("ready", decision);
  }

  async function main() {
    apply(readPayload() || (await fetchPayload()));
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", main);
  } else {
    main();
  }
})();
