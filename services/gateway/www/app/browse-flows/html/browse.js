// browse.js - Browse Flows: a live, stacked chart of the top flows for any
// keys, value and filter, with click-to-filter drill-down (the behaviour of
// sFlow-RT's browse-flows app, spec section 9).
//
// State (keys, value, filter) lives in the URL query (index.html?keys=..,
// replaced in place, defaults omitted, so views are bookmarkable) and in
// sessionStorage (flow_browser_keys|value|filter) for a plain index.html.
// Polling: ../scripts/top.js/flows/json?keys=&value=&filter=[&after=] every
// second (5 s after an error), with value translated for the engine (bps
// and Bps -> bytes, fps -> frames; bps scaled x8 here); the answer's points
// are appended and the last 300 (5 minutes) kept. Suggestions come from
// ../scripts/top.js/flowkeys/json?search=. Without the chart library the
// table alone is shown.
'use strict';

(function () {
  var REST = '../scripts/top.js/';
  var KEYS_URL = REST + 'flowkeys/json';
  var TOP_URL = REST + 'flows/json';
  var SEP = '_SEP_';
  var MAX_POINTS = 300;
  var MAX_SERIES = 20;
  var POLL_MS = 1000;
  var ERROR_MS = 5000;
  var FIELDS = ['keys', 'value', 'filter'];

  var state = { keys: '', value: '', filter: '' };
  var db = null;            // {times: [ms], topn: [{key: value}]}
  var generation = 0;       // bumped on every restart; stale answers are dropped
  var timer = null;
  var chart = null;
  var chartKeys = [];       // flow keys of the chart's series, bottom first
  var colours = {};         // flow key -> palette index, kept while the key is charted
  var hoverIdx = null;      // point under the cursor, or null for the latest

  var $ = function (id) { return document.getElementById(id); };

  // ---- state: URL and sessionStorage ----

  function store(k, v) {
    try { window.sessionStorage.setItem('flow_browser_' + k, v); } catch (e) { /* private mode */ }
  }

  function stored(k) {
    try { return window.sessionStorage.getItem('flow_browser_' + k) || ''; } catch (e) { return ''; }
  }

  function queryString() {
    return FIELDS.filter(function (k) { return state[k] !== ''; }).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(state[k]);
    }).join('&');
  }

  function setState(k, v, showQuery) {
    state[k] = v;
    store(k, v);
    if (showQuery) {
      var q = queryString();
      window.history.replaceState({}, '', q ? 'index.html?' + q : 'index.html');
    }
  }

  // The URL wins when it names any field (a bookmark means exactly what it
  // says); otherwise the session's last view comes back.
  function loadState() {
    var params = new URLSearchParams(window.location.search);
    var fromUrl = FIELDS.some(function (k) { return params.has(k); });
    FIELDS.forEach(function (k) {
      setState(k, fromUrl ? (params.get(k) || '') : stored(k), false);
      $(k).value = state[k];
    });
  }

  // ---- value translation ----

  function engineValue(v) {
    return v === 'bps' || v === 'Bps' ? 'bytes' : v === 'fps' ? 'frames' : v;
  }

  function scale(v) { return v === 'bps' ? 8 : 1; }

  function title(v) {
    switch (v) {
      case 'bps': return 'Bits per second';
      case 'Bps': case 'bytes': return 'Bytes per second';
      case 'fps': case 'frames': return 'Frames per second';
      default: return v;
    }
  }

  function unit(v) {
    return v === 'bps' ? 'bps' : v === 'Bps' ? 'B/s' : v === 'fps' ? 'fps' : '';
  }

  function fmt(x) { return sfa.si(x, unit(state.value)); }

  // Key names, split on commas that are not escaped with a backslash.
  function headings() { return state.keys.match(/(\\.|[^,])+/g) || []; }

  // ---- drill-down ----

  function addFilter(key, value) {
    var f = state.filter ? state.filter + '&' : '';
    f += "'" + key + "'='" + value + "'";
    $('filter').value = f;
    setState('filter', f, true);
    restart();
  }

  // ---- polling ----

  function status(msg, isError) {
    var s = $('status');
    s.textContent = '';
    if (isError) s.appendChild(sfa.el('span', 'err', msg));
    else s.textContent = msg;
  }

  function merge(data, k) {
    var tr = data && data.trend;
    if (!tr || !tr.times || !tr.times.length) return false;
    var topn = (tr.trends && tr.trends.topn) || [];
    if (k !== 1) {
      topn.forEach(function (p) { Object.keys(p).forEach(function (f) { p[f] *= k; }); });
    }
    if (!db) db = { times: [], topn: [] };
    db.times = db.times.concat(tr.times);
    db.topn = db.topn.concat(topn);
    if (db.times.length > MAX_POINTS) {
      db.times = db.times.slice(db.times.length - MAX_POINTS);
      db.topn = db.topn.slice(db.topn.length - MAX_POINTS);
    }
    return true;
  }

  function poll(gen) {
    var q = { keys: state.keys, value: engineValue(state.value), filter: state.filter };
    if (db && db.times.length) q.after = db.times[db.times.length - 1];
    var url = TOP_URL + '?' + Object.keys(q).map(function (k) {
      return encodeURIComponent(k) + '=' + encodeURIComponent(q[k]);
    }).join('&');
    sfa.getJSON(url).then(function (data) {
      if (gen !== generation) return;
      if (merge(data, scale(state.value))) render();
      var n = db ? Object.keys(db.topn[db.topn.length - 1] || {}).length : 0;
      status(n + ' flow' + (n === 1 ? '' : 's') + ' \u00b7 updated ' +
        new Date().toLocaleTimeString() + ' \u00b7 every second');
      timer = setTimeout(function () { poll(gen); }, POLL_MS);
    }, function (e) {
      if (gen !== generation) return;
      status('The gateway refused this view: ' + e.message + ' (retrying in 5 s)', true);
      timer = setTimeout(function () { poll(gen); }, ERROR_MS);
    });
  }

  function restart() {
    generation++;
    if (timer) clearTimeout(timer);
    timer = null;
    db = null;
    colours = {};
    hoverIdx = null;
    destroyChart();
    $('flows').tHead.textContent = '';
    $('flows').tBodies[0].textContent = '';
    if (!state.keys || !state.value) {
      $('help').hidden = false;
      $('results').hidden = true;
      status('Enter keys and a value, then Submit.');
      return;
    }
    $('help').hidden = true;
    $('results').hidden = false;
    $('nochart').hidden = sfa.haveChart();
    $('chart').hidden = !sfa.haveChart();
    $('chart-title').textContent = title(state.value);
    $('chart-sub').textContent = 'top flows by ' + headings().join(', ') +
      (state.filter ? ' where ' + state.filter : '');
    status('Waiting for the first points\u2026');
    poll(generation);
  }

  // ---- drawing ----

  function colourOf(key) {
    return key in colours ? sfa.color(colours[key]) : '#ced4da';
  }

  // Keys leaving the chart free their colours; new keys take the lowest
  // free ones, so no two charted flows share a colour.
  function assignColours(keys) {
    var used = {};
    Object.keys(colours).forEach(function (k) {
      if (keys.indexOf(k) < 0) delete colours[k];
      else used[colours[k]] = true;
    });
    keys.forEach(function (k) {
      if (k in colours) return;
      var i = 0;
      while (used[i]) i++;
      colours[k] = i;
      used[i] = true;
    });
  }

  // An opaque lighter shade of a #rrggbb colour (stacked areas overlap).
  function light(hex) {
    var n = parseInt(hex.slice(1), 16), mix = function (c) { return Math.round(c + (255 - c) * 0.35); };
    return 'rgb(' + mix(n >> 16 & 255) + ',' + mix(n >> 8 & 255) + ',' + mix(n & 255) + ')';
  }

  // Flow keys to chart, at most MAX_SERIES: every flow of the latest point,
  // then the window's largest by total; stacked in order of first
  // appearance (the server lists each point's flows largest first), so
  // the chart keeps its layers while the ranking moves.
  function windowKeys() {
    var total = {}, first = {}, n = 0;
    db.topn.forEach(function (p) {
      Object.keys(p).forEach(function (k) {
        if (!(k in first)) first[k] = n++;
        total[k] = (total[k] || 0) + p[k];
      });
    });
    var keys = Object.keys(db.topn[db.topn.length - 1] || {}).slice(0, MAX_SERIES);
    Object.keys(total).sort(function (a, b) { return total[b] - total[a]; }).forEach(function (k) {
      if (keys.length < MAX_SERIES && keys.indexOf(k) < 0) keys.push(k);
    });
    return keys.sort(function (a, b) { return first[a] - first[b]; });
  }

  function destroyChart() {
    if (chart) chart.destroy();
    chart = null;
    chartKeys = [];
    $('chart').textContent = '';
  }

  // Stacked: series i carries the sum of flows 0..i; drawn from the top
  // down with opaque fills, each band shows one flow.
  function chartData(keys) {
    var x = db.times.map(function (t) { return t / 1000; }), data = [x], acc = x.map(function () { return 0; });
    var layers = keys.map(function (k) {
      acc = acc.map(function (a, j) { return a + (db.topn[j][k] || 0); });
      return acc;
    });
    for (var i = layers.length - 1; i >= 0; i--) data.push(layers[i]);
    return data;
  }

  function drawChart(keys) {
    if (!sfa.haveChart()) return;
    var box = $('chart');
    var same = keys.length === chartKeys.length && keys.every(function (k, i) { return k === chartKeys[i]; });
    var data = chartData(keys);
    if (chart && same) {
      chart.setData(data);
      return;
    }
    destroyChart();
    chartKeys = keys;
    var series = [{}];
    for (var i = keys.length - 1; i >= 0; i--) {
      var c = colourOf(keys[i]);
      series.push({ label: keys[i].split(SEP).join(', '), stroke: c, fill: light(c), width: 1,
                    points: { show: false } });
    }
    chart = new uPlot({
      width: box.clientWidth || 900,
      height: 320,
      legend: { show: false },
      cursor: { points: { show: false }, drag: { x: false, y: false } },
      scales: { x: { time: true, range: sfa.timeRange }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.05 : 1]; } } },
      axes: [sfa.timeAxis(), { size: 80, values: function (u, vals) { return vals.map(fmt); } }],
      series: series,
      hooks: {
        setCursor: [function (u) {
          var idx = u.cursor.idx;
          if (idx !== hoverIdx) { hoverIdx = idx === undefined ? null : idx; drawTable(); }
        }]
      }
    }, data, box);
  }

  function keyCell(heading, text) {
    var td = sfa.el('td', 'key', text);
    td.title = 'Filter on ' + heading + ' = ' + text;
    td.addEventListener('click', function () { addFilter(heading, text); });
    return td;
  }

  // The table: the flows of the latest point (or of the point under the
  // cursor), largest first; every key cell filters on click.
  function drawTable() {
    var table = $('flows'), hs = headings();
    var idx = hoverIdx !== null && hoverIdx < db.topn.length ? hoverIdx : db.topn.length - 1;
    var point = db.topn[idx] || {};
    var when = hoverIdx !== null ? ' at ' + new Date(db.times[idx]).toLocaleTimeString() : '';
    if (!table.tHead.rows.length || table.dataset.when !== when) {
      var tr = document.createElement('tr');
      tr.appendChild(sfa.el('th', 'swatch', ''));
      tr.appendChild(sfa.el('th', 'rank', '#'));
      hs.forEach(function (h) { tr.appendChild(sfa.el('th', null, h)); });
      tr.appendChild(sfa.el('th', 'num', title(state.value) + when));
      table.tHead.textContent = '';
      table.tHead.appendChild(tr);
      table.dataset.when = when;
    }
    var body = table.tBodies[0];
    body.textContent = '';
    var flows = Object.keys(point).sort(function (a, b) { return point[b] - point[a]; });
    if (!flows.length) {
      var empty = document.createElement('tr'), td = sfa.el('td', 'empty',
        'No flows match yet. Traffic appears within a few seconds of reaching the collectors.');
      td.colSpan = hs.length + 3;
      empty.appendChild(td);
      body.appendChild(empty);
    }
    flows.forEach(function (f, i) {
      var parts = f.split(SEP), row = document.createElement('tr');
      var sw = sfa.el('td', 'swatch'), dot = sfa.el('span');
      dot.style.background = colourOf(f);
      sw.appendChild(dot);
      sw.title = 'Filter on this whole flow';
      sw.addEventListener('click', function () {
        var f2 = state.filter;
        hs.forEach(function (h, j) {
          f2 = (f2 ? f2 + '&' : '') + "'" + h + "'='" + (parts[j] || '') + "'";
        });
        $('filter').value = f2;
        setState('filter', f2, true);
        restart();
      });
      row.appendChild(sw);
      row.appendChild(sfa.el('td', 'rank', String(i + 1)));
      hs.forEach(function (h, j) { row.appendChild(keyCell(h, parts[j] !== undefined ? parts[j] : '')); });
      row.appendChild(sfa.el('td', 'num', fmt(point[f])));
      body.appendChild(row);
    });
  }

  function render() {
    var keys = windowKeys();
    assignColours(keys);
    drawChart(keys);
    drawTable();
  }

  // ---- suggestions ----

  // [text up to and including the last separator, the rest]
  function split(str, re) {
    var end = 0, m;
    re.lastIndex = 0;
    while ((m = re.exec(str)) !== null) end = re.lastIndex;
    return [str.substring(0, end), str.substring(end)];
  }

  function suggest(input, list, re, suffix) {
    var pending = null;
    function update() {
      var parts = split(input.value, re);
      sfa.getJSON(KEYS_URL + '?search=' + encodeURIComponent(parts[1])).then(function (names) {
        list.textContent = '';
        (names || []).slice(0, 200).forEach(function (n) {
          if (n === parts[1]) return;
          var o = document.createElement('option');
          o.value = parts[0] + n + suffix;
          list.appendChild(o);
        });
      }, function () { /* suggestions are optional */ });
    }
    input.addEventListener('input', function () {
      if (pending) clearTimeout(pending);
      pending = setTimeout(update, 150);
    });
    input.addEventListener('focus', update);
  }

  // ---- wiring ----

  $('query').addEventListener('submit', function (e) {
    e.preventDefault();
    setState('keys', $('keys').value.trim().replace(/,+$/, ''), false);
    setState('value', $('value').value.trim(), false);
    setState('filter', $('filter').value.trim(), true);
    $('keys').value = state.keys;
    restart();
  });
  $('reset').addEventListener('click', function () {
    FIELDS.forEach(function (k) { $(k).value = ''; setState(k, '', k === 'filter'); });
    restart();
  });
  $('clone').addEventListener('click', function () { window.open(window.location.href); });
  window.addEventListener('resize', function () {
    if (chart) chart.setSize({ width: $('chart').clientWidth, height: 320 });
  });
  suggest($('keys'), $('keys-list'), /,/g, '');
  suggest($('filter'), $('filter-list'), /[&|(]/g, '=');

  // For tests and the curious: the page's view of the data.
  window.sfaBrowse = {
    state: state,
    points: function () { return db ? db.topn.length : 0; },
    lastTime: function () { return db && db.times.length ? db.times[db.times.length - 1] : null; },
    latest: function () { return db && db.topn.length ? db.topn[db.topn.length - 1] : {}; },
    seriesKeys: function () {
      return chart ? chartKeys.map(function (k) { return k.split(SEP).join(','); }) : [];
    },
    chartSeries: function () { return chart ? chart.series.length - 1 : 0; }
  };

  loadState();
  setState('filter', state.filter, true);
  restart();
})();
