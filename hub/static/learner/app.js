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
  var SIGN_IN_KEPT_MS = 3 * 3600 * 1000;
  var ASSET_VERSION = document.documentElement.getAttribute('data-asset-version') || '';

  var screen = null;      // the <main> element screens draw into
  var current = {
    classes: [],
    classId: CH.storage.read('classId', null),
    learner: keptLearner(),
    redraw: null,         // draws the screen again, after a language change
    run: null             // the lesson being played, if any
  };

  // The learner stays signed in across an accidental reload, but not for
  // the next child who picks the tablet up hours later (a tablet may keep
  // a tab, and its sessionStorage, for days).
  function keptLearner() {
    var kept = readSession('learner');
    var age = kept ? Date.now() - kept.signedInAt : -1;
    return age >= 0 && age < SIGN_IN_KEPT_MS ? kept : null;
  }

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

  // --- screens -------------------------------------------------------------

  function drawBar() {
    CH.bar.draw({
      learnerPicture: current.learner ? pictureUrl(current.learner.picture) : null,
      inLesson: !!(current.learner && current.run)
    });
  }

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
    // Pictures as large as the class allows, and a whole class on one
    // tablet screen: a small child who scrolls past their picture is lost.
    var count = (group.learners || []).length;
    var size = count <= 8 ? ' few cols-' + (count <= 4 ? count : count <= 6 ? 3 : 4) :
      (count > 18 ? ' many' : '');
    var grid = el('div', { class: 'learner-grid' + size });
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
    current.learner = {
      id: learner.id, name: learner.name, picture: learner.picture,
      signedInAt: Date.now()
    };
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
    // While the teacher has a check window open, the class's checks come
    // first (assessment.js); the row stays empty otherwise.
    var checks = CH.assessment ?
      CH.assessment.strip(current.classId, current.learner) : null;
    showScreen('lessons', t('pickLesson'), [checks, grid].filter(Boolean),
      function () { drawLessons(lessons); });
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
        // Sounds held in memory go when the lesson ends or is left.
        run.onStop(opened.close);
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

  function boot() {
    CH.i18n.setLanguage(CH.i18n.language());
    screen = document.getElementById('screen');
    CH.bar.build({
      switchLearner: switchLearner,
      lessons: function () { showLessons(); },
      languageChanged: function () {
        drawBar();
        if (current.redraw) {
          current.redraw();
        }
      }
    });
    CH.results.onChange(CH.bar.drawPending);
    CH.results.start();

    // What assessment.js borrows: the screens, and a run of its own that
    // leaving (the bar's buttons) stops like a lesson's.
    CH.app = {
      showScreen: showScreen,
      showLoading: showLoading,
      showMessage: showMessage,
      showLessons: showLessons,
      startRun: function (run) {
        stopLesson();
        current.run = run;
      }
    };

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
