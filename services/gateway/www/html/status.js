// status.js - the status page: what sFlow-RT's status page shows, for the
// whole suite. Every second it reads /analyzer/json, /sfa/v1/stats and
// /agents/json, derives rates from the change since the previous read
// (counters are cumulative), and redraws the cards, the input chart (when
// the chart library was staged), the services, the aggregators' bucket
// shares and the agents. A failed read is shown and retried.
'use strict';

(function () {
  var POLL_MS = 1000;
  var CHART_POINTS = 300;
  var prev = null;          // previous sample: {t, dgrams, samples, flows, events, agents:{}, ...}
  var series = { t: [], dgrams: [], samples: [] };
  var chart = null;

  // Sum of the sample counters of every collector's stats.
  function collectorSamples(stats) {
    var sum = 0, flow = 0, counter = 0;
    Object.keys(stats).forEach(function (id) {
      var s = stats[id];
      if (s.service !== 'collector' || !s.counters) return;
      var c = s.counters;
      flow += (c.decode_flow_samples || 0) + (c.decode_expanded_flow_samples || 0);
      counter += (c.decode_counter_samples || 0) + (c.decode_expanded_counter_samples || 0);
      sum += (c.decode_discard_samples || 0);
    });
    return { total: sum + flow + counter, flow: flow, counter: counter };
  }

  function rate(now, before, dt) {
    if (!prev || dt <= 0 || before === undefined || now < before) return null;
    return (now - before) / dt;
  }

  function drawCards(a, smp, t) {
    var dt = prev ? (t - prev.t) / 1000 : 0;
    var dr = rate(a.sFlowDatagramsReceived, prev && prev.dgrams, dt);
    var sr = rate(smp.total, prev && prev.samples, dt);
    var fr = rate(a.flowsGenerated, prev && prev.flows, dt);
    var er = rate(a.eventsGenerated, prev && prev.events, dt);

    sfa.text('agents-count', sfa.int(a.sFlowAgents));
    sfa.text('agents-detail', (a.sfaCollectors || 0) + ' collector' + (a.sfaCollectors === 1 ? '' : 's'));
    sfa.text('datagrams-rate', dr === null ? '\u2013' : sfa.si(dr));
    sfa.text('datagrams-total', sfa.int(a.sFlowDatagramsReceived) + ' received, ' +
      sfa.si(a.sFlowBytesReceived, 'B'));
    sfa.text('samples-rate', sr === null ? '\u2013' : sfa.si(sr));
    sfa.text('samples-total', sfa.int(smp.flow) + ' flow, ' + sfa.int(smp.counter) + ' counter');
    sfa.text('parse-errors', sfa.int(a.sFlowParseErrors));
    sfa.text('parse-detail', sfa.int(a.sFlowUnsupportedVersion) + ' unsupported version, ' +
      sfa.int(a.sFlowDatagramsDiscarded) + ' discarded');
    document.getElementById('parse-card').classList.toggle('bad', a.sFlowParseErrors > 0);
    sfa.text('flows', sfa.int(a.flowsGenerated));
    sfa.text('flows-detail', (fr === null ? '\u2013' : sfa.si(fr)) + ' / s, ' +
      sfa.int(a.flowsLost) + ' lost');
    sfa.text('events', sfa.int(a.eventsGenerated));
    sfa.text('events-detail', (er === null ? '\u2013' : sfa.si(er)) + ' / s, ' +
      sfa.int(a.eventsLost) + ' lost');
    sfa.text('version', a.version || 'sfa');
    sfa.text('uptime', sfa.duration(a.uptime));
    return { dgrams: dr, samples: sr };
  }

  function drawChart(t, rates) {
    if (!sfa.haveChart()) {
      document.getElementById('rate-chart').hidden = true;
      document.getElementById('rate-nochart').hidden = false;
      return;
    }
    if (rates.dgrams === null) return;
    series.t.push(t / 1000);
    series.dgrams.push(rates.dgrams);
    series.samples.push(rates.samples);
    if (series.t.length > CHART_POINTS) {
      series.t.shift(); series.dgrams.shift(); series.samples.shift();
    }
    var data = [series.t, series.dgrams, series.samples];
    var box = document.getElementById('rate-chart');
    if (!chart) {
      chart = new uPlot({
        width: box.clientWidth || 800,
        height: 180,
        scales: { x: { time: true, range: sfa.timeRange }, y: { range: function (u, min, max) { return [0, max > 0 ? max * 1.1 : 1]; } } },
        axes: [sfa.timeAxis(), { values: function (u, vals) { return vals.map(function (v) { return sfa.si(v); }); }, size: 60 }],
        series: [
          {},
          { label: 'Datagrams / s', stroke: sfa.color(0), width: 2, fill: 'rgba(31,119,180,0.08)',
            value: function (u, v) { return sfa.si(v); } },
          { label: 'Samples / s', stroke: sfa.color(1), width: 2,
            value: function (u, v) { return sfa.si(v); } }
        ]
      }, data, box);
      window.addEventListener('resize', function () {
        chart.setSize({ width: box.clientWidth, height: 180 });
      });
    } else {
      chart.setData(data);
    }
  }

  function badge(kind, label) { return sfa.el('span', 'badge ' + kind, label); }

  function row(cells) {
    var tr = document.createElement('tr');
    cells.forEach(function (c) {
      var td = document.createElement('td');
      if (c && c.num) td.className = 'num';
      if (c && c.node) td.appendChild(c.node);
      else td.textContent = c && c.text !== undefined ? c.text : c;
      tr.appendChild(td);
    });
    return tr;
  }

  function replaceBody(table, rows, emptyText, cols) {
    var tbody = table.tBodies[0];
    tbody.textContent = '';
    if (!rows.length) {
      var tr = document.createElement('tr'), td = sfa.el('td', 'empty', emptyText);
      td.colSpan = cols;
      tr.appendChild(td);
      tbody.appendChild(tr);
      return;
    }
    rows.forEach(function (r) { tbody.appendChild(r); });
  }

  // Health and a one-line summary of one service's stats.
  function serviceView(id, s, dt) {
    var c = s.counters || {}, role = s.service || '?', health, up = null, act = '';
    var p = prev && prev.svc[id];
    function r(name) { return p && dt > 0 && c[name] >= p[name] ? (c[name] - p[name]) / dt : null; }
    if (role === 'gateway') {
      health = badge('ok', 'OK');
      up = s.uptime_ms;
      c = { requests: s.http ? s.http.requests : 0, queries: s.query ? s.query.queries : 0 };
      act = sfa.si(r('requests')) + ' requests/s, ' + sfa.int(c.queries) + ' queries, definitions v' +
        (s.state ? s.state.version : '?');
    } else if (role === 'collector') {
      health = s.ageMs < 5000 ? badge('ok', 'OK') : badge('bad', 'stale ' + sfa.duration(s.ageMs));
      up = c.uptime_ms;
      act = sfa.si(r('decode_datagrams')) + ' datagrams/s, ' + sfa.int(c.agents) + ' agents, input ' +
        (c.input || '?');
    } else {
      health = s.live ? badge('ok', 'OK') : badge('bad', 'not answering');
      up = c.uptime_ms;
      if (role === 'aggregator')
        act = sfa.int(s.buckets) + ' buckets, ' + sfa.int(c.keys_tracked) + ' keys, ' +
          sfa.si(r('samples_in')) + ' samples/s';
      else if (role === 'events')
        act = sfa.int(c.thresholds) + ' thresholds, ' + sfa.int(c.events) + ' events';
      else if (s.lastSeenMs !== undefined)
        act = 'last seen ' + sfa.duration(s.lastSeenMs) + ' ago';
    }
    return { role: role, health: health, up: up, act: act, counters: c };
  }

  function drawServices(stats, t) {
    var dt = prev ? (t - prev.t) / 1000 : 0, rows = [], svc = {};
    var order = { gateway: 0, collector: 1, aggregator: 2, events: 3 };
    var ids = Object.keys(stats).sort(function (x, y) {
      var ox = order[stats[x].service], oy = order[stats[y].service];
      ox = ox === undefined ? 9 : ox; oy = oy === undefined ? 9 : oy;
      return ox - oy || (x < y ? -1 : x > y ? 1 : 0);
    });
    ids.forEach(function (id) {
      var v = serviceView(id, stats[id], dt);
      svc[id] = v.counters;
      rows.push(row([{ node: sfa.el('span', 'mono', id) }, v.role, { node: v.health },
        { text: v.up === null || v.up === undefined ? '\u2013' : sfa.duration(v.up), num: true },
        v.act]));
    });
    replaceBody(document.getElementById('services'), rows, 'no service has reported yet', 5);
    return svc;
  }

  function drawShares(stats) {
    var aggs = Object.keys(stats).filter(function (id) {
      return stats[id].service === 'aggregator';
    }).sort();
    var total = aggs.reduce(function (s, id) { return s + (stats[id].buckets || 0); }, 0);
    var bar = document.getElementById('sharebar'), rows = [];
    bar.textContent = '';
    aggs.forEach(function (id, i) {
      var b = stats[id].buckets || 0, share = total ? b / total : 0;
      var c = stats[id].counters || {};
      var seg = sfa.el('div', null, share >= 0.12 ? id : '');
      seg.style.width = (share * 100).toFixed(2) + '%';
      seg.style.background = sfa.color(i);
      seg.title = id + ': ' + b + ' buckets (' + (share * 100).toFixed(1) + '%)';
      bar.appendChild(seg);
      var name = sfa.el('span', 'mono', id);
      var swatch = sfa.el('span');
      swatch.style.cssText = 'display:inline-block;width:10px;height:10px;border-radius:2px;margin-right:6px;background:' + sfa.color(i);
      var cell = document.createElement('span');
      cell.appendChild(swatch); cell.appendChild(name);
      if (!stats[id].live) cell.appendChild(badge('bad', 'down'));
      rows.push(row([{ node: cell }, { text: sfa.int(b), num: true },
        { text: (share * 100).toFixed(1) + ' %', num: true },
        { text: sfa.int(c.keys_tracked), num: true }]));
    });
    replaceBody(document.getElementById('shares'), rows, 'no aggregator has answered yet', 4);
  }

  function drawAgents(agents, t) {
    var dt = prev ? (t - prev.t) / 1000 : 0, rows = [];
    Object.keys(agents).sort(function (x, y) {
      return x.localeCompare(y, 'en', { numeric: true });
    }).forEach(function (addr) {
      var a = agents[addr], p = prev && prev.agents[addr];
      var r = p && dt > 0 && a.sFlowDatagramsReceived >= p ? (a.sFlowDatagramsReceived - p) / dt : null;
      rows.push(row([{ node: sfa.el('span', 'mono', addr) },
        { text: sfa.int(a.sFlowDatagramsReceived), num: true },
        { text: r === null ? '\u2013' : sfa.si(r), num: true },
        { text: sfa.int(a.sFlowFlowSamples), num: true },
        { text: sfa.int(a.sFlowCounterSamples), num: true },
        { text: sfa.int(a.sFlowDatagramsLost), num: true },
        { text: sfa.duration(a.lastSeen) + ' ago', num: true }]));
    });
    replaceBody(document.getElementById('agents'), rows,
      'no sFlow received yet \u2014 point your switches\u2019 sFlow at this host, UDP port 6343', 7);
  }

  function poll() {
    Promise.all([sfa.getJSON('../analyzer/json'), sfa.getJSON('../sfa/v1/stats'),
      sfa.getJSON('../agents/json').catch(function () { return {}; })])
      .then(function (res) {
        var a = res[0], stats = res[1], agents = res[2] || {}, t = Date.now();
        var smp = collectorSamples(stats);
        var rates = drawCards(a, smp, t);
        drawChart(t, rates);
        var svc = drawServices(stats, t);
        drawShares(stats);
        drawAgents(agents, t);
        var ag = {};
        Object.keys(agents).forEach(function (k) { ag[k] = agents[k].sFlowDatagramsReceived; });
        prev = { t: t, dgrams: a.sFlowDatagramsReceived, samples: smp.total,
                 flows: a.flowsGenerated, events: a.eventsGenerated, svc: svc, agents: ag };
        sfa.text('updated', 'updated ' + new Date(t).toLocaleTimeString());
        document.getElementById('updated').classList.remove('err');
      })
      .catch(function (e) {
        sfa.text('updated', 'cannot reach the gateway: ' + e.message + ' (retrying)');
      })
      .then(function () { setTimeout(poll, POLL_MS); });
  }

  poll();
})();
