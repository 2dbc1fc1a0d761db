// Live updates for the Optimus status page: the server sends a "change"
// event when the status changes; the page refetches itself and swaps its
// #live region. Without JavaScript the page still works, reloaded by hand.
(function () {
  'use strict';
  var conn = document.getElementById('conn');
  if (!conn || !window.EventSource || !window.fetch || !window.DOMParser) {
    return;
  }
  var busy = false;
  var again = false;

  function say(text) { conn.textContent = text; }

  // focusKey remembers what had the keyboard focus inside the region, so
  // that a refresh does not throw it back to the top of the page.
  function focusKey(live) {
    var el = document.activeElement;
    if (!el || !live.contains(el)) { return null; }
    return el.id ? '#' + el.id : el.getAttribute('href');
  }

  function restoreFocus(live, key) {
    if (!key) { return; }
    var el = key.charAt(0) === '#' ? document.getElementById(key.slice(1)) : null;
    if (!el) {
      var links = live.querySelectorAll('a[href]');
      for (var i = 0; i < links.length; i++) {
        if (links[i].getAttribute('href') === key) { el = links[i]; break; }
      }
    }
    if (el) { el.focus({ preventScroll: true }); }
  }

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(window.location.href, { credentials: 'same-origin', headers: { 'Accept': 'text/html' } })
      .then(function (r) {
        if (!r.ok) { throw new Error('HTTP ' + r.status); }
        return r.text();
      })
      .then(function (html) {
        var next = new DOMParser().parseFromString(html, 'text/html').getElementById('live');
        var live = document.getElementById('live');
        if (next && live) {
          var key = focusKey(live);
          live.replaceWith(document.importNode(next, true));
          restoreFocus(document.getElementById('live'), key);
        }
        say('Live updates: on (updated ' + new Date().toLocaleTimeString() + ')');
      })
      .catch(function (err) { say('Live updates: refresh failed (' + err.message + '); retrying'); })
      .then(function () {
        busy = false;
        if (again) { again = false; refresh(); }
      });
  }

  var stream = new EventSource(conn.getAttribute('data-events'));
  var lost = false;
  stream.addEventListener('open', function () {
    say('Live updates: on');
    // Changes made while the stream was down were not announced.
    if (lost) { lost = false; refresh(); }
  });
  stream.addEventListener('change', refresh);
  stream.addEventListener('error', function () {
    lost = true;
    // A refused stream (signed out, controller gone) is not retried by
    // the browser.
    say(stream.readyState === EventSource.CLOSED ? 'Live updates: off; reload the page' : 'Live updates: reconnecting…');
  });
}());
