// SPDX-License-Identifier: AGPL-3.0-or-later
//
// The three kinds of activity a lesson pack may hold. Each one draws into
// the stage, calls ctx.record once per answer, and resolves when the child
// has done every item. Reaction times use performance.now(), which the
// tablet's wrong or changing wall clock cannot disturb.

(function (CH) {
  'use strict';

  var el = CH.dom.el;
  var t = CH.i18n.t;

  var RIGHT_PAUSE_MS = 900;
  var WRONG_PAUSE_MS = 1600;
  var GO_FIRST_PAUSE_MS = 1000;
  var GO_BETWEEN_MS = 700;
  var GO_FEEDBACK_MS = 350;

  function show(stage, children) {
    CH.dom.clear(stage);
    children.forEach(function (child) { stage.appendChild(child); });
  }

  function now() {
    return window.performance.now();
  }

  function wordText(lesson, wordId, language) {
    return CH.i18n.pick(lesson.word(wordId).text, language);
  }

  function listenButton(onTap) {
    return el('button', {
      type: 'button', class: 'listen', 'data-testid': 'play-word',
      'aria-label': t('listen'), title: t('listen'), onclick: onTap
    }, [CH.dom.icon('speaker')]);
  }

  // Hear a word (or read it, when the pack has no recording yet), then tap
  // its picture among a few. The clock starts when the word has been
  // heard: before that the pictures wait, dimmed.
  function listenChoose(activity, ctx) {
    var lesson = ctx.lesson;
    var items = CH.dom.shuffle(activity.words);
    var choiceCount = Math.max(2, Math.min(activity.choices || 4,
      activity.words.length));
    var tappedListen = false;
    var index = 0;

    return new Promise(function (resolve) {
      function nextItem() {
        if (index >= items.length) {
          resolve();
          return;
        }
        index += 1;
        showItem(items[index - 1], index);
      }

      function showItem(wordId, number) {
        var others = CH.dom.shuffle(activity.words.filter(function (id) {
          return id !== wordId;
        })).slice(0, choiceCount - 1);
        var options = CH.dom.shuffle(others.concat([wordId]));
        var sound = lesson.soundUrl(wordId, activity.language);
        var shownAt = null;
        var answered = false;
        var button = null;

        var grid = el('div', {
          class: 'choices choices-' + options.length + ' waiting',
          'data-testid': 'choices', 'data-ready': 'false', 'data-item': number,
          // For the teacher's tools and tests; children see only pictures.
          'data-word': wordId
        });
        var choiceButtons = {};
        options.forEach(function (optionId, position) {
          choiceButtons[optionId] = el('button', {
            type: 'button', class: 'choice', 'data-testid': 'choice',
            'data-word': optionId, 'aria-label': String(position + 1),
            onclick: function () { choose(optionId); }
          }, [CH.dom.picture(lesson.pictureUrl(optionId))]);
          grid.appendChild(choiceButtons[optionId]);
        });

        var written = el('div', {
          class: 'written-word', 'data-testid': 'written-word',
          lang: activity.language, text: wordText(lesson, wordId, activity.language)
        });
        var prompt = el('div', { class: 'prompt' });
        if (sound) {
          button = listenButton(function () {
            tappedListen = true;
            say();
          });
          prompt.appendChild(button);
        } else {
          prompt.appendChild(written);
        }
        show(ctx.stage, [prompt, grid]);

        function ready() {
          if (shownAt === null) {
            shownAt = now();
            grid.setAttribute('data-ready', 'true');
            grid.className = grid.className.replace(' waiting', '');
          }
        }

        function waitForTap() {
          button.setAttribute('data-waiting', 'true');
          button.classList.add('waiting');
          button.focus();
        }

        function say() {
          button.setAttribute('data-waiting', 'false');
          button.classList.remove('waiting');
          button.classList.add('playing');
          CH.sound.play(sound).then(function (outcome) {
            if (!ctx.run.alive) {
              return;
            }
            button.classList.remove('playing');
            if (outcome.blocked) {
              waitForTap();
              return;
            }
            if (!outcome.played && !written.parentNode) {
              // The recording would not play: the teacher can read it out.
              prompt.appendChild(written);
            }
            ready();
          });
        }

        function choose(optionId) {
          if (shownAt === null) {
            // A tap on a dimmed picture is a tap all the same: let it
            // start the word the child is waiting for.
            if (button && !button.classList.contains('playing')) {
              tappedListen = true;
              say();
            }
            return;
          }
          if (answered) {
            return;
          }
          answered = true;
          var reactionMs = now() - shownAt;
          var correct = optionId === wordId;
          ctx.record(activity, {
            item: wordId, response: optionId, correct: correct, reactionMs: reactionMs
          });
          CH.sound.stop();
          grid.setAttribute('data-answered', 'true');
          choiceButtons[optionId].classList.add(correct ? 'right' : 'wrong');
          if (!correct) {
            choiceButtons[wordId].classList.add('right');
          }
          ctx.run.later(correct ? RIGHT_PAUSE_MS : WRONG_PAUSE_MS, nextItem);
        }

        if (!sound) {
          ready();
        } else if (tappedListen) {
          say();
        } else {
          waitForTap();
        }
      }

      nextItem();
    });
  }

  // See a picture and its word, hear it, say it aloud, tap on. There is no
  // right answer; the time tells the teacher who lingers.
  function flashcards(activity, ctx) {
    var lesson = ctx.lesson;
    var tappedListen = false;
    var index = 0;

    return new Promise(function (resolve) {
      function nextCard() {
        if (index >= activity.words.length) {
          resolve();
          return;
        }
        index += 1;
        showCard(activity.words[index - 1], index);
      }

      function showCard(wordId, number) {
        var sound = lesson.soundUrl(wordId, activity.language);
        var done = false;
        var shownAt = now();

        function say() {
          CH.sound.play(sound);
        }

        var nextButton = el('button', {
          type: 'button', class: 'next', 'data-testid': 'next-card',
          'aria-label': t('next'), title: t('next'), onclick: function () {
            if (done) {
              return;
            }
            done = true;
            CH.sound.stop();
            ctx.record(activity, {
              item: wordId, response: 'next', correct: null,
              reactionMs: now() - shownAt
            });
            nextCard();
          }
        }, [CH.dom.icon('next')]);

        var card = el('div', {
          class: 'card', 'data-testid': 'flashcard', 'data-word': wordId,
          'data-item': number
        }, [
          CH.dom.picture(lesson.pictureUrl(wordId), 'picture card-picture'),
          el('div', {
            class: 'written-word', lang: activity.language,
            text: wordText(lesson, wordId, activity.language)
          })
        ]);
        var controls = el('div', { class: 'card-controls' }, [
          sound ? listenButton(function () {
            tappedListen = true;
            say();
          }) : null,
          nextButton
        ]);
        show(ctx.stage, [card, controls]);
        nextButton.focus();

        if (sound && tappedListen) {
          say();
        }
      }

      nextCard();
    });
  }

  // Tap fast when the go picture shows, hold back for the others. Taps are
  // taken on touchstart and mousedown, not click, which comes only when
  // the finger lifts and would add the press to the reaction time.
  function goNoGo(activity, ctx) {
    var lesson = ctx.lesson;
    var goWord = activity.go_word;
    var others = activity.words.filter(function (id) { return id !== goWord; });
    var trialCount = activity.trials || 20;
    var stimulusMs = activity.stimulus_ms || 1500;
    var goRatio = typeof activity.go_ratio === 'number' ? activity.go_ratio : 0.75;

    return new Promise(function (resolve) {
      var start = el('button', {
        type: 'button', class: 'start', 'data-testid': 'start-go-no-go',
        onclick: begin
      }, [CH.dom.icon('play'), el('span', { text: t('start') })]);
      show(ctx.stage, [el('div', { class: 'go-intro' }, [
        CH.dom.picture(lesson.pictureUrl(goWord), 'picture go-picture'),
        el('p', { class: 'instruction', text: t('tapWhenYouSee') }),
        start
      ])]);
      start.focus();

      var zone = el('div', {
        class: 'tap-zone', role: 'button', tabindex: '0',
        'data-testid': 'tap-zone', 'data-state': 'wait', 'data-go-word': goWord
      });
      var trial = null;
      var trialNumber = 0;

      function begin() {
        show(ctx.stage, [zone]);
        zone.focus();
        ctx.run.later(GO_FIRST_PAUSE_MS, showTrial);
      }

      function showTrial() {
        if (trialNumber >= trialCount) {
          resolve();
          return;
        }
        trialNumber += 1;
        var isGo = !others.length || Math.random() < goRatio;
        var word = isGo ? goWord :
          others[Math.floor(Math.random() * others.length)];
        trial = { word: word, shownAt: now(), number: trialNumber };
        CH.dom.clear(zone).appendChild(
          CH.dom.picture(lesson.pictureUrl(word), 'picture stimulus'));
        zone.setAttribute('data-state', 'show');
        zone.setAttribute('data-word', word);
        zone.setAttribute('data-trial', String(trialNumber));
        zone.className = 'tap-zone';

        var shown = trial;
        ctx.run.later(stimulusMs, function () {
          if (trial === shown) {
            answer(null);
          }
        });
      }

      function answer(tappedAt) {
        var current = trial;
        trial = null;
        var tapped = tappedAt !== null;
        ctx.record(activity, {
          item: current.word,
          response: tapped ? 'tap' : 'no_tap',
          correct: tapped === (current.word === goWord),
          reactionMs: tapped ? tappedAt - current.shownAt : null
        });
        // Kept until the next answer, for the teacher's tools and tests.
        zone.setAttribute('data-answered-trial', String(current.number));
        zone.setAttribute('data-response', tapped ? 'tap' : 'no_tap');
        if (tapped) {
          zone.className = 'tap-zone ' +
            (current.word === goWord ? 'right' : 'wrong');
        }
        ctx.run.later(tapped ? GO_FEEDBACK_MS : 0, function () {
          CH.dom.clear(zone);
          zone.className = 'tap-zone';
          zone.setAttribute('data-state', 'wait');
          zone.removeAttribute('data-word');
          ctx.run.later(GO_BETWEEN_MS, showTrial);
        });
      }

      CH.dom.onTap(zone, function () {
        var tappedAt = now();
        if (trial !== null) {
          answer(tappedAt);
        }
      });
    });
  }

  var PLAYERS = {
    listen_choose: listenChoose,
    flashcards: flashcards,
    go_no_go: goNoGo
  };

  CH.activities = {
    play: function (activity, ctx) {
      var player = PLAYERS[activity.type];
      // The hub refuses packs with unknown activities; this only guards
      // against a manifest changed by hand.
      return player ? player(activity, ctx) : Promise.resolve();
    }
  };
})(window.CH = window.CH || {});
