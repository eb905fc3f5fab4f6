// Patient search as you type (progressive enhancement of the GET form on
// /patients): after a short pause the results part is fetched as an HTML
// fragment from the same page and swapped into the aria-live region; the
// address bar follows, so the back button and reloads keep the search.
// Arrow keys move between the search box and the results.
// The results fragment of /patients for a query string (shared by the
// search page and the patient picker).
function patientResults(query) {
  'use strict';
  return fetch('/patients?' + query, {
    credentials: 'same-origin',
    headers: { Accept: 'text/html' },
  }).then(function (r) {
    if (!r.ok) throw new Error('status ' + r.status);
    return r.text();
  });
}

(function () {
  'use strict';
  var form = document.getElementById('patient-search');
  var out = document.getElementById('patient-results');
  if (!form || !out || !window.fetch) return;
  var box = document.getElementById('q');
  var timer = null;
  var latest = 0;

  function query() {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      if (typeof v === 'string' && v.trim() !== '') params.append(k, v);
    });
    return params;
  }

  function run() {
    var params = query();
    var shown = params.toString();
    params.set('fragment', 'results');
    var mine = ++latest;
    out.setAttribute('aria-busy', 'true');
    patientResults(params.toString())
      .then(function (html) {
        if (mine !== latest) return;
        out.innerHTML = html;
        history.replaceState(null, '', '/patients' + (shown ? '?' + shown : ''));
      })
      .catch(function () {
        // Leave the last results; the form still submits normally.
      })
      .then(function () {
        if (mine === latest) out.removeAttribute('aria-busy');
      });
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(run, 250);
  }

  form.addEventListener('input', later);
  form.addEventListener('change', later);

  function links() {
    return Array.prototype.slice.call(out.querySelectorAll('ul.results a'));
  }

  if (box) {
    box.addEventListener('keydown', function (e) {
      if (e.key === 'ArrowDown') {
        var l = links();
        if (l.length > 0) {
          e.preventDefault();
          l[0].focus();
        }
      }
    });
  }
  out.addEventListener('keydown', function (e) {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    var l = links();
    var i = l.indexOf(document.activeElement);
    if (i < 0) return;
    e.preventDefault();
    if (e.key === 'ArrowDown' && i + 1 < l.length) l[i + 1].focus();
    else if (e.key === 'ArrowUp') (i > 0 ? l[i - 1] : box || l[0]).focus();
  });
})();

// Patient picker (family link and merge forms on the chart): typing in a
// form's [data-pick-search] box fetches the same results fragment; choosing
// a result fills the form's [data-pick-id] field with that patient's id
// instead of opening the chart. Without script the id field is typed or
// pasted (a chart address works too).
(function () {
  'use strict';
  if (!window.fetch) return;
  var forms = document.querySelectorAll('form[data-pick]');
  Array.prototype.forEach.call(forms, function (form) {
    var box = form.querySelector('[data-pick-search]');
    var field = form.querySelector('[data-pick-id]');
    var out = box && document.getElementById(box.getAttribute('aria-controls'));
    if (!box || !field || !out) return;
    var timer = null;
    var latest = 0;
    function run() {
      var q = box.value.trim();
      var mine = ++latest;
      if (q === '') {
        out.innerHTML = '';
        return;
      }
      patientResults('fragment=results&q=' + encodeURIComponent(q))
        .then(function (html) {
          if (mine === latest) out.innerHTML = html;
        })
        .catch(function () {});
    }
    box.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(run, 250);
    });
    box.addEventListener('keydown', function (e) {
      if (e.key === 'Enter') {
        e.preventDefault();
        run();
      }
    });
    out.addEventListener('click', function (e) {
      var a = e.target.closest ? e.target.closest('ul.results a') : null;
      if (!a) return;
      e.preventDefault();
      var id = a.getAttribute('href').split('/').pop();
      field.value = id;
      out.innerHTML = '';
      box.value = a.textContent.trim();
      field.focus();
    });
  });
})();

// Copy buttons: [data-copy] names the field whose value is copied.
(function () {
  'use strict';
  var buttons = document.querySelectorAll('button[data-copy]');
  Array.prototype.forEach.call(buttons, function (b) {
    b.addEventListener('click', function () {
      var f = document.getElementById(b.getAttribute('data-copy'));
      if (!f) return;
      f.select();
      if (navigator.clipboard) navigator.clipboard.writeText(f.value).catch(function () {});
    });
  });
})();
