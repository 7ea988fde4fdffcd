// common.js - helpers shared by the gateway's pages: fetching JSON with the
// API's error shape, number formatting, a colour palette and a guard for
// the optional chart library. Plain browser JavaScript, no dependencies.
'use strict';

var sfa = (function () {
  // Distinct, readable on white; the chart and its table share them.
  var palette = [
    '#1f77b4', '#ff7f0e', '#2ca02c', '#d62728', '#9467bd',
    '#8c564b', '#e377c2', '#17becf', '#bcbd22', '#7f7f7f',
    '#3b5bdb', '#e8590c', '#2b8a3e', '#c2255c', '#5f3dc4',
    '#0b7285', '#a61e4d', '#5c940d', '#862e9c', '#495057'
  ];

  // GET url as JSON. Rejects with an Error whose message is the API's
  // {"message"} when there is one, else the HTTP status.
  function getJSON(url) {
    return fetch(url, { cache: 'no-store' }).then(function (res) {
      return res.text().then(function (text) {
        var body = null;
        try { body = text ? JSON.parse(text) : null; } catch (e) { body = null; }
        if (!res.ok) {
          var msg = body && body.message ? body.message : 'HTTP ' + res.status;
          var err = new Error(msg);
          err.status = res.status;
          throw err;
        }
        return body;
      });
    });
  }

  // 1234567 -> "1.23 M" (base 1000); unit appended when given.
  function si(n, unit) {
    unit = unit || '';
    if (n === null || n === undefined || !isFinite(n)) return '\u2013';
    var a = Math.abs(n), prefixes = ['', 'k', 'M', 'G', 'T', 'P'], i = 0;
    while (a >= 1000 && i < prefixes.length - 1) { a /= 1000; n /= 1000; i++; }
    var digits = a >= 100 ? 0 : a >= 10 ? 1 : 2;
    if (i === 0 && Number.isInteger(n)) digits = 0;
    var s = n.toFixed(digits);
    var suffix = prefixes[i] + unit;
    return suffix ? s + ' ' + suffix : s;
  }

  // 1234567 -> "1,234,567".
  function int(n) {
    if (n === null || n === undefined || !isFinite(n)) return '\u2013';
    return Math.round(n).toLocaleString('en-US');
  }

  // ms -> "3d 4h", "5h 12m", "4m 09s", "12s".
  function duration(ms) {
    if (!isFinite(ms) || ms < 0) return '\u2013';
    var s = Math.floor(ms / 1000), d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600);
    var m = Math.floor(s % 3600 / 60), sec = s % 60;
    if (d) return d + 'd ' + h + 'h';
    if (h) return h + 'h ' + m + 'm';
    if (m) return m + 'm ' + (sec < 10 ? '0' : '') + sec + 's';
    return sec + 's';
  }

  function color(i) { return palette[i % palette.length]; }

  // uPlot x range for a strip chart (seconds): at least the last minute, so
  // a young chart has sensible ticks and fills from the right.
  function timeRange(u, min, max) {
    if (min === null || max === null) return [min, max];
    return [Math.min(min, max - 60), max];
  }

  // Is the chart library (uPlot, staged at build time) loaded?
  function haveChart() { return typeof window.uPlot === 'function'; }

  // Set the text of the element with id, if present.
  function text(id, value) {
    var el = document.getElementById(id);
    if (el) el.textContent = value;
  }

  // A new element with optional class and text.
  function el(tag, cls, txt) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (txt !== undefined && txt !== null) e.textContent = txt;
    return e;
  }

  // uPlot x axis of a strip chart: wall-clock times, spaced so they never
  // overlap (uPlot's own two-row date labels crowd a short window).
  function timeAxis() {
    return {
      space: 90,
      values: function (u, vals) {
        return vals.map(function (v) {
          return new Date(v * 1000).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });
        });
      }
    };
  }

  return { timeAxis: timeAxis, getJSON: getJSON, si: si, int: int, duration: duration, color: color,
           haveChart: haveChart, text: text, el: el, timeRange: timeRange };
})();
