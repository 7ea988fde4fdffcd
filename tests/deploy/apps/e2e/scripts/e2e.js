// e2e.js - the compose test's app (tests/deploy/compose_test.py), run by the
// scripts service of compose.yaml with SFA_APPS=tests/deploy/apps. Its one
// HTTP handler, /app/e2e/scripts/e2e.js/state/json on the gateway, shows
// each way the service is wired in containers: the request itself crosses
// the gateway's query socket; activeFlows() calls the gateway's REST API
// (http.hostname); events come from the events service (setEventHandler);
// a counter is kept with storeSet() on the state volume.
var events = [];

setEventHandler(function(evt) {
  events.push({thresholdID: evt.thresholdID, flowKey: evt.flowKey, eventID: evt.eventID});
  if (events.length > 50) events.shift();
});

setHttpHandler(function(req) {
  if (req.path[0] !== 'state') throw 'not_found';
  var hits = (storeGet('hits') || 0) + 1;
  storeSet('hits', hits);
  return {
    hits: hits,
    events: events,
    top: activeFlows('ALL', 'pairs', 5, 0, 'sum')
  };
});
