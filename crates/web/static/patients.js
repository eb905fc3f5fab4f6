// Patient search as you type (progressive enhancement of the GET form on
// /patients): after a short pause the results part is fetched as an HTML
// fragment from the same page and swapped into the aria-live region; the
// address bar follows, so the back button and reloads keep the search.
// Arrow keys move between the search box and the results.
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
    fetch('/patients?' + params.toString(), {
      credentials: 'same-origin',
      headers: { Accept: 'text/html' },
    })
      .then(function (r) {
        if (!r.ok) throw new Error('status ' + r.status);
        return r.text();
      })
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
