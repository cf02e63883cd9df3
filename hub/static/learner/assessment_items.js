// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The items of the baseline and endline checks, one player per check type:
// receptive (tap the picture of the word heard or said), expressive (the
// teacher judges the child's naming) and attention (one go/no-go trial).
// assessment.js runs them in the pack's order; each puts one answer in the
// results queue, notes it in the attempt the tablet keeps, and calls next().
// Reaction times use performance.now(), which the tablet's wall clock
// cannot disturb.

(function (CH) {
  'use strict';

  var el = CH.dom.el;

  var LONGEST_REACTION_MS = 600000;
  var NEXT_ITEM_MS = 400;
  var PRACTICE_RIGHT_MS = 900;
  var PRACTICE_WRONG_MS = 1600;
  var FIRST_TRIAL_MS = 1000;
  var FEEDBACK_MS = 350;

  function now() {
    return window.performance.now();
  }

  function show(stage, children) {
    CH.dom.clear(stage);
    children.forEach(function (child) { stage.appendChild(child); });
  }

  function record(ctx, step, response, correct, reactionMs) {
    if (!ctx.run.alive) {
      return;
    }
    var check = ctx.check;
    var reaction = reactionMs === null ? null :
      Math.max(0, Math.min(LONGEST_REACTION_MS, Math.round(reactionMs)));
    CH.results.append({
      id: CH.storage.uuid4(),
      learner_id: ctx.learner.id,
      pack_id: ctx.pack.id,
      pack_version: ctx.pack.version,
      lesson_id: check.id,
      activity_id: check.id,
      activity_type: check.type,
      language: check.language || null,
      item: step.item,
      response: response,
      correct: correct,
      reaction_ms: reaction,
      answered_at: CH.storage.localIsoTime(new Date()),
      tablet_seq: CH.storage.nextTabletSeq(),
      attempt_id: ctx.attempt.attemptId,
      window_id: ctx.attempt.windowId,
      practice: step.practice,
      repeat: ctx.attempt.repeat
    });
    ctx.attempt.answered[step.item] = correct;
    ctx.keep();
  }

  function examiner(label, text, language) {
    return el('div', { class: 'examiner', 'data-testid': 'examiner' }, [
      el('span', { class: 'examiner-label', text: label }),
      el('span', { class: 'examiner-word', 'data-testid': 'examiner-word',
        lang: language, text: text })
    ]);
  }

  function wordText(ctx, wordId) {
    return CH.i18n.pick(ctx.media.word(wordId).text, ctx.check.language);
  }

  // Hear the word (or the teacher says it) and tap its picture among the
  // pack's fixed choices. Only practice shows right and wrong.
  function receptive(ctx, step, next) {
    var check = ctx.check;
    var sound = check.stimulus === 'audio' ?
      ctx.media.sound(step.word, check.language) : null;
    var shownAt = null;
    var answered = false;
    var grid = el('div', {
      class: 'choices choices-' + step.choices.length + ' waiting',
      'data-testid': 'check-choices', 'data-ready': 'false', 'data-word': step.word
    });
    var buttons = {};
    step.choices.forEach(function (wordId, place) {
      buttons[wordId] = el('button', {
        type: 'button', class: 'choice', 'data-testid': 'check-choice',
        'data-word': wordId, 'aria-label': String(place + 1),
        onclick: function () { choose(wordId); }
      }, [CH.dom.picture(ctx.media.picture(wordId))]);
      grid.appendChild(buttons[wordId]);
    });
    var prompt = el('div', { class: 'prompt' });
    var listen = null;
    if (sound) {
      listen = el('button', {
        type: 'button', class: 'listen', 'data-testid': 'check-listen',
        'aria-label': CH.i18n.t('listen'), onclick: say
      }, [CH.dom.icon('speaker')]);
      prompt.appendChild(listen);
    } else {
      prompt.appendChild(examiner(ctx.text('say'), wordText(ctx, step.word),
        check.language));
    }
    show(ctx.stage, [prompt, grid]);

    function ready() {
      if (shownAt === null) {
        shownAt = now();
        grid.setAttribute('data-ready', 'true');
        grid.className = grid.className.replace(' waiting', '');
      }
    }

    function say() {
      listen.classList.add('playing');
      listen.setAttribute('data-waiting', 'false');
      CH.sound.play(sound).then(function (outcome) {
        if (!ctx.run.alive) {
          return;
        }
        listen.classList.remove('playing');
        if (outcome.blocked) {
          listen.setAttribute('data-waiting', 'true');
          return;
        }
        if (!outcome.played) {
          // The recording would not play: the teacher says the word.
          prompt.appendChild(examiner(ctx.text('say'), wordText(ctx, step.word),
            check.language));
        }
        ready();
      });
    }

    function choose(wordId) {
      if (shownAt === null || answered) {
        return;
      }
      answered = true;
      var correct = wordId === step.word;
      record(ctx, step, wordId, correct, now() - shownAt);
      CH.sound.stop();
      grid.setAttribute('data-answered', 'true');
      if (step.practice) {
        buttons[wordId].classList.add(correct ? 'right' : 'wrong');
        buttons[step.word].classList.add('right');
      } else {
        buttons[wordId].classList.add('chosen');
      }
      ctx.run.later(step.practice ? (correct ? PRACTICE_RIGHT_MS : PRACTICE_WRONG_MS) :
        NEXT_ITEM_MS, next);
    }

    if (sound) {
      say();
    } else {
      ready();
    }
  }

  // The picture for the child, the word for the teacher, who taps whether
  // the child named it. The time is from showing to the teacher's tap.
  function expressive(ctx, step, next) {
    var shownAt = now();
    var answered = false;
    function judge(named) {
      if (answered) {
        return;
      }
      answered = true;
      record(ctx, step, named ? 'named' : 'not_named', named, now() - shownAt);
      ctx.run.later(NEXT_ITEM_MS, next);
    }
    show(ctx.stage, [
      el('div', {
        class: 'card', 'data-testid': 'check-picture', 'data-word': step.word
      }, [CH.dom.picture(ctx.media.picture(step.word), 'picture card-picture')]),
      examiner(ctx.text('expected'), wordText(ctx, step.word), ctx.check.language),
      el('div', { class: 'judge' }, [
        el('button', {
          type: 'button', class: 'judge-button named', 'data-testid': 'judge-named',
          onclick: function () { judge(true); }
        }, [el('span', { text: '✓ ' + ctx.text('named') })]),
        el('button', {
          type: 'button', class: 'judge-button not-named',
          'data-testid': 'judge-not-named', onclick: function () { judge(false); }
        }, [el('span', { text: '✗ ' + ctx.text('notNamed') })])
      ])
    ]);
  }

  // One go/no-go trial of the pack's fixed sequence. Taps count on
  // touchstart and mousedown, as in the lessons' game.
  function attention(ctx, step, next) {
    var check = ctx.check;
    var isGo = step.word === check.go_word;
    var zone = el('div', {
      class: 'tap-zone', role: 'button', tabindex: '0', 'data-testid': 'check-zone',
      'data-state': 'wait', 'data-trial': step.item, 'data-go': isGo ? 'true' : 'false'
    });
    show(ctx.stage, [zone]);
    zone.focus();
    var shownAt = null;
    var over = false;

    function end(tappedAt) {
      if (over) {
        return;
      }
      over = true;
      var tapped = tappedAt !== null;
      var correct = tapped === isGo;
      record(ctx, step, tapped ? 'tap' : 'no_tap', correct,
        tapped ? tappedAt - shownAt : null);
      zone.setAttribute('data-answered', tapped ? 'tap' : 'no_tap');
      if (step.practice) {
        zone.className = 'tap-zone ' + (correct ? 'right' : 'wrong');
      }
      ctx.run.later(step.practice ? FEEDBACK_MS * 2 : (tapped ? FEEDBACK_MS : 0),
        function () {
          CH.dom.clear(zone);
          zone.setAttribute('data-state', 'wait');
          ctx.run.later(check.gap_ms, next);
        });
    }

    CH.dom.onTap(zone, function () {
      var at = now();
      if (shownAt !== null) {
        end(at);
      }
    });

    var first = step.item === '1-' + step.word || step.item === 'p1-' + step.word;
    ctx.run.later(first ? FIRST_TRIAL_MS : 0, function () {
      zone.appendChild(CH.dom.picture(ctx.media.picture(step.word),
        'picture stimulus'));
      zone.setAttribute('data-state', 'show');
      zone.setAttribute('data-word', step.word);
      shownAt = now();
      ctx.run.later(check.stimulus_ms, function () { end(null); });
    });
  }

  CH.checkItems = {
    players: {
      receptive_vocabulary: receptive,
      expressive_vocabulary: expressive,
      attention_go_no_go: attention
    }
  };
})(window.CH = window.CH || {});
