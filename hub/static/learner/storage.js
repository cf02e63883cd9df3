// SPDX-License-Identifier: AGPL-3.0-or-later
//
// What the tablet keeps between visits: its id, its answer counter, the
// interface language and copies of what the hub last said (classes,
// lessons, pack manifests), so a lesson can go on while the Wi-Fi is down.
//
// localStorage, not a service worker or IndexedDB: the page is served over
// plain http on the school LAN, where browsers give no secure context, and
// localStorage is synchronous, so an answer is stored before anything else
// happens.

(function (CH) {
  'use strict';

  var PREFIX = 'classroomHub.';

  function read(key, fallback) {
    try {
      var raw = window.localStorage.getItem(PREFIX + key);
      return raw === null ? fallback : JSON.parse(raw);
    } catch (error) {
      // A value damaged by hand or by a full disk is as good as none.
      return fallback;
    }
  }

  // Returns false when the browser refused (storage full, or disabled).
  function write(key, value) {
    try {
      window.localStorage.setItem(PREFIX + key, JSON.stringify(value));
      return true;
    } catch (error) {
      return false;
    }
  }

  function remove(key) {
    try {
      window.localStorage.removeItem(PREFIX + key);
    } catch (error) {
      // Nothing to undo: the value simply stays.
    }
  }

  function randomHex(byteCount) {
    var bytes = new Uint8Array(byteCount);
    window.crypto.getRandomValues(bytes);
    var hex = '';
    for (var i = 0; i < bytes.length; i++) {
      hex += (bytes[i] < 16 ? '0' : '') + bytes[i].toString(16);
    }
    return hex;
  }

  // crypto.randomUUID exists only in a secure context, which a tablet on
  // plain http never has; getRandomValues exists everywhere.
  function uuid4() {
    var hex = randomHex(16).split('');
    hex[12] = '4';
    hex[16] = '89ab'.charAt(parseInt(hex[16], 16) & 3);
    hex = hex.join('');
    return [
      hex.slice(0, 8), hex.slice(8, 12), hex.slice(12, 16),
      hex.slice(16, 20), hex.slice(20)
    ].join('-');
  }

  function tabletId() {
    var id = read('tabletId', null);
    if (typeof id !== 'string' || id.indexOf('t-') !== 0) {
      id = 't-' + randomHex(12);
      write('tabletId', id);
    }
    return id;
  }

  // The order of answers on this tablet, without trusting its clock. The
  // new value is saved before it is used, so a crash leaves a gap, never a
  // number used twice.
  function nextTabletSeq() {
    var seq = read('tabletSeq', 0);
    seq = (typeof seq === 'number' && seq >= 0 ? Math.floor(seq) : 0) + 1;
    write('tabletSeq', seq);
    return seq;
  }

  function pad(number, width) {
    var text = String(Math.abs(number));
    while (text.length < width) {
      text = '0' + text;
    }
    return text;
  }

  // The tablet's local time with its offset, e.g. 2026-12-04T09:01:02.120+08:00:
  // toISOString would give UTC and lose which time zone the class was in.
  function localIsoTime(date) {
    var offset = -date.getTimezoneOffset();
    return date.getFullYear() + '-' + pad(date.getMonth() + 1, 2) + '-' +
      pad(date.getDate(), 2) + 'T' + pad(date.getHours(), 2) + ':' +
      pad(date.getMinutes(), 2) + ':' + pad(date.getSeconds(), 2) + '.' +
      pad(date.getMilliseconds(), 3) + (offset < 0 ? '-' : '+') +
      pad(Math.floor(Math.abs(offset) / 60), 2) + ':' +
      pad(Math.abs(offset) % 60, 2);
  }

  CH.storage = {
    read: read,
    write: write,
    remove: remove,
    uuid4: uuid4,
    tabletId: tabletId,
    nextTabletSeq: nextTabletSeq,
    localIsoTime: localIsoTime
  };
})(window.CH = window.CH || {});
