// flow dashboard: keeps the page live. Without JavaScript the page still works
// (the site filter is a plain form); with it, the page listens to /v1/stream and,
// when a new plan version arrives, swaps in /dashboard/main, keeping focus, and
// announces "Plan updated to version N" in the polite live region.
(function () {
  'use strict';
  var main = document.getElementById('main');
  if (!main || !window.EventSource || !window.fetch) { return; }
  var announce = document.getElementById('announce');
  var version = Number(main.getAttribute('data-version'));
  var basis = Number(main.getAttribute('data-basis-seq'));
  var lastSeq = basis;
  var loading = false;
  var wanted = version;

  function setText(id, text) {
    var el = document.getElementById(id);
    if (el && el.textContent !== text) { el.textContent = text; }
  }
  function liveWords() {
    return lastSeq > basis ? 'Plan older than the latest event' : 'Live';
  }

  // Focusable things inside <main>, in document order (to put focus back after a swap).
  function focusables() {
    return Array.prototype.slice.call(main.querySelectorAll('a[href], button, select, input, [tabindex="0"]'));
  }

  function refresh() {
    if (loading || wanted === version) { return; }
    loading = true;
    var target = wanted;
    fetch('/dashboard/main' + window.location.search, { headers: { Accept: 'text/html' } })
      .then(function (r) { if (!r.ok) { throw new Error('HTTP ' + r.status); } return r.text(); })
      .then(function (html) {
        var tpl = document.createElement('template');
        tpl.innerHTML = html;
        var fresh = tpl.content.querySelector('main');
        if (!fresh) { throw new Error('no main'); }
        var active = document.activeElement;
        var inMain = active && active !== main && main.contains(active);
        var focusId = inMain ? active.id : null;
        var focusAt = inMain ? focusables().indexOf(active) : -1;
        var hadMain = active === main;
        main.innerHTML = fresh.innerHTML;
        ['data-version', 'data-basis-seq', 'data-site'].forEach(function (a) {
          main.setAttribute(a, fresh.getAttribute(a) || '');
        });
        version = Number(main.getAttribute('data-version'));
        basis = Number(main.getAttribute('data-basis-seq'));
        var again = focusId ? document.getElementById(focusId) : focusables()[focusAt];
        if (again) {
          again.focus({ preventScroll: true });
        } else if (inMain || hadMain) {
          main.focus({ preventScroll: true });
        }
        setText('live-state', liveWords());
        if (announce) { announce.textContent = 'Plan updated to version ' + version; }
      })
      .catch(function () { setText('live-state', 'Reconnecting…'); })
      .then(function () {
        loading = false;
        if (wanted !== version && wanted !== target) { refresh(); }
      });
  }

  var source = new EventSource('/v1/stream');
  source.addEventListener('open', function () { setText('live-state', liveWords()); });
  source.addEventListener('error', function () { setText('live-state', 'Reconnecting…'); });
  source.addEventListener('plan', function (e) {
    var d = JSON.parse(e.data);
    if (typeof d.basis_seq === 'number' && d.basis_seq > lastSeq) { lastSeq = d.basis_seq; }
    wanted = d.version;
    if (wanted !== version) { refresh(); } else { setText('live-state', liveWords()); }
  });
  source.addEventListener('state', function (e) {
    var d = JSON.parse(e.data);
    lastSeq = d.last_seq;
    setText('events-applied', String(d.events_applied));
    setText('live-state', liveWords());
  });
})();
