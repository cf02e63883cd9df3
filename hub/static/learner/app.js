// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The learner page's screens and the way between them: class, own picture,
// lesson, its activities, the end. Each answer becomes a result record as
// docs/api.md describes and goes to the results queue at once.

(function (CH) {
  'use strict';

  var el = CH.dom.el;
  var t = CH.i18n.t;
  var pick = CH.i18n.pick;

  var LONGEST_REACTION_MS = 600000;
  var ASSET_VERSION = document.documentElement.getAttribute('data-asset-version') || '';

  var screen = null;      // the <main> element screens draw into
  var bar = {};           // the top bar's parts
  var current = {
    classes: [],
    classId: CH.storage.read('classId', null),
    learner: readSession('learner'),
    redraw: null,         // draws the screen again, after a language change
    run: null             // the lesson being played, if any
  };

  // The learner stays signed in across an accidental reload, but not for
  // the next child who picks the tablet up the next day.
  function readSession(key) {
    try {
      var raw = window.sessionStorage.getItem('classroomHub.' + key);
      return raw ? JSON.parse(raw) : null;
    } catch (error) {
      return null;
    }
  }

  function writeSession(key, value) {
    try {
      if (value === null) {
        window.sessionStorage.removeItem('classroomHub.' + key);
      } else {
        window.sessionStorage.setItem('classroomHub.' + key, JSON.stringify(value));
      }
    } catch (error) {
      // Without sessionStorage a reload asks for the picture again.
    }
  }

  function pictureUrl(name) {
    return '/static/pictures/' + encodeURIComponent(name) + '.svg?v=' +
      encodeURIComponent(ASSET_VERSION);
  }

  // --- the bar -----------------------------------------------------------

  function buildBar() {
    bar.learner = el('button', {
      type: 'button', class: 'bar-button switch-learner',
      'data-testid': 'switch-learner', onclick: switchLearner
    });
    bar.lessons = el('button', {
      type: 'button', class: 'bar-button to-lessons', 'data-testid': 'to-lessons',
      onclick: function () { showLessons(); }
    });
    bar.language = el('button', {
      type: 'button', class: 'bar-button language', 'data-testid': 'language',
      onclick: function () {
        CH.i18n.setLanguage(CH.i18n.other());
        drawBar();
        if (current.redraw) {
          current.redraw();
        }
      }
    });
    bar.pending = el('div', {
      class: 'pending', 'data-testid': 'pending-count', 'data-count': '0',
      role: 'status'
    });
    var node = el('header', { class: 'bar' }, [
      bar.learner, bar.lessons, el('div', { class: 'bar-space' }), bar.pending,
      bar.language
    ]);
    document.body.insertBefore(node, document.body.firstChild);
    drawBar();
  }

  function drawBar() {
    document.title = t('pageTitle');
    CH.dom.clear(bar.learner);
    if (current.learner) {
      bar.learner.appendChild(CH.dom.picture(pictureUrl(current.learner.picture),
        'bar-picture'));
    }
    bar.learner.appendChild(el('span', { text: t('switchLearner') }));
    bar.learner.style.display = current.learner ? '' : 'none';

    CH.dom.clear(bar.lessons).appendChild(CH.dom.icon('lessons'));
    bar.lessons.appendChild(el('span', { text: t('lessons') }));
    bar.lessons.style.display = current.learner && current.run ? '' : 'none';

    // The button names the language it switches to, in that language.
    bar.language.textContent = CH.i18n.other() === 'en' ? 'English' : 'Монгол';
    bar.language.setAttribute('aria-label', t('language'));
    bar.language.setAttribute('lang', CH.i18n.other());
  }

  function drawPending(state) {
    var waiting = state.waiting;
    bar.pending.setAttribute('data-count', String(waiting));
    bar.pending.className = 'pending' + (waiting ? ' waiting' : '') +
      (state.storageFull ? ' full' : '');
    bar.pending.textContent = waiting ? String(waiting) : '';
    bar.pending.title = state.storageFull ? t('storageFull') :
      (waiting ? waiting + ' ' + t('waitingToSend') : t('allSent'));
  }

  // --- screens -------------------------------------------------------------

  function stopLesson() {
    if (current.run) {
      current.run.stop();
      current.run = null;
    }
  }

  function showScreen(name, heading, children, redraw) {
    current.redraw = redraw || null;
    screen.setAttribute('data-screen', name);
    CH.dom.clear(screen);
    if (heading) {
      screen.appendChild(el('h1', { class: 'heading', text: heading }));
    }
    children.forEach(function (child) { screen.appendChild(child); });
    drawBar();
    var first = screen.querySelector('button');
    if (first) {
      first.focus();
    }
  }

  function showMessage(text, retry) {
    stopLesson();
    showScreen('message', null, [
      el('p', { class: 'message', 'data-testid': 'message', text: text }),
      retry ? el('button', {
        type: 'button', class: 'big-button', 'data-testid': 'retry', onclick: retry
      }, [CH.dom.icon('again'), el('span', { text: t('tryAgain') })]) : null
    ].filter(Boolean), function () { showMessage(text, retry); });
  }

  function showLoading() {
    showScreen('loading', null, [
      el('div', { class: 'spinner', 'aria-label': t('loading'), role: 'status' })
    ]);
  }

  // Asks the hub, keeps a copy, and falls back on the copy when the hub
  // cannot be reached, so a tablet that loses the Wi-Fi can still go on.
  function fetchKept(url, key) {
    return CH.net.getJson(url).then(function (found) {
      CH.storage.write(key, found);
      return found;
    }, function (error) {
      var kept = CH.storage.read(key, null);
      if (kept) {
        return kept;
      }
      throw error;
    });
  }

  function start() {
    showLoading();
    fetchKept('/api/v1/classes', 'classes').then(function (found) {
      current.classes = found.classes || [];
      var group = findClass(current.classId);
      if (group && current.learner && findLearner(group, current.learner.id)) {
        showLessons();
      } else if (group) {
        showLearners(group);
      } else {
        showClasses();
      }
    }, function () {
      showMessage(t('cannotReachHub'), start);
    });
  }

  function findClass(classId) {
    for (var i = 0; i < current.classes.length; i++) {
      if (current.classes[i].id === classId) {
        return current.classes[i];
      }
    }
    return null;
  }

  function findLearner(group, learnerId) {
    for (var i = 0; i < (group.learners || []).length; i++) {
      if (group.learners[i].id === learnerId) {
        return group.learners[i];
      }
    }
    return null;
  }

  function showClasses() {
    stopLesson();
    signOut();
    if (!current.classes.length) {
      showMessage(t('noClasses'), start);
      return;
    }
    var grid = el('div', { class: 'class-grid' });
    current.classes.forEach(function (group) {
      grid.appendChild(el('button', {
        type: 'button', class: 'class-button', 'data-testid': 'class-button',
        'data-class-id': group.id, 'data-class-name': group.name,
        onclick: function () {
          current.classId = group.id;
          CH.storage.write('classId', group.id);
          showLearners(group);
        }
      }, [el('span', { text: group.name })]));
    });
    showScreen('classes', t('pickClass'), [grid], showClasses);
  }

  function showLearners(group) {
    stopLesson();
    signOut();
    // A whole class should fit on a tablet without scrolling: a small
    // child scrolling past their own picture is lost.
    var many = (group.learners || []).length > 18;
    var grid = el('div', { class: 'learner-grid' + (many ? ' many' : '') });
    (group.learners || []).forEach(function (learner) {
      var firstName = String(learner.name || '').split(/\s+/)[0];
      grid.appendChild(el('button', {
        type: 'button', class: 'learner-button', 'data-testid': 'learner-button',
        'data-learner-id': learner.id, 'data-picture': learner.picture,
        'aria-label': learner.name,
        onclick: function () { signIn(learner); }
      }, [
        CH.dom.picture(pictureUrl(learner.picture), 'picture learner-picture'),
        el('span', { class: 'learner-name', text: firstName })
      ]));
    });
    var children = [
      group.learners && group.learners.length ? grid :
        el('p', { class: 'message', text: t('noLearners') }),
      el('button', {
        type: 'button', class: 'small-button', 'data-testid': 'switch-class',
        onclick: function () {
          current.classId = null;
          CH.storage.remove('classId');
          showClasses();
        }
      }, [el('span', { text: t('switchClass') + ' (' + group.name + ')' })])
    ];
    showScreen('learners', t('pickPicture'), children, function () {
      showLearners(group);
    });
  }

  function signIn(learner) {
    current.learner = { id: learner.id, name: learner.name, picture: learner.picture };
    writeSession('learner', current.learner);
    showLessons();
  }

  function signOut() {
    current.learner = null;
    writeSession('learner', null);
  }

  function switchLearner() {
    var group = findClass(current.classId);
    if (group) {
      showLearners(group);
    } else {
      showClasses();
    }
  }

  function lessonTitle(entry) {
    return typeof entry.title === 'string' ? entry.title : pick(entry.title);
  }

  function showLessons() {
    stopLesson();
    CH.results.flush();
    showLoading();
    var classId = current.classId;
    var url = '/api/v1/classes/' + encodeURIComponent(classId) + '/lessons';
    fetchKept(url, 'lessons.' + classId).then(function (found) {
      drawLessons(found.lessons || []);
    }, function () {
      showMessage(t('cannotReachHub'), showLessons);
    });
  }

  function drawLessons(lessons) {
    if (!lessons.length) {
      showMessage(t('noLessons'), showLessons);
      return;
    }
    var grid = el('div', { class: 'lesson-grid' });
    lessons.forEach(function (entry) {
      var cover = el('div', { class: 'lesson-cover' });
      grid.appendChild(el('button', {
        type: 'button', class: 'lesson-card', 'data-testid': 'lesson-card',
        'data-pack-id': entry.pack_id, 'data-lesson-id': entry.lesson_id,
        onclick: function () { playLesson(entry); }
      }, [cover, el('span', { class: 'lesson-title', text: lessonTitle(entry) })]));
      if (entry.picture) {
        cover.appendChild(CH.dom.picture(entry.picture, 'picture'));
        return;
      }
      // A hub that names no picture: take it from the pack's manifest.
      CH.lesson.manifest(entry.pack_id, entry.pack_version).then(function (pack) {
        var url = CH.lesson.coverUrl(pack, entry.lesson_id);
        if (url) {
          cover.appendChild(CH.dom.picture(url, 'picture'));
        }
      }, function () {
        cover.appendChild(CH.dom.icon('star'));
      });
    });
    showScreen('lessons', t('pickLesson'), [grid], function () {
      drawLessons(lessons);
    });
  }

  function recordAnswer(entry, activity, answer) {
    var reaction = answer.reactionMs;
    // A child who wanders off for more than ten minutes is recorded at the
    // longest time the hub takes, rather than losing the answer.
    if (reaction !== null) {
      reaction = Math.max(0, Math.min(LONGEST_REACTION_MS, Math.round(reaction)));
    }
    CH.results.append({
      id: CH.storage.uuid4(),
      learner_id: current.learner.id,
      pack_id: entry.pack_id,
      pack_version: entry.pack_version,
      lesson_id: entry.lesson_id,
      activity_id: activity.id,
      activity_type: activity.type,
      language: activity.language || null,
      item: answer.item,
      response: answer.response,
      correct: answer.correct,
      reaction_ms: reaction,
      answered_at: CH.storage.localIsoTime(new Date()),
      tablet_seq: CH.storage.nextTabletSeq()
    });
  }

  function playLesson(entry) {
    stopLesson();
    var run = new CH.lesson.Run();
    current.run = run;
    showLoading();
    CH.lesson.open(entry.pack_id, entry.pack_version, entry.lesson_id).then(
      function (opened) {
        if (!run.alive) {
          opened.close();
          return;
        }
        var stage = el('div', { class: 'stage', 'data-testid': 'stage' });
        showScreen('activity', null, [stage]);
        var ctx = {
          stage: stage,
          lesson: opened,
          run: run,
          record: function (activity, answer) {
            if (run.alive) {
              recordAnswer(entry, activity, answer);
            }
          }
        };
        var activities = opened.lesson.activities || [];
        var next = 0;
        function nextActivity() {
          if (!run.alive) {
            return;
          }
          if (next >= activities.length) {
            opened.close();
            showEnd(entry);
            return;
          }
          var activity = activities[next];
          next += 1;
          stage.setAttribute('data-activity-id', activity.id);
          stage.setAttribute('data-activity-type', activity.type);
          CH.activities.play(activity, ctx).then(nextActivity);
        }
        nextActivity();
      },
      function () {
        if (run.alive) {
          showMessage(t('lessonBroken'), function () { playLesson(entry); });
        }
      }
    );
  }

  function showEnd(entry) {
    stopLesson();
    CH.results.flush();
    var stars = el('div', { class: 'stars', 'aria-hidden': 'true' }, [
      CH.dom.icon('star'), CH.dom.icon('star'), CH.dom.icon('star')
    ]);
    showScreen('end', null, [
      stars,
      el('h1', { class: 'heading cheer', text: t('wellDone') }),
      el('p', { class: 'subtle', text: t('lessonFinished') }),
      el('button', {
        type: 'button', class: 'big-button', 'data-testid': 'back-to-lessons',
        onclick: function () { showLessons(); }
      }, [CH.dom.icon('lessons'), el('span', { text: t('backToLessons') })])
    ], function () { showEnd(entry); });
  }

  // Focus rings only for someone using keys (see app.css).
  function watchInputKind() {
    var root = document.documentElement;
    document.addEventListener('keydown', function (event) {
      if (event.key === 'Tab' || event.keyCode === 9) {
        root.classList.add('keyboard');
      }
    }, true);
    ['mousedown', 'touchstart'].forEach(function (type) {
      document.addEventListener(type, function () {
        root.classList.remove('keyboard');
      }, { capture: true, passive: true });
    });
  }

  function boot() {
    CH.i18n.setLanguage(CH.i18n.language());
    watchInputKind();
    screen = document.getElementById('screen');
    buildBar();
    CH.results.onChange(drawPending);
    CH.results.start();

    // For the teacher's tools and the browser tests; no part of the UI.
    window.classroomHub = {
      queueLength: CH.results.waiting,
      flush: CH.results.flush,
      tabletId: CH.storage.tabletId,
      assetVersion: ASSET_VERSION
    };

    start();
  }

  boot();
})(window.CH = window.CH || {});
