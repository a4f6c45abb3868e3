/* Burrow console: the few things a server-rendered page cannot do alone.
 *
 * - the colour theme (light, dark, or the system's), kept in localStorage;
 * - the confirm dialog: a form whose submit button (or the form itself) has data-confirm asks
 *   in a <dialog> before it is sent; data-comment adds a save-comment field sent as "comment";
 * - the session's end: a warning shortly before it, and a form sent after it kept in
 *   sessionStorage and filled in again once the user has logged in.
 * Loaded from the console itself (the CSP allows no inline script); pages work without it.
 */
(function () {
  "use strict";
  var THEME = "burrow-theme";
  var PENDING = "burrow-pending-form";

  function storedTheme() {
    try { return localStorage.getItem(THEME) || ""; } catch (e) { return ""; }
  }
  function applyTheme(theme) {
    if (theme === "dark" || theme === "light") {
      document.documentElement.setAttribute("data-theme", theme);
    } else {
      document.documentElement.removeAttribute("data-theme");
    }
  }
  applyTheme(storedTheme());

  function isDark() {
    var theme = document.documentElement.getAttribute("data-theme");
    if (theme) { return theme === "dark"; }
    return window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
  }

  function labelThemeButton() {
    var button = document.getElementById("theme-toggle");
    if (!button) { return; }
    var dark = isDark();
    button.setAttribute("aria-pressed", dark ? "true" : "false");
    button.textContent = dark ? "Light mode" : "Dark mode";
  }

  // --- the confirm dialog ------------------------------------------------------------------
  var confirmed = null;

  function askFirst(form, submitter) {
    var source = submitter && submitter.hasAttribute("data-confirm") ? submitter : form;
    var message = source.getAttribute("data-confirm");
    if (message === null) { return false; }
    var dialog = document.getElementById("confirm-dialog");
    if (!dialog || typeof dialog.showModal !== "function") { return false; }
    var commentLabel = source.getAttribute("data-comment");
    var field = document.getElementById("confirm-comment-field");
    var input = document.getElementById("confirm-comment");
    var ok = document.getElementById("confirm-ok");
    document.getElementById("confirm-message").textContent = message;
    ok.textContent = source.getAttribute("data-confirm-button") || "Delete";
    field.hidden = commentLabel === null;
    if (commentLabel !== null) {
      document.getElementById("confirm-comment-label").textContent = commentLabel || "Save comment";
      input.value = "";
    }
    dialog.returnValue = "";
    dialog.onclose = function () {
      if (dialog.returnValue !== "ok") { return; }
      if (commentLabel !== null) {
        var hidden = form.querySelector("input[type=hidden][name=comment]");
        if (!hidden) {
          hidden = document.createElement("input");
          hidden.type = "hidden";
          hidden.name = "comment";
          form.appendChild(hidden);
        }
        hidden.value = input.value;
      }
      confirmed = form;
      if (submitter && form.requestSubmit) { form.requestSubmit(submitter); }
      else if (form.requestSubmit) { form.requestSubmit(); }
      else { form.submit(); }
    };
    dialog.showModal();
    (commentLabel !== null ? input : ok).focus();
    return true;
  }

  // --- forms kept over a login ---------------------------------------------------------------
  function sessionEnd() {
    var info = document.getElementById("session-info");
    if (!info) { return null; }
    var when = Date.parse(info.getAttribute("data-expires") || "");
    return isNaN(when) ? null : when;
  }

  function keepForm(form) {
    if (form.method.toLowerCase() !== "post" || form.closest(".login, .logout") ||
        form.hasAttribute("data-no-keep")) { return; }
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (el) {
      if (!el.name || el.name === "csrf_token" || el.type === "password" || el.type === "file") { return; }
      if ((el.type === "checkbox" || el.type === "radio") && !el.checked) { return; }
      fields.push([el.name, el.value]);
    });
    var record = {
      path: location.pathname + location.search,
      action: form.getAttribute("action") || "",
      fields: fields,
    };
    try { sessionStorage.setItem(PENDING, JSON.stringify(record)); } catch (e) { /* full */ }
  }

  function pending() {
    try { return JSON.parse(sessionStorage.getItem(PENDING) || "null"); } catch (e) { return null; }
  }

  function restoreForm() {
    var record = pending();
    if (!record) { return; }
    var login = document.querySelector("form.login-form");
    if (login) {
      // The form was refused for want of a session: come back to its page after login.
      var next = login.querySelector("input[name=next]");
      if (next && (next.value === "/" || next.value === "") && record.path) { next.value = record.path; }
      record.waiting = true;
      try { sessionStorage.setItem(PENDING, JSON.stringify(record)); } catch (e) { /* full */ }
      if (!document.getElementById("form-kept")) {
        var kept = document.createElement("p");
        kept.className = "note";
        kept.id = "form-kept";
        kept.setAttribute("role", "status");
        kept.textContent = "The form you were sending is kept: log in again and it is filled in again on its page.";
        login.parentNode.insertBefore(kept, login);
      }
      return;
    }
    try { sessionStorage.removeItem(PENDING); } catch (e) { /* gone */ }
    if (!record.waiting || record.path !== location.pathname + location.search) { return; }
    var forms = document.querySelectorAll("main form[method=post]");
    var form = null;
    Array.prototype.forEach.call(forms, function (f) {
      if (!form && (f.getAttribute("action") || "") === record.action) { form = f; }
    });
    if (!form) { return; }
    record.fields.forEach(function (pair) {
      var el = form.elements.namedItem(pair[0]);
      if (!el || el.name === "csrf_token") { return; }
      if (el.length !== undefined && el.tagName !== "SELECT") {
        Array.prototype.forEach.call(el, function (one) {
          if (one.type === "checkbox" || one.type === "radio") { one.checked = one.value === pair[1]; }
        });
      } else if (el.type === "checkbox" || el.type === "radio") {
        el.checked = true;
      } else if (el.type !== "file" && el.type !== "password") {
        el.value = pair[1];
      }
    });
    var note = document.createElement("p");
    note.className = "note";
    note.id = "form-restored";
    note.setAttribute("role", "status");
    note.textContent = "Your session had ended before this form was sent. What you typed is filled in again: check it and send it once more.";
    form.parentNode.insertBefore(note, form);
  }

  // --- the session's end -------------------------------------------------------------------
  var warned = false;
  function watchSession() {
    var end = sessionEnd();
    var banner = document.getElementById("session-warning");
    if (!end || !banner) { return; }
    var left = Math.round((end - Date.now()) / 1000);
    var lead = parseInt(banner.getAttribute("data-lead") || "120", 10);
    if (left <= 0) {
      banner.hidden = false;
      banner.textContent = "Your session has ended. Anything you send now is kept and filled in again after you log in.";
    } else if (left <= lead) {
      banner.hidden = false;
      var minutes = Math.floor(left / 60);
      var seconds = left % 60;
      banner.textContent = "Your session ends in " + (minutes ? minutes + " min " : "") + seconds +
        " s. Save what you are doing; you will be asked to log in again.";
      warned = true;
    } else if (warned) {
      banner.hidden = true;
    }
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || form.method === "dialog") { return; }
    if (confirmed === form) {
      confirmed = null;
    } else if (askFirst(form, event.submitter)) {
      event.preventDefault();
      event.stopImmediatePropagation();
      return;
    }
    keepForm(form);
  }, true);

  // --- bulk selection ------------------------------------------------------------------------
  function rowsOf(formId) {
    return document.querySelectorAll('input[type=checkbox][name=selected][form="' + formId + '"]');
  }
  function updateBulk() {
    Array.prototype.forEach.call(document.querySelectorAll("form[data-bulk]"), function (form) {
      var rows = rowsOf(form.id);
      var checked = 0;
      Array.prototype.forEach.call(rows, function (box) { if (box.checked) { checked += 1; } });
      var count = form.querySelector("[data-bulk-count]");
      if (count) { count.textContent = String(checked); }
      Array.prototype.forEach.call(form.querySelectorAll("button[name=bulk]"), function (button) {
        button.disabled = checked === 0;
      });
      var all = document.querySelector('input[data-select-all="' + form.id + '"]');
      if (all) {
        all.checked = rows.length > 0 && checked === rows.length;
        all.indeterminate = checked > 0 && checked < rows.length;
      }
    });
  }
  document.addEventListener("change", function (event) {
    var box = event.target;
    if (!(box instanceof HTMLInputElement) || box.type !== "checkbox") { return; }
    var formId = box.getAttribute("data-select-all");
    if (formId) {
      Array.prototype.forEach.call(rowsOf(formId), function (row) { row.checked = box.checked; });
    }
    if (formId || box.name === "selected") { updateBulk(); }
  });

  document.addEventListener("click", function (event) {
    var target = event.target;
    if (target && target.id === "theme-toggle") {
      var theme = isDark() ? "light" : "dark";
      try { localStorage.setItem(THEME, theme); } catch (e) { /* private mode */ }
      applyTheme(theme);
      labelThemeButton();
    }
  });

  function onPage() {
    labelThemeButton();
    updateBulk();
    restoreForm();
    watchSession();
  }
  document.addEventListener("DOMContentLoaded", function () {
    onPage();
    window.setInterval(watchSession, 1000);
    document.body.addEventListener("htmx:afterSettle", function (event) {
      if (event.target === document.body) { onPage(); }
    });
  });
})();
