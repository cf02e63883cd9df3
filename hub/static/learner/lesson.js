// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Opening a lesson: its pack's manifest, every picture and sound it needs
// fetched before the first activity (so a Wi-Fi drop mid-lesson does not
// leave empty pictures), and the one sound player of the page.

(function (CH) {
  'use strict';

  var LONGEST_PROMPT_MS = 8000;
  var manifests = {};

  function packBase(packId, version) {
    return '/packs/' + encodeURIComponent(packId) + '/' +
      encodeURIComponent(version) + '/';
  }

  function mediaUrl(base, path) {
    return base + path.split('/').map(encodeURIComponent).join('/');
  }

  // A pack version never changes, so a copy kept from an earlier visit is
  // as good as the hub's and lets a lesson open with the Wi-Fi down.
  function manifest(packId, version) {
    var key = packId + '@' + version;
    if (manifests[key]) {
      return Promise.resolve(manifests[key]);
    }
    return CH.net.getJson(packBase(packId, version) + 'pack.json').then(
      function (found) {
        manifests[key] = found;
        CH.storage.write('manifest.' + key, found);
        return found;
      },
      function (error) {
        var kept = CH.storage.read('manifest.' + key, null);
        if (kept) {
          manifests[key] = kept;
          return kept;
        }
        throw error;
      }
    );
  }

  function findById(list, id) {
    for (var i = 0; i < (list || []).length; i++) {
      if (list[i].id === id) {
        return list[i];
      }
    }
    return null;
  }

  // The lesson card shows the first word of the lesson's topic; a lesson
  // without a topic shows the first word of its first activity.
  function coverWord(pack, lessonId) {
    var lesson = findById(pack.lessons, lessonId);
    if (!lesson) {
      return null;
    }
    var words = pack.words || [];
    for (var i = 0; i < words.length; i++) {
      if (lesson.topic && words[i].topic === lesson.topic) {
        return words[i];
      }
    }
    var first = (lesson.activities || [])[0];
    return first && first.words ? findById(words, first.words[0]) : null;
  }

  function coverUrl(pack, lessonId) {
    var word = coverWord(pack, lessonId);
    return word && word.picture ?
      mediaUrl(packBase(pack.id, pack.version), word.picture) : null;
  }

  function loadPicture(url) {
    return new Promise(function (resolve) {
      var image = new Image();
      image.onload = function () { resolve(image); };
      image.onerror = function () { resolve(image); };
      image.src = url;
    });
  }

  // Sounds are held as blob URLs: the browser's media cache may drop a
  // sound that is not playing, and it must still play with the Wi-Fi down.
  function loadSound(url) {
    return CH.net.getBlob(url).then(
      function (blob) { return window.URL.createObjectURL(blob); },
      function () { return url; }
    );
  }

  function open(packId, version, lessonId) {
    return manifest(packId, version).then(function (pack) {
      var lesson = findById(pack.lessons, lessonId);
      if (!lesson) {
        throw new Error('no lesson ' + lessonId + ' in ' + packId);
      }
      var base = packBase(packId, version);
      var words = {};
      (pack.words || []).forEach(function (word) { words[word.id] = word; });

      var pictures = {};
      var sounds = {};
      var loads = [];
      lesson.activities.forEach(function (activity) {
        (activity.words || []).forEach(function (wordId) {
          var word = words[wordId];
          if (word && word.picture && !pictures[wordId]) {
            pictures[wordId] = mediaUrl(base, word.picture);
            loads.push(loadPicture(pictures[wordId]));
          }
          var path = word && word.audio && activity.language ?
            word.audio[activity.language] : null;
          var key = activity.language + '/' + wordId;
          if (path && sounds[key] === undefined) {
            sounds[key] = null;
            loads.push(loadSound(mediaUrl(base, path)).then(function (url) {
              sounds[key] = url;
            }));
          }
        });
      });

      return Promise.all(loads).then(function (images) {
        return {
          pack: pack,
          lesson: lesson,
          images: images,   // held so the decoded pictures stay in memory
          word: function (id) { return words[id] || { id: id, text: {} }; },
          pictureUrl: function (id) { return pictures[id] || ''; },
          soundUrl: function (id, language) {
            return sounds[language + '/' + id] || null;
          },
          close: function () {
            Object.keys(sounds).forEach(function (key) {
              if (sounds[key] && sounds[key].indexOf('blob:') === 0) {
                window.URL.revokeObjectURL(sounds[key]);
              }
            });
          }
        };
      });
    });
  }

  // One audio element for the whole page: iOS lets an element play without
  // a tap only after a tap has played it once, so reusing it means only
  // the first word of a lesson needs the child to press "listen".
  var player = null;
  var finishPlaying = null;

  function playSound(url) {
    stopSound();
    if (!player) {
      player = new Audio();
      player.preload = 'auto';
    }
    var audio = player;
    return new Promise(function (resolve) {
      var timer = null;
      function finish(outcome) {
        if (finishPlaying !== finish) {
          return;
        }
        finishPlaying = null;
        window.clearTimeout(timer);
        audio.onended = null;
        audio.onerror = null;
        resolve(outcome);
      }
      finishPlaying = finish;
      audio.onended = function () { finish({ played: true }); };
      audio.onerror = function () { finish({ played: false }); };
      // A sound that never reports its end must not hold the lesson.
      timer = window.setTimeout(function () { finish({ played: true }); },
        LONGEST_PROMPT_MS);

      audio.src = url;
      var started;
      try {
        started = audio.play();
      } catch (error) {
        finish({ played: false, blocked: true });
        return;
      }
      if (started && started.then) {
        started.catch(function (error) {
          var blocked = error && error.name === 'NotAllowedError';
          finish({ played: false, blocked: blocked });
        });
      }
    });
  }

  function stopSound() {
    if (player) {
      player.pause();
    }
    if (finishPlaying) {
      finishPlaying({ played: false });
    }
  }

  // A running lesson: its timers die with it when the child leaves, so a
  // lesson left half-way records nothing more.
  function Run() {
    this.alive = true;
    this.timers = [];
    this.cleanups = [];
  }

  Run.prototype.onStop = function (cleanup) {
    this.cleanups.push(cleanup);
  };

  Run.prototype.later = function (ms, action) {
    var run = this;
    this.timers.push(window.setTimeout(function () {
      if (run.alive) {
        action();
      }
    }, ms));
  };

  Run.prototype.wait = function (ms) {
    var run = this;
    return new Promise(function (resolve) { run.later(ms, resolve); });
  };

  Run.prototype.stop = function () {
    this.alive = false;
    this.timers.forEach(function (timer) { window.clearTimeout(timer); });
    stopSound();
    this.cleanups.forEach(function (cleanup) { cleanup(); });
    this.cleanups = [];
  };

  CH.lesson = {
    manifest: manifest,
    coverUrl: coverUrl,
    open: open,
    Run: Run
  };
  CH.sound = { play: playSound, stop: stopSound };
})(window.CH = window.CH || {});
