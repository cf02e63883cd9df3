// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The slim bar at the top: the signed-in child's picture with "switch
// learner", a way back to the lessons, the language switch, and the
// teacher's quiet count of answers not yet on the hub.

(function (CH) {
  'use strict';

  var el = CH.dom.el;
  var t = CH.i18n.t;
  var parts = {};

  // actions: {switchLearner, lessons, languageChanged}
  function build(actions) {
    parts.learner = el('button', {
      type: 'button', class: 'bar-button switch-learner',
      'data-testid': 'switch-learner', onclick: actions.switchLearner
    });
    parts.lessons = el('button', {
      type: 'button', class: 'bar-button to-lessons', 'data-testid': 'to-lessons',
      onclick: actions.lessons
    });
    parts.language = el('button', {
      type: 'button', class: 'bar-button language', 'data-testid': 'language',
      onclick: function () {
        CH.i18n.setLanguage(CH.i18n.other());
        actions.languageChanged();
      }
    });
    parts.pending = el('div', {
      class: 'pending', 'data-testid': 'pending-count', 'data-count': '0',
      role: 'status'
    });
    var node = el('header', { class: 'bar' }, [
      parts.learner, parts.lessons, el('div', { class: 'bar-space' }),
      parts.pending, parts.language
    ]);
    document.body.insertBefore(node, document.body.firstChild);
    watchInputKind();
  }

  // state: {learnerPicture: url or null, inLesson: bool}
  function draw(state) {
    document.title = t('pageTitle');
    CH.dom.clear(parts.learner);
    if (state.learnerPicture) {
      parts.learner.appendChild(CH.dom.picture(state.learnerPicture, 'bar-picture'));
    }
    parts.learner.appendChild(el('span', { text: t('switchLearner') }));
    parts.learner.style.display = state.learnerPicture ? '' : 'none';

    CH.dom.clear(parts.lessons).appendChild(CH.dom.icon('lessons'));
    parts.lessons.appendChild(el('span', { text: t('lessons') }));
    parts.lessons.style.display = state.inLesson ? '' : 'none';

    // The button names the language it switches to, in that language.
    parts.language.textContent = CH.i18n.other() === 'en' ? 'English' : 'Монгол';
    parts.language.setAttribute('aria-label', t('language'));
    parts.language.setAttribute('lang', CH.i18n.other());
  }

  function drawPending(state) {
    var waiting = state.waiting;
    parts.pending.setAttribute('data-count', String(waiting));
    parts.pending.className = 'pending' + (waiting ? ' waiting' : '') +
      (state.storageFull ? ' full' : '');
    parts.pending.textContent = waiting ? String(waiting) : '';
    parts.pending.title = state.storageFull ? t('storageFull') :
      (waiting ? waiting + ' ' + t('waitingToSend') : t('allSent'));
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

  CH.bar = { build: build, draw: draw, drawPending: drawPending };
})(window.CH = window.CH || {});
