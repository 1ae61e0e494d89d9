// Inbox behaviour on top of HTMX: keeping the thread scrolled, quick replies and template sources
// (app.js shows times in the reader's zone on every page).
(function () {
  "use strict";

  // -- the thread: stay at the bottom when already there, otherwise keep the reader's place ----------
  var scrollState = null;

  function chatScroll() { return document.getElementById("chat-scroll"); }

  function nearBottom(box) { return box.scrollHeight - box.scrollTop - box.clientHeight < 80; }

  // The reply box changes height too (errors, the template form), which would hide the newest message.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var box = chatScroll();
    var id = event.detail.target && event.detail.target.id;
    if (box && (id === "thread" || id === "reply-box" || id === "template-form")) {
      scrollState = { atBottom: nearBottom(box), fromBottom: box.scrollHeight - box.scrollTop };
    }
  });

  document.addEventListener("htmx:afterSettle", function (event) {
    var box = chatScroll();
    if (box && scrollState && document.getElementById("thread")) {
      box.scrollTop = scrollState.atBottom ? box.scrollHeight : box.scrollHeight - scrollState.fromBottom;
      scrollState = null;
    }
    var reply = document.getElementById("reply-body");
    if (reply && event.detail.elt && event.detail.elt.id === "reply-box") { reply.focus(); }
  });

  // -- quick replies: the picker and /shortcut expansion -------------------------------------------
  function quickReplyList() {
    var data = document.getElementById("quick-replies-data");
    if (!data) { return []; }
    try {
      var items = JSON.parse(data.textContent);
      return Array.isArray(items) ? items : [];
    } catch (e) { return []; }
  }

  function quickReplies() {
    var byShortcut = {};
    quickReplyList().forEach(function (item) { byShortcut[item.shortcut.toLowerCase()] = item.body; });
    return byShortcut;
  }

  function insertAtCaret(area, text, start, end) {
    start = start === undefined ? area.selectionStart : start;
    end = end === undefined ? area.selectionEnd : end;
    area.value = area.value.slice(0, start) + text + area.value.slice(end);
    var caret = start + text.length;
    area.setSelectionRange(caret, caret);
    area.focus();
    area.dispatchEvent(new Event("input", { bubbles: true }));
  }

  document.addEventListener("change", function (event) {
    var picker = event.target.closest && event.target.closest("[data-quick-reply-picker]");
    if (picker) {
      var body = quickReplies()[picker.value.toLowerCase()];
      var area = document.getElementById("reply-body");
      if (body !== undefined && area) { insertAtCaret(area, body); }
      picker.value = "";
      return;
    }
    // A template variable's source fills its input before the preview request reads it (capture phase).
    var source = event.target.closest && event.target.closest("select[data-fills]");
    if (source) {
      var input = document.querySelector(source.getAttribute("data-fills"));
      var option = source.options[source.selectedIndex];
      if (!input || !option) { return; }
      if (source.value === "custom") { input.value = ""; input.focus(); }
      else { input.value = option.getAttribute("data-value") || ""; }
    }
  }, true);

  var SHORTCUT = /(^|\s)\/([A-Za-z0-9_-]{1,30})$/;

  // -- suggestions: while "/th" is typed, a listbox under the box offers the quick replies starting so -----
  var PARTIAL = /(^|\s)\/([A-Za-z0-9_-]{0,30})$/;
  var SUGGESTIONS_MAX = 6;
  var suggested = [];
  var active = -1;

  function isReplyArea(el) { return el && el.matches && el.matches("textarea[data-quick-replies]"); }

  function suggestionList() { return document.getElementById("quick-reply-suggestions"); }

  function typedShortcut(area) {
    if (area.selectionStart !== area.selectionEnd) { return null; }
    var match = PARTIAL.exec(area.value.slice(0, area.selectionStart));
    return match ? match[2] : null;
  }

  function closeSuggestions(area) {
    var list = suggestionList();
    suggested = [];
    active = -1;
    if (list) { list.hidden = true; list.textContent = ""; }
    if (area) { area.setAttribute("aria-expanded", "false"); area.removeAttribute("aria-activedescendant"); }
  }

  function highlight(area, index) {
    var list = suggestionList();
    active = index;
    list.querySelectorAll("[role=option]").forEach(function (option, i) {
      option.setAttribute("aria-selected", i === index ? "true" : "false");
      if (i === index) { option.scrollIntoView({ block: "nearest" }); }
    });
    if (index >= 0) { area.setAttribute("aria-activedescendant", "quick-reply-option-" + index); }
    else { area.removeAttribute("aria-activedescendant"); }
  }

  function showSuggestions(area) {
    var list = suggestionList();
    var typed = typedShortcut(area);
    if (!list || typed === null) { closeSuggestions(area); return; }
    var prefix = typed.toLowerCase();
    suggested = quickReplyList().filter(function (item) {
      return item.shortcut.toLowerCase().indexOf(prefix) === 0;
    }).slice(0, SUGGESTIONS_MAX);
    if (!suggested.length) { closeSuggestions(area); return; }
    list.textContent = "";
    suggested.forEach(function (item, index) {
      var option = document.createElement("li");
      option.id = "quick-reply-option-" + index;
      option.setAttribute("role", "option");
      option.setAttribute("data-index", String(index));
      var name = document.createElement("strong");
      name.textContent = "/" + item.shortcut;
      var body = document.createElement("span");
      body.className = "muted";
      body.textContent = item.body;
      option.appendChild(name);
      option.appendChild(body);
      list.appendChild(option);
    });
    list.hidden = false;
    area.setAttribute("aria-expanded", "true");
    // A bare "/" may start an ordinary line: Enter picks only once a letter narrowed the list (arrows always work).
    highlight(area, typed ? 0 : -1);
  }

  function chooseSuggestion(area, index) {
    var item = suggested[index];
    var typed = typedShortcut(area);
    if (!item || typed === null) { closeSuggestions(area); return; }
    var end = area.selectionStart;
    closeSuggestions(area);
    insertAtCaret(area, item.body, end - typed.length - 1, end);
  }

  document.addEventListener("input", function (event) {
    if (isReplyArea(event.target)) { showSuggestions(event.target); }
  });

  document.addEventListener("keyup", function (event) {
    // Moving the caret can step into or out of a /shortcut.
    if (isReplyArea(event.target) && /^(ArrowLeft|ArrowRight|Home|End)$/.test(event.key)) {
      showSuggestions(event.target);
    }
  });

  document.addEventListener("focusout", function (event) {
    if (isReplyArea(event.target)) { closeSuggestions(event.target); }
  });

  document.addEventListener("mousedown", function (event) {
    var option = event.target.closest && event.target.closest("#quick-reply-suggestions [role=option]");
    if (!option) { return; }
    event.preventDefault();  // keep the focus (and the caret) in the reply box
    var area = document.getElementById("reply-body");
    if (area) { chooseSuggestion(area, Number(option.getAttribute("data-index"))); }
  });

  // Returns true when the key was meant for the open suggestion list.
  function suggestionKey(area, event) {
    var list = suggestionList();
    if (!list || list.hidden || !suggested.length) { return false; }
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      var step = event.key === "ArrowDown" ? 1 : -1;
      highlight(area, (active + step + suggested.length + (active < 0 && step < 0 ? 1 : 0)) % suggested.length);
      return true;
    }
    if (event.key === "Escape") { closeSuggestions(area); return true; }
    if ((event.key === "Enter" || event.key === "Tab") && active >= 0 && !event.shiftKey) {
      chooseSuggestion(area, active);
      return true;
    }
    return false;
  }

  document.addEventListener("keydown", function (event) {
    var area = event.target;
    if (!isReplyArea(area)) { return; }
    if (!event.ctrlKey && !event.metaKey && !event.altKey && suggestionKey(area, event)) {
      event.preventDefault();
      return;
    }
    if ((event.key === "Enter") && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (area.form.requestSubmit) { area.form.requestSubmit(); } else { area.form.submit(); }
      return;
    }
    if (event.key !== "Tab" && event.key !== "Enter" && event.key !== " ") { return; }
    if (area.selectionStart !== area.selectionEnd) { return; }
    var before = area.value.slice(0, area.selectionStart);
    var match = SHORTCUT.exec(before);
    if (!match) { return; }
    var body = quickReplies()[match[2].toLowerCase()];
    if (body === undefined) { return; }
    event.preventDefault();
    var start = area.selectionStart - match[2].length - 1;
    insertAtCaret(area, body + (event.key === " " ? " " : ""), start, area.selectionStart);
  });

  // -- attachments: show the chosen file; refuse what this server would reject before uploading -------
  var UPLOAD_MAX = 20 * 1024 * 1024;

  document.addEventListener("change", function (event) {
    var input = event.target;
    if (!input.matches || !input.matches("input[data-attachment]")) { return; }
    var label = input.form && input.form.querySelector("[data-attachment-name]");
    var file = input.files && input.files[0];
    if (file && file.size > UPLOAD_MAX) {
      window.alert(file.name + " is larger than 20 MB and cannot be sent from here.");
      input.value = "";
      file = null;
    }
    if (label) { label.textContent = file ? file.name : ""; }
  });

  document.addEventListener("htmx:responseError", function (event) {
    if (event.detail.xhr && event.detail.xhr.status === 413) {
      window.alert("The file is larger than this server accepts.");
    }
  });

  // -- first paint: the newest message in view ------------------------------------------------------
  document.addEventListener("DOMContentLoaded", function () {
    var box = chatScroll();
    if (box) { box.scrollTop = box.scrollHeight; }
  });
})();
