// SPDX-License-Identifier: AGPL-3.0-or-later
//
// Baseline and endline checks on the tablet: while the teacher has a window
// open, the lessons screen shows the class's checks above the lessons; the
// teacher sits with one child and gives each check once. Practice items come
// first. Answers go to the results queue like any other, with the attempt,
// the window, and the practice and repeat flags (docs/api.md).
//
// An attempt is started by the hub (POST /api/v1/assessments/attempts), so
// the hub can keep "once per child per window". What was answered is kept
// here too (localStorage), so an attempt goes on where it stopped after a
// reload, a flat battery or a lost Wi-Fi, and the hub's own list fills in
// what a wiped tablet forgot. The pack's rules decide the items, their
// order and when to stop; nothing is drawn at random. The items themselves
// are played by assessment_items.js.

(function (CH) {
  'use strict';

  var el = CH.dom.el;

  var EXPRESSIVE = 'expressive_vocabulary';
  var ATTENTION = 'attention_go_no_go';

  var TEXT = {
    mn: {
      checks: 'Шалгалт',
      baseline: 'Эхний шалгалт',
      endline: 'Эцсийн шалгалт',
      done: 'Дууссан',
      goOn: 'Үргэлжлүүлэх',
      withChild: 'Багш аа, хүүхдийн хажууд суугаарай. Эхлээд нэг дасгал хийнэ.',
      hearIntro: 'Хүүхэд үгийг сонсоод зургийг нь дарна.',
      sayIntro: 'Дээр бичсэн үгийг чанга, тод хэлээрэй; хүүхэд зургийг нь дарна. ' +
        'Бичсэн үгийг хүүхдэд бүү үзүүлээрэй.',
      nameIntro: 'Хүүхдээр зургийг {language} нэрлүүлээрэй. Зөв нэрлэвэл ✓, ' +
        'эс бөгөөс ✗ дарна.',
      tapIntro: 'Энэ зураг гарвал дар!',
      holdIntro: 'Энэ зураг гарвал бүү дар!',
      practiceDone: 'Дасгал дууслаа. Одоо жинхэнэ нь эхэлнэ.',
      say: 'Хэлэх үг:',
      expected: 'Зөв хариулт:',
      named: 'Зөв нэрлэсэн',
      notNamed: 'Нэрлэж чадаагүй',
      finished: 'Баярлалаа! Шалгалт дууслаа.',
      alreadyTaken: 'Энэ хүүхэд энэ шалгалтыг өгчихсөн байна. Дахин өгөхийг багш ' +
        'хаб дээр зөвшөөрч болно.',
      windowClosed: 'Шалгалтын хугацаа хаагдсан байна.',
      inMongolian: 'монголоор',
      inEnglish: 'англиар'
    },
    en: {
      checks: 'Checks',
      baseline: 'Baseline check',
      endline: 'Endline check',
      done: 'Done',
      goOn: 'Continue',
      withChild: 'Teacher: sit with the child. One practice item comes first.',
      hearIntro: 'The child hears a word and taps its picture.',
      sayIntro: 'Say the word at the top aloud, clearly; the child taps its ' +
        'picture. Do not show the written word to the child.',
      nameIntro: 'Ask the child to name the picture {language}. Tap ✓ if the ' +
        'name is right, ✗ if not.',
      tapIntro: 'Tap when you see this!',
      holdIntro: 'Do not tap for this one!',
      practiceDone: 'Practice done. Now the real ones.',
      say: 'Say:',
      expected: 'Expected:',
      named: 'Named it',
      notNamed: 'Did not name it',
      finished: 'Thank you! The check is finished.',
      alreadyTaken: 'This child has taken this check. The teacher may allow a ' +
        'repeat on the hub.',
      windowClosed: 'The check window is closed.',
      inMongolian: 'in Mongolian',
      inEnglish: 'in English'
    }
  };

  function t(key) {
    var strings = TEXT[CH.i18n.language()] || TEXT.en;
    return strings[key] === undefined ? TEXT.en[key] : strings[key];
  }

  // --- what the tablet keeps about an attempt --------------------------------

  function keptKey(learnerId, windowId, checkId) {
    return 'checkAttempt.' + learnerId + '.' + windowId + '.' + checkId;
  }

  function kept(learnerId, windowId, checkId) {
    return CH.storage.read(keptKey(learnerId, windowId, checkId), null);
  }

  function keep(attempt) {
    CH.storage.write(keptKey(attempt.learnerId, attempt.windowId, attempt.checkId),
      attempt);
  }

  // The hub's list and the tablet's own, together: the hub may lack answers
  // still queued here, and a wiped tablet lacks what the hub holds.
  function mergeHubAttempt(answer, learnerId, checkId) {
    var mine = kept(learnerId, answer.window_id, checkId);
    if (!mine || mine.attemptId !== answer.attempt_id) {
      mine = {
        attemptId: answer.attempt_id, windowId: answer.window_id,
        checkId: checkId, learnerId: learnerId, repeat: !!answer.repeat,
        answered: {}, done: false
      };
    }
    (answer.answered || []).forEach(function (entry) {
      if (mine.answered[entry.item] === undefined) {
        mine.answered[entry.item] = !!entry.correct;
      }
    });
    keep(mine);
    return mine;
  }

  function startAttempt(window_, check, learnerId) {
    var body = {
      window_id: window_.id, learner_id: learnerId, check_id: check.id,
      tablet_id: CH.storage.tabletId()
    };
    return CH.net.request('POST', '/api/v1/assessments/attempts', { json: body })
      .then(function (answer) {
        var found = null;
        try {
          found = JSON.parse(answer.body);
        } catch (error) {
          found = null;
        }
        if (answer.status === 200 && found && found.attempt_id) {
          return mergeHubAttempt(found, learnerId, check.id);
        }
        var code = found && found.error ? found.error.code : '';
        throw new Error(code === 'already_taken' ? t('alreadyTaken') :
          code === 'window_closed' ? t('windowClosed') : CH.i18n.t('cannotReachHub'));
      }, function () {
        // No hub: an attempt begun here may go on; a new one must wait.
        // XXX The proper fix lets the tablet make the attempt id and the hub
        // check "once per window" when the answers arrive.
        var mine = kept(learnerId, window_.id, check.id);
        if (mine && !mine.done) {
          return mine;
        }
        throw new Error(CH.i18n.t('cannotReachHub'));
      });
  }

  // --- the row of checks on the lessons screen -------------------------------

  function strip(classId, learner) {
    var row = el('section', {
      class: 'check-row', 'data-testid': 'check-row', hidden: true
    });
    var url = '/api/v1/classes/' + encodeURIComponent(classId) +
      '/assessments?learner_id=' + encodeURIComponent(learner.id);
    var copyKey = 'checks.' + classId + '.' + learner.id;
    CH.net.getJson(url).then(function (found) {
      CH.storage.write(copyKey, found);
      drawStrip(row, found, learner, false);
    }, function () {
      var copy = CH.storage.read(copyKey, null);
      if (copy) {
        drawStrip(row, copy, learner, true);
      }
    });
    return row;
  }

  function drawStrip(row, found, learner, offline) {
    if (!found.window || !found.checks || !found.checks.length) {
      return;
    }
    var cards = el('div', { class: 'check-cards' });
    found.checks.forEach(function (check) {
      var mine = kept(learner.id, found.window.id, check.id);
      var done = check.state === 'done' || (mine && mine.done &&
        check.state !== 'repeat_allowed');
      // Offline, only an attempt begun here can go on.
      if (offline && !(mine && !mine.done)) {
        done = true;
      }
      cards.appendChild(el('button', {
        type: 'button', class: 'check-card' + (done ? ' done' : ''),
        'data-testid': 'check-card', 'data-check-id': check.id,
        'data-state': done ? 'done' : check.state, disabled: done,
        onclick: function () { begin(found.window, check, learner); }
      }, [
        el('span', { class: 'check-title', text: CH.i18n.pick(check.title) }),
        done ? el('span', { class: 'check-done', text: '✓ ' + t('done') }) : null
      ]));
    });
    row.appendChild(el('h2', {
      class: 'check-heading', text: t(found.window.phase) || t('checks')
    }));
    row.appendChild(cards);
    row.removeAttribute('hidden');
  }

  // --- one check, from the teacher's first tap to the end --------------------

  function begin(window_, summary, learner) {
    var run = new CH.lesson.Run();
    CH.app.startRun(run);
    CH.app.showLoading();
    var attempt = null;
    CH.results.flush().then(function () {
      return startAttempt(window_, summary, learner.id);
    }).then(function (found) {
      attempt = found;
      return CH.lesson.manifest(window_.pack_id, window_.pack_version);
    }).then(function (pack) {
      var check = findById(pack.checks, summary.id);
      if (!check) {
        throw new Error(CH.i18n.t('lessonBroken'));
      }
      return load(pack, check).then(function (media) {
        run.onStop(media.close);
        if (run.alive) {
          play(run, { pack: pack, check: check, media: media, attempt: attempt,
            learner: learner });
        }
      });
    }).then(null, function (error) {
      if (run.alive) {
        CH.app.showMessage(error.message || CH.i18n.t('cannotReachHub'),
          function () { CH.app.showLessons(); });
      }
    });
  }

  function findById(list, id) {
    for (var i = 0; i < (list || []).length; i++) {
      if (list[i].id === id) {
        return list[i];
      }
    }
    return null;
  }

  // The check's steps in order: practice first, then the items. An item id
  // is the word, or for attention the trial's place and word (7-fish).
  function steps(check) {
    var found = [];
    if (check.type === ATTENTION) {
      check.practice.forEach(function (word, index) {
        found.push({ item: 'p' + (index + 1) + '-' + word, word: word,
          practice: true });
      });
      check.trials.forEach(function (word, index) {
        found.push({ item: (index + 1) + '-' + word, word: word, practice: false });
      });
      return found;
    }
    check.practice.forEach(function (entry) {
      found.push({ item: entry.word, word: entry.word, choices: entry.choices,
        practice: true });
    });
    check.items.forEach(function (entry) {
      found.push({ item: entry.word, word: entry.word, choices: entry.choices,
        practice: false });
    });
    return found;
  }

  // Misses in a row among the answered test items, in the pack's order, as
  // the hub scores them: an unanswered item neither counts nor breaks a run.
  function stopped(check, attempt) {
    var limit = check.scoring && check.scoring.stop_after_misses;
    if (!limit) {
      return false;
    }
    var run = 0;
    var list = steps(check);
    for (var i = 0; i < list.length; i++) {
      var right = attempt.answered[list[i].item];
      if (list[i].practice || right === undefined) {
        continue;
      }
      run = right ? 0 : run + 1;
      if (run >= limit) {
        return true;
      }
    }
    return false;
  }

  function play(run, ctx) {
    var list = steps(ctx.check);
    var stage = el('div', {
      class: 'stage check-stage', 'data-testid': 'check-stage',
      'data-check-id': ctx.check.id, 'data-check-type': ctx.check.type
    });
    CH.app.showScreen('check', null, [stage]);
    ctx.stage = stage;
    ctx.run = run;
    ctx.text = t;
    ctx.keep = function () { keep(ctx.attempt); };
    var practised = false;

    function next() {
      if (!run.alive) {
        return;
      }
      if (stopped(ctx.check, ctx.attempt)) {
        finish(ctx);
        return;
      }
      for (var i = 0; i < list.length; i++) {
        if (ctx.attempt.answered[list[i].item] === undefined) {
          var step = list[i];
          if (!step.practice && practised) {
            practised = false;
            interlude(ctx, t('practiceDone'), next);
            return;
          }
          practised = practised || step.practice;
          stage.setAttribute('data-item', step.item);
          stage.setAttribute('data-practice', step.practice ? 'true' : 'false');
          CH.checkItems.players[ctx.check.type](ctx, step, next);
          return;
        }
      }
      finish(ctx);
    }

    interlude(ctx, intro(ctx.check), next, true);
  }

  function intro(check) {
    if (check.type === ATTENTION) {
      return t('withChild');
    }
    var language = check.language === 'mn' ? t('inMongolian') : t('inEnglish');
    var how = check.type === EXPRESSIVE ?
      t('nameIntro').replace('{language}', language) :
      check.stimulus === 'audio' ? t('hearIntro') : t('sayIntro');
    return t('withChild') + ' ' + how;
  }

  // A screen for the teacher with one button; its tap also lets the page
  // play sound, which browsers allow only after a tap.
  function interlude(ctx, text, then, first) {
    var parts = [el('p', { class: 'instruction check-instruction', text: text })];
    if (first && ctx.check.type === ATTENTION) {
      parts.unshift(goPictures(ctx));
    }
    var button = el('button', {
      type: 'button', class: 'start', 'data-testid': first ? 'check-start' :
        'check-continue',
      onclick: function () { then(); }
    }, [CH.dom.icon('play'), el('span', { text: first ? CH.i18n.t('start') :
      t('goOn') })]);
    parts.push(button);
    show(ctx.stage, [el('div', { class: 'check-intro' }, parts)]);
    ctx.stage.removeAttribute('data-item');
    button.focus();
  }

  function goPictures(ctx) {
    var check = ctx.check;
    var other = check.words.filter(function (word) { return word !== check.go_word; });
    return el('div', { class: 'go-pair' }, [
      el('figure', { class: 'go' }, [
        CH.dom.picture(ctx.media.picture(check.go_word), 'picture go-picture'),
        el('figcaption', { text: t('tapIntro') })
      ]),
      el('figure', { class: 'no-go' }, other.map(function (word) {
        return CH.dom.picture(ctx.media.picture(word), 'picture go-picture');
      }).concat([el('figcaption', { text: t('holdIntro') })]))
    ]);
  }

  function finish(ctx) {
    ctx.attempt.done = true;
    keep(ctx.attempt);
    CH.results.flush();
    show(ctx.stage, [el('div', { class: 'check-intro' }, [
      el('h1', { class: 'heading cheer', text: t('finished') }),
      el('button', {
        type: 'button', class: 'big-button', 'data-testid': 'check-finished',
        onclick: function () { CH.app.showLessons(); }
      }, [CH.dom.icon('lessons'), el('span', { text: CH.i18n.t('backToLessons') })])
    ])]);
    ctx.stage.setAttribute('data-finished', 'true');
  }

  function show(stage, children) {
    CH.dom.clear(stage);
    children.forEach(function (child) { stage.appendChild(child); });
  }

  // --- pictures and sounds, fetched before the first item --------------------

  function load(pack, check) {
    var base = '/packs/' + encodeURIComponent(pack.id) + '/' +
      encodeURIComponent(pack.version) + '/';
    var words = {};
    (pack.words || []).forEach(function (word) { words[word.id] = word; });
    var pictures = {};
    var sounds = {};
    var loads = [];

    function url(path) {
      return base + path.split('/').map(encodeURIComponent).join('/');
    }

    steps(check).forEach(function (step) {
      (step.choices || [step.word]).concat(check.words || []).forEach(function (id) {
        var word = words[id];
        if (word && !pictures[id]) {
          pictures[id] = url(word.picture);
          loads.push(new Promise(function (resolve) {
            var image = new Image();
            image.onload = image.onerror = function () { resolve(image); };
            image.src = pictures[id];
          }));
        }
      });
      var word = words[step.word];
      var path = word && word.audio && check.stimulus === 'audio' ?
        word.audio[check.language] : null;
      if (path && sounds[step.word] === undefined) {
        sounds[step.word] = url(path);
        // Held as a blob, so the word still plays with the Wi-Fi gone.
        loads.push(CH.net.getBlob(sounds[step.word]).then(function (blob) {
          sounds[step.word] = window.URL.createObjectURL(blob);
        }, function () {}));
      }
    });

    return Promise.all(loads).then(function (images) {
      return {
        images: images,
        word: function (id) { return words[id] || { id: id, text: {} }; },
        picture: function (id) { return pictures[id] || ''; },
        sound: function (id) { return sounds[id] || null; },
        close: function () {
          Object.keys(sounds).forEach(function (id) {
            if (sounds[id].indexOf('blob:') === 0) {
              window.URL.revokeObjectURL(sounds[id]);
            }
          });
        }
      };
    });
  }

  CH.assessment = { strip: strip };
})(window.CH = window.CH || {});
