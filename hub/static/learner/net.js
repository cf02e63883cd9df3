// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Requests to the hub. XMLHttpRequest rather than fetch: it has a timeout
// on every browser the page supports (fetch can only be aborted from Chrome
// 66 and Safari 12.1 on), and a request that hangs on a weak Wi-Fi must end.

(function (CH) {
  'use strict';

  var GET_TIMEOUT_MS = 15000;

  // Resolves with {status, body, headers} for any HTTP answer; rejects only
  // when no answer came (network down, hub stopped, timeout).
  function request(method, url, options) {
    options = options || {};
    return new Promise(function (resolve, reject) {
      var xhr = new XMLHttpRequest();
      xhr.open(method, url, true);
      xhr.timeout = options.timeoutMs || GET_TIMEOUT_MS;
      if (options.responseType) {
        xhr.responseType = options.responseType;
      }
      if (options.json !== undefined) {
        xhr.setRequestHeader('Content-Type', 'application/json');
      }
      xhr.onload = function () {
        resolve({
          status: xhr.status,
          body: options.responseType ? xhr.response : xhr.responseText,
          header: function (name) { return xhr.getResponseHeader(name); }
        });
      };
      xhr.onerror = function () { reject(new Error('network error: ' + url)); };
      xhr.ontimeout = function () { reject(new Error('timeout: ' + url)); };
      xhr.send(options.json === undefined ? null : JSON.stringify(options.json));
    });
  }

  function getJson(url) {
    return request('GET', url).then(function (answer) {
      if (answer.status !== 200) {
        throw new Error('HTTP ' + answer.status + ': ' + url);
      }
      // A captive portal or proxy may answer 200 with HTML: JSON.parse
      // throws then, and the caller treats it as no answer.
      return JSON.parse(answer.body);
    });
  }

  function getBlob(url) {
    return request('GET', url, { responseType: 'blob' }).then(function (answer) {
      if (answer.status !== 200) {
        throw new Error('HTTP ' + answer.status + ': ' + url);
      }
      return answer.body;
    });
  }

  CH.net = { request: request, getJson: getJson, getBlob: getBlob };
})(window.CH = window.CH || {});
