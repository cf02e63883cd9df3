// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The tablet's queue of answers and the one sender that empties it.
//
// Every answer is appended to localStorage the moment it is given, before
// any network, so a dropped Wi-Fi, a sleeping tablet or a closed tab loses
// nothing. Batches go to POST /api/v1/results. A record leaves the queue
// only when a 200 answer names its id as accepted or rejected; after a
// network error, a timeout or any other status the batch stays and is sent
// again later. Sending twice is harmless (the hub keeps one record per id),
// losing is not. Only one request is ever in flight.

(function (CH) {
  'use strict';

  var QUEUE_KEY = 'resultQueue';
  var BATCH_LIMIT = 50;
  var POST_TIMEOUT_MS = 20000;
  var SEND_AFTER_ANSWERS = 5;
  var PERIOD_MS = 10000;
  var FIRST_RETRY_MS = 2000;
  var LONGEST_RETRY_MS = 60000;

  var memoryQueue = null;   // the queue as last written, if storage refused
  var flushing = null;      // the promise of the send loop now running
  var retryTimer = null;
  var failures = 0;
  var batchLimit = BATCH_LIMIT;
  var answersSinceSend = 0;
  var listeners = [];

  // Read from storage each time rather than from memory, so two tabs of
  // the page on one tablet do not overwrite each other's answers.
  function load() {
    if (memoryQueue) {
      return memoryQueue.slice();
    }
    var queue = CH.storage.read(QUEUE_KEY, []);
    return Array.isArray(queue) ? queue : [];
  }

  function save(queue) {
    if (CH.storage.write(QUEUE_KEY, queue)) {
      memoryQueue = null;
    } else {
      // XXX storage full: answers then live only as long as the page. The
      // proper fix is an IndexedDB queue with a quota check.
      memoryQueue = queue.slice();
    }
    notify();
  }

  function notify() {
    var state = { waiting: load().length, storageFull: memoryQueue !== null };
    for (var i = 0; i < listeners.length; i++) {
      listeners[i](state);
    }
  }

  function append(record) {
    var queue = load();
    queue.push(record);
    save(queue);

    answersSinceSend += 1;
    if (answersSinceSend >= SEND_AFTER_ANSWERS && retryTimer === null) {
      flush();
    }
  }

  function forget(ids) {
    var gone = {};
    for (var i = 0; i < ids.length; i++) {
      gone[ids[i]] = true;
    }
    save(load().filter(function (record) { return !gone[record.id]; }));
  }

  // The ids a 200 answer settles: accepted ones, and rejected ones, which
  // will never be accepted and must not block the queue. Only ids of this
  // batch count, whatever else the answer says.
  function settledIds(batch, body) {
    var sent = {};
    batch.forEach(function (record) { sent[record.id] = true; });
    var ids = [];
    (Array.isArray(body.accepted) ? body.accepted : []).forEach(function (id) {
      if (sent[id] === true) {
        ids.push(id);
      }
    });
    (Array.isArray(body.rejected) ? body.rejected : []).forEach(function (item) {
      var id = item && item.id;
      if (typeof id !== 'string' && item && batch[item.index]) {
        id = batch[item.index].id;
      }
      if (sent[id] === true) {
        ids.push(id);
        if (window.console) {
          window.console.warn('hub rejected result', id, item.field, item.reason);
        }
      }
    });
    return ids;
  }

  // Resolves with what to do next: {settled: [ids]}, {smaller: true} or
  // {retryAfterMs: n}; never rejects.
  function postBatch(batch) {
    var body = { tablet_id: CH.storage.tabletId(), results: batch };
    var options = { json: body, timeoutMs: POST_TIMEOUT_MS };
    return CH.net.request('POST', '/api/v1/results', options).then(
      function (answer) {
        if (answer.status === 200) {
          try {
            return { settled: settledIds(batch, JSON.parse(answer.body)) };
          } catch (error) {
            // 200 with something other than JSON: a captive portal.
            return { retryAfterMs: 0 };
          }
        }
        if (answer.status === 413 && batch.length > 1) {
          return { smaller: true };
        }
        var retryAfterS = parseInt(answer.header('Retry-After'), 10);
        return { retryAfterMs: isNaN(retryAfterS) ? 0 : retryAfterS * 1000 };
      },
      function () { return { retryAfterMs: 0 }; }
    );
  }

  function sendRounds() {
    var batch = load().slice(0, batchLimit);
    if (!batch.length) {
      return Promise.resolve(0);
    }

    return postBatch(batch).then(function (outcome) {
      if (outcome.smaller) {
        batchLimit = Math.max(1, Math.floor(batch.length / 2));
        return sendRounds();
      }
      if (outcome.settled && outcome.settled.length) {
        failures = 0;
        forget(outcome.settled);
        return sendRounds();
      }
      // Also a 200 that settled nothing, so a confused answer cannot make
      // the tablet send the same batch in a tight loop.
      failures += 1;
      scheduleRetry(outcome.retryAfterMs || 0);
      return load().length;
    });
  }

  // Waits grow 2 s, 4 s, 8 s … up to a minute, each shortened by a random
  // part, so 40 tablets that lost the hub together do not return together.
  function scheduleRetry(atLeastMs) {
    cancelRetry();
    var backoff = Math.min(LONGEST_RETRY_MS,
      FIRST_RETRY_MS * Math.pow(2, Math.min(failures - 1, 10)));
    var delay = Math.max(atLeastMs, backoff * (0.5 + Math.random() / 2));
    retryTimer = window.setTimeout(function () {
      retryTimer = null;
      flush();
    }, delay);
  }

  function cancelRetry() {
    if (retryTimer !== null) {
      window.clearTimeout(retryTimer);
      retryTimer = null;
    }
  }

  // Sends everything now, batch after batch, and resolves with how many
  // answers still wait. A call while a send runs joins that send, so there
  // is never a second request in flight.
  function flush() {
    if (flushing) {
      return flushing;
    }
    cancelRetry();
    answersSinceSend = 0;
    batchLimit = BATCH_LIMIT;
    flushing = sendRounds().then(function (waiting) {
      flushing = null;
      notify();
      return waiting;
    }, function (error) {
      // Only a bug gets here; the answers stay queued for the next try.
      if (window.console) {
        window.console.error('sending results failed', error);
      }
      flushing = null;
      failures += 1;
      scheduleRetry(0);
      return load().length;
    });
    return flushing;
  }

  // A periodic send, unless a retry is already waiting for its turn.
  function sendIfDue() {
    if (retryTimer === null && !flushing && load().length) {
      flush();
    }
  }

  function start() {
    window.setInterval(sendIfDue, PERIOD_MS);
    window.addEventListener('online', function () {
      failures = 0;
      flush();
    });
    document.addEventListener('visibilitychange', function () {
      // Hidden: the tablet may sleep soon, so send while we still can.
      // Visible again: the Wi-Fi may be back.
      flush();
    });
    window.addEventListener('storage', function (event) {
      if (event.key === 'classroomHub.' + QUEUE_KEY) {
        notify();
      }
    });
    if (load().length) {
      flush();
    }
  }

  CH.results = {
    append: append,
    flush: flush,
    start: start,
    waiting: function () { return load().length; },
    onChange: function (listener) {
      listeners.push(listener);
      notify();
    }
  };
})(window.CH = window.CH || {});
